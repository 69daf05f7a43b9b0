package ticketing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pushcert/pushcert/internal/client"
)

// maxChannelsPerTrigger is the HTTP API's limit of channels per event; Laravel's pusher
// broadcaster sends larger sets in chunks of this size.
const maxChannelsPerTrigger = 100

// Publisher broadcasts catalog events through the standard HTTP API of any Pusher-compatible
// server, as Laravel's pusher broadcaster does: one signed POST /events per event, with every
// channel in "channels", the payload JSON-encoded into the "data" string and the excluded socket
// in "socket_id". Its methods mirror the seed's BroadcastService; each returns the Broadcast it
// sent, so a scenario can expect exactly that data on the client side.
//
// Delivery is the server's: the Publisher returns once the server answered 200, not once clients
// received the event.
type Publisher struct {
	API     *client.API
	Catalog Catalog
}

// NewPublisher publishes through api; now is the clock of payload timestamps (nil: time.Now).
func NewPublisher(api *client.API, now func() time.Time) *Publisher {
	return &Publisher{API: api, Catalog: Catalog{Now: now}}
}

// Publish sends b, in chunks of 100 channels.
func (p *Publisher) Publish(ctx context.Context, b Broadcast) error {
	if p.API == nil {
		return errors.New("publish: no API client")
	}
	if len(b.Channels) == 0 {
		return fmt.Errorf("publish %s: no channels", b.Name)
	}
	for start := 0; start < len(b.Channels); start += maxChannelsPerTrigger {
		chunk := b
		chunk.Channels = b.Channels[start:min(start+maxChannelsPerTrigger, len(b.Channels))]
		if _, err := p.API.Trigger(ctx, chunk.APIEvent()); err != nil {
			return fmt.Errorf("publish %s to %v: %w", b.Name, chunk.Channels, err)
		}
	}
	return nil
}

func (p *Publisher) send(ctx context.Context, b Broadcast) (Broadcast, error) {
	return b, p.Publish(ctx, b)
}

// TicketAvailabilityUpdated broadcasts availability.updated with the event's inventory.
func (p *Publisher) TicketAvailabilityUpdated(ctx context.Context, e Event) (Broadcast, error) {
	return p.send(ctx, p.Catalog.AvailabilityUpdated(e))
}

// OrderStatusUpdated broadcasts order.updated to the customer's and the order's channels.
func (p *Publisher) OrderStatusUpdated(ctx context.Context, o Order) (Broadcast, error) {
	return p.send(ctx, p.Catalog.OrderUpdated(o))
}

// SeatSelected broadcasts seat.changed to the event's seat map, except to the selector's
// connection exceptSocketID ("" sends to all).
func (p *Publisher) SeatSelected(ctx context.Context, eventID, customerID int, seats []string, action, exceptSocketID string) (Broadcast, error) {
	return p.send(ctx, p.Catalog.SeatChanged(eventID, customerID, seats, action, exceptSocketID))
}

// ChatMessageSent broadcasts message.sent to the message's conversation.
func (p *Publisher) ChatMessageSent(ctx context.Context, m ChatMessage) (Broadcast, error) {
	return p.send(ctx, p.Catalog.MessageSent(m))
}

// PushNotification broadcasts notification to a customer ("" type is "info").
func (p *Publisher) PushNotification(ctx context.Context, customerID int, title, message, typ string, data map[string]any) (Broadcast, error) {
	b, err := p.Catalog.Notification(customerID, title, message, typ, data)
	if err != nil {
		return Broadcast{}, err
	}
	return p.send(ctx, b)
}

// AdminMetricsUpdated broadcasts metrics.updated to a tenant's admin dashboard.
func (p *Publisher) AdminMetricsUpdated(ctx context.Context, tenantID int, metrics map[string]any) (Broadcast, error) {
	b, err := p.Catalog.MetricsUpdated(tenantID, metrics)
	if err != nil {
		return Broadcast{}, err
	}
	return p.send(ctx, b)
}

// EventLive broadcasts event.live on the event's public channel.
func (p *Publisher) EventLive(ctx context.Context, eventID int) (Broadcast, error) {
	return p.send(ctx, p.Catalog.EventWentLive(eventID))
}
