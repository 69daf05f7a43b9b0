package ticketing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pushcert/pushcert/internal/client"
)

// Event names, as the seed's broadcastAs() gives them (Echo listens with a leading dot).
const (
	NameAvailabilityUpdated = "availability.updated"
	NameOrderUpdated        = "order.updated"
	NameSeatChanged         = "seat.changed"
	NameMessageSent         = "message.sent"
	NameNotification        = "notification"
	NameMetricsUpdated      = "metrics.updated"
	NameEventLive           = "event.live"
)

// Seat actions of seat.changed.
const (
	SeatSelect   = "select"
	SeatDeselect = "deselect"
	SeatLock     = "lock"
)

// Ticket type statuses of availability.updated.
const (
	TicketsAvailable = "available"
	TicketsSoldOut   = "sold_out"
)

// Broadcast is one catalog event ready to publish: the channels, the event name and the data, a
// JSON document as the HTTP API's data string carries it. SocketID, when set, is the connection
// the server must not deliver to (Laravel's toOthers).
type Broadcast struct {
	Channels []string
	Name     string
	Data     string
	SocketID string
}

// APIEvent is the body of POST /events for b.
func (b Broadcast) APIEvent() client.Event {
	return client.Event{Name: b.Name, Data: b.Data, Channels: append([]string(nil), b.Channels...), SocketID: b.SocketID}
}

// Catalog builds the seed's broadcast events. Now is the clock of their timestamps (nil:
// time.Now); golden tests fix it.
type Catalog struct {
	Now func() time.Time
}

func (c Catalog) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ISOString formats t as Carbon's toISOString() does: UTC with microseconds,
// "2025-03-01T19:30:00.000000Z".
func ISOString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// TicketAvailability is one entry of availability.updated's ticket_types.
type TicketAvailability struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Available int    `json:"available"`
	Sold      int    `json:"sold"`
	Status    string `json:"status"`
}

// AvailabilityUpdated is TicketAvailabilityUpdated: availability.updated on event.{id},
// {event_id, ticket_types:[{id,name,available,sold,status}], updated_at}, status "sold_out" when
// no ticket of the type is left.
func (c Catalog) AvailabilityUpdated(e Event) Broadcast {
	types := make([]TicketAvailability, 0, len(e.TicketTypes))
	for _, tt := range e.TicketTypes {
		status := TicketsAvailable
		if tt.Available <= 0 {
			status = TicketsSoldOut
		}
		types = append(types, TicketAvailability{tt.ID, tt.Name, tt.Available, tt.Sold, status})
	}
	return Broadcast{
		Channels: []string{EventChannel(e.ID)},
		Name:     NameAvailabilityUpdated,
		Data: marshal(struct {
			EventID     int                  `json:"event_id"`
			TicketTypes []TicketAvailability `json:"ticket_types"`
			UpdatedAt   string               `json:"updated_at"`
		}{e.ID, types, ISOString(c.now())}),
	}
}

// OrderStatusMessage is OrderStatusUpdated::getStatusMessage.
func OrderStatusMessage(status string) string {
	switch status {
	case StatusPaid:
		return "Your order has been confirmed!"
	case StatusCancelled:
		return "Your order has been cancelled."
	case StatusRefunded:
		return "Your refund has been processed."
	}
	return "Order status: " + status
}

// OrderUpdated is OrderStatusUpdated: order.updated on private-customer.{customer_id} and
// private-order.{id}, {order_id, order_number, status, message}.
func (c Catalog) OrderUpdated(o Order) Broadcast {
	return Broadcast{
		Channels: []string{CustomerChannel(o.CustomerID), OrderChannel(o.ID)},
		Name:     NameOrderUpdated,
		Data: marshal(struct {
			OrderID     int    `json:"order_id"`
			OrderNumber string `json:"order_number"`
			Status      string `json:"status"`
			Message     string `json:"message"`
		}{o.ID, o.Number, o.Status, OrderStatusMessage(o.Status)}),
	}
}

