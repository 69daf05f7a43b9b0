package ticketing

import (
	"context"
	"errors"
)

// Shop runs the seed's model flows: a change to the Directory, then the broadcast its model
// observer sends.
type Shop struct {
	Directory *Directory
	Publisher *Publisher
}

// PurchaseResult is what a Purchase did.
type PurchaseResult struct {
	Order     Order     // the new order, status "pending"
	Event     Event     // the event right after the sale
	Broadcast Broadcast // the availability.updated sent
}

// Purchase buys quantity tickets of a ticket type for a customer: the inventory moves, a pending
// order is created, and availability.updated is published with the event's inventory right after
// this sale (the seed's TicketObserver::created). The sale stands even when the publish fails,
// as it would in Laravel, where broadcasting runs on a queue after the commit; the error says so.
//
// The seed's observer fires once per created Ticket row; this sends one broadcast per purchase,
// carrying the final inventory, which is what a client needs. Concurrent purchases of one event
// publish concurrently, so their broadcasts may reach clients out of order; the sold counts tell
// the newer one.
func (s *Shop) Purchase(ctx context.Context, customerID, eventID, ticketTypeID, quantity int) (PurchaseResult, error) {
	if s.Directory == nil || s.Publisher == nil {
		return PurchaseResult{}, errors.New("shop: Directory and Publisher are required")
	}
	o, e, err := s.Directory.Purchase(customerID, eventID, ticketTypeID, quantity)
	if err != nil {
		return PurchaseResult{}, err
	}
	b, err := s.Publisher.TicketAvailabilityUpdated(ctx, e)
	return PurchaseResult{Order: o, Event: e, Broadcast: b}, err
}

// StatusChange is what UpdateOrderStatus did.
type StatusChange struct {
	Order     Order     // the order after the update
	Changed   bool      // the status differed (Eloquent's isDirty('status'))
	Broadcast Broadcast // the order.updated sent; zero when Changed is false
}

// UpdateOrderStatus sets an order's status and, only when it changed, publishes order.updated
// to the customer's and the order's channels (the seed's OrderObserver::updated).
func (s *Shop) UpdateOrderStatus(ctx context.Context, orderID int, status string) (StatusChange, error) {
	if s.Directory == nil || s.Publisher == nil {
		return StatusChange{}, errors.New("shop: Directory and Publisher are required")
	}
	o, changed, err := s.Directory.SetOrderStatus(orderID, status)
	if err != nil || !changed {
		return StatusChange{Order: o}, err
	}
	b, err := s.Publisher.OrderStatusUpdated(ctx, o)
	return StatusChange{Order: o, Changed: true, Broadcast: b}, err
}