// SeatChanged is SeatSelected: seat.changed on presence-event.{id}.seats,
// {customer_id, seats, action, timestamp}, for everyone but exceptSocketID (the selector's
// connection; "" sends to all). An empty action is "select", the seed's default.
//
// The seed's broadcastToEveryoneExcept() returns the customer id, which no Laravel broadcaster
// reads; what Laravel does exclude is the sender's socket (X-Socket-ID, toOthers()), so that is
// what this does.
func (c Catalog) SeatChanged(eventID, customerID int, seats []string, action, exceptSocketID string) Broadcast {
	if action == "" {
		action = SeatSelect
	}
	if seats == nil {
		seats = []string{}
	}
	return Broadcast{
		Channels: []string{SeatsChannel(eventID)},
		Name:     NameSeatChanged,
		Data: marshal(struct {
			CustomerID int      `json:"customer_id"`
			Seats      []string `json:"seats"`
			Action     string   `json:"action"`
			Timestamp  string   `json:"timestamp"`
		}{customerID, seats, action, ISOString(c.now())}),
		SocketID: exceptSocketID,
	}
}

// MessageSent is ChatMessageSent: message.sent on private-chat.{conversation_id},
// {id, sender_type, content, created_at, quick_replies}. A zero CreatedAt is stamped with the
// catalog's clock.
func (c Catalog) MessageSent(m ChatMessage) Broadcast {
	at := m.CreatedAt
	if at.IsZero() {
		at = c.now()
	}
	return Broadcast{
		Channels: []string{ChatChannel(m.ConversationID)},
		Name:     NameMessageSent,
		Data: marshal(struct {
			ID           int      `json:"id"`
			SenderType   string   `json:"sender_type"`
			Content      string   `json:"content"`
			CreatedAt    string   `json:"created_at"`
			QuickReplies []string `json:"quick_replies"`
		}{m.ID, m.SenderType, m.Content, ISOString(at), m.QuickReplies}),
	}
}

// Notification is NotificationPushed: notification on private-customer.{id},
// {title, message, type, data, timestamp}; an empty type is "info", nil data is null. It fails
// only when data holds a value JSON cannot encode (NaN, a func, ...).
func (c Catalog) Notification(customerID int, title, message, typ string, data map[string]any) (Broadcast, error) {
	if typ == "" {
		typ = "info"
	}
	payload, err := marshalErr(struct {
		Title     string         `json:"title"`
		Message   string         `json:"message"`
		Type      string         `json:"type"`
		Data      map[string]any `json:"data"`
		Timestamp string         `json:"timestamp"`
	}{title, message, typ, data, ISOString(c.now())})
	if err != nil {
		return Broadcast{}, fmt.Errorf("%s data: %w", NameNotification, err)
	}
	return Broadcast{Channels: []string{CustomerChannel(customerID)}, Name: NameNotification, Data: payload}, nil
}

// MetricsUpdated is AdminMetricsUpdated: metrics.updated on private-admin.{tenant}.dashboard.
//
// The seed's class has no broadcastWith(), so Laravel sends its public properties under their
// PHP names: {"tenantId":1,"metrics":{...}}. Metric keys come out sorted (PHP would keep insertion
// order); nil metrics are {}. It fails only when metrics hold a value JSON cannot encode.
func (c Catalog) MetricsUpdated(tenantID int, metrics map[string]any) (Broadcast, error) {
	if metrics == nil {
		metrics = map[string]any{}
	}
	payload, err := marshalErr(struct {
		TenantID int            `json:"tenantId"`
		Metrics  map[string]any `json:"metrics"`
	}{tenantID, metrics})
	if err != nil {
		return Broadcast{}, fmt.Errorf("%s data: %w", NameMetricsUpdated, err)
	}
	return Broadcast{Channels: []string{AdminDashboardChannel(tenantID)}, Name: NameMetricsUpdated, Data: payload}, nil
}

// EventWentLive is the seed's EventWentLive, whose class the plan does not show. Chosen here, in
// the style of its siblings: event.live on the public event.{id},
// {"event_id":1,"status":"live","started_at":"<ISO 8601>"}.
func (c Catalog) EventWentLive(eventID int) Broadcast {
	return Broadcast{
		Channels: []string{EventChannel(eventID)},
		Name:     NameEventLive,
		Data: marshal(struct {
			EventID   int    `json:"event_id"`
			Status    string `json:"status"`
			StartedAt string `json:"started_at"`
		}{eventID, "live", ISOString(c.now())}),
	}
}

// marshalErr encodes v as compact JSON without HTML escaping ("&" stays "&", as PHP's
// json_encode leaves it).
func marshalErr(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// marshal is marshalErr for values built of strings, numbers and string slices only, which
// always encode.
func marshal(v any) string {
	s, err := marshalErr(v)
	if err != nil {
		return `{"error":"unencodable payload"}` // unreachable for the types this package passes
	}
	return s
}
