package ticketing

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Customer is a user of the application: a buyer, a support agent (IsAgent) or a tenant admin
// (role "admin"). Agents and admins are customers too, as in the seed, where one users table
// backs every channel rule.
type Customer struct {
	ID        int
	FirstName string
	FullName  string
	AvatarURL string
	TenantID  int
	Roles     []string
	IsAgent   bool
}

// HasRole reports whether the customer has role, like Spatie's hasRole in the seed's admin rule.
func (c Customer) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// RoleAdmin is the role the admin dashboard channel requires.
const RoleAdmin = "admin"

// Order statuses with a message of their own in order.updated; any other string is allowed.
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
	StatusRefunded  = "refunded"
)

// Order is a customer's order. EventID, TicketTypeID and Quantity are set by Purchase.
type Order struct {
	ID           int
	Number       string
	CustomerID   int
	Status       string
	EventID      int
	TicketTypeID int
	Quantity     int
}

// Conversation is a support chat between a customer and, once assigned, an agent
// (AssignedAgentID 0: unassigned).
type Conversation struct {
	ID              int
	CustomerID      int
	AssignedAgentID int
}

// ChatMessage is one message of a conversation. SenderType is "customer", "agent" or "bot" in the
// seed's chat; QuickReplies may be nil (null on the wire, as the seed's nullable cast gives).
type ChatMessage struct {
	ID             int
	ConversationID int
	SenderType     string
	Content        string
	CreatedAt      time.Time
	QuickReplies   []string
}

// TicketType is a kind of ticket of an event with its inventory.
type TicketType struct {
	ID        int
	Name      string
	Available int
	Sold      int
}

// Event is a ticketed event of a tenant.
type Event struct {
	ID          int
	TenantID    int
	Name        string
	TicketTypes []TicketType
}

// Token is a bearer token (Sanctum personal access token) that authenticates one customer.
type Token string

// Header is the Authorization header value carrying the token.
func (t Token) Header() string { return "Bearer " + string(t) }

// Errors of the Directory.
var (
	ErrNotFound        = errors.New("not found")
	ErrInvalidQuantity = errors.New("quantity must be positive")
	ErrNotEnoughStock  = errors.New("not enough tickets available")
)

// Directory holds the application's records in memory. It is safe for concurrent use.
//
// Every id, of any kind of record, comes from one counter and is never reused: customer 7, order 8
// and event 9 never share a number, so a channel rule that compared the wrong ids would be caught,
// and concurrent scenarios in one Directory never share a channel name. Records are stored and
// returned by value; change them only through the Directory's methods.
type Directory struct {
	next atomic.Int64

	mu            sync.RWMutex
	customers     map[int]Customer
	orders        map[int]Order
	conversations map[int]Conversation
	events        map[int]Event
	messages      map[int]ChatMessage
	tokens        map[Token]int
}

// NewDirectory returns an empty Directory whose first id is 1.
func NewDirectory() *Directory { return NewDirectoryFrom(1) }

// NewDirectoryFrom returns an empty Directory whose first id is first (1 when first < 1). Runs that
// share one server can start at distant ids (a time-based start, say) to keep their channel names
// apart.
func NewDirectoryFrom(first int) *Directory {
	if first < 1 {
		first = 1
	}
	d := &Directory{
		customers:     map[int]Customer{},
		orders:        map[int]Order{},
		conversations: map[int]Conversation{},
		events:        map[int]Event{},
		messages:      map[int]ChatMessage{},
		tokens:        map[Token]int{},
	}
	d.next.Store(int64(first) - 1)
	return d
}

// NextID allocates a fresh id from the Directory's counter.
func (d *Directory) NextID() int { return int(d.next.Add(1)) }

// AddCustomer stores c under a fresh id (c.ID is ignored) and returns the stored copy.
func (d *Directory) AddCustomer(c Customer) Customer {
	c.ID = d.NextID()
	c.Roles = slices.Clone(c.Roles)
	d.mu.Lock()
	d.customers[c.ID] = c
	d.mu.Unlock()
	return cloneCustomer(c)
}

// AddOrder stores o under a fresh id. The customer must exist; an empty Number becomes
// "ORD-<id>" and an empty Status "pending".
func (d *Directory) AddOrder(o Order) (Order, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addOrderLocked(o)
}

func (d *Directory) addOrderLocked(o Order) (Order, error) {
	if _, ok := d.customers[o.CustomerID]; !ok {
		return Order{}, fmt.Errorf("order: customer %d: %w", o.CustomerID, ErrNotFound)
	}
	o.ID = d.NextID()
	if o.Number == "" {
		o.Number = "ORD-" + strconv.Itoa(o.ID)
	}
	if o.Status == "" {
		o.Status = StatusPending
	}
	d.orders[o.ID] = o
	return o, nil
}

// AddConversation stores c under a fresh id. The customer must exist, and the agent too when
// AssignedAgentID is not 0.
func (d *Directory) AddConversation(c Conversation) (Conversation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.customers[c.CustomerID]; !ok {
		return Conversation{}, fmt.Errorf("conversation: customer %d: %w", c.CustomerID, ErrNotFound)
	}
	if c.AssignedAgentID != 0 {
		if _, ok := d.customers[c.AssignedAgentID]; !ok {
			return Conversation{}, fmt.Errorf("conversation: agent %d: %w", c.AssignedAgentID, ErrNotFound)
		}
	}
	c.ID = d.NextID()
	d.conversations[c.ID] = c
	return c, nil
}

// AssignAgent assigns (or, with agentID 0, unassigns) a conversation's agent.
func (d *Directory) AssignAgent(conversationID, agentID int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.conversations[conversationID]
	if !ok {
		return fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
	}
	if agentID != 0 {
		if _, ok := d.customers[agentID]; !ok {
			return fmt.Errorf("agent %d: %w", agentID, ErrNotFound)
		}
	}
	c.AssignedAgentID = agentID
	d.conversations[conversationID] = c
	return nil
}

// AddChatMessage stores m under a fresh id; its conversation must exist. A zero CreatedAt stays
// zero: the Catalog then stamps the message with its clock.
func (d *Directory) AddChatMessage(m ChatMessage) (ChatMessage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.conversations[m.ConversationID]; !ok {
		return ChatMessage{}, fmt.Errorf("message: conversation %d: %w", m.ConversationID, ErrNotFound)
	}
	m.ID = d.NextID()
	m.QuickReplies = slices.Clone(m.QuickReplies)
	d.messages[m.ID] = m
	m.QuickReplies = slices.Clone(m.QuickReplies)
	return m, nil
}

// AddEvent stores e under a fresh id, and each of its ticket types under a fresh id too.
func (d *Directory) AddEvent(e Event) Event {
	e.ID = d.NextID()
	e.TicketTypes = slices.Clone(e.TicketTypes)
	for i := range e.TicketTypes {
		e.TicketTypes[i].ID = d.NextID()
	}
	d.mu.Lock()
	d.events[e.ID] = e
	d.mu.Unlock()
	return cloneEvent(e)
}

// Customer returns a customer by id.
func (d *Directory) Customer(id int) (Customer, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.customers[id]
	return cloneCustomer(c), ok
}

// Order returns an order by id.
func (d *Directory) Order(id int) (Order, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	o, ok := d.orders[id]
	return o, ok
}

// Conversation returns a conversation by id.
func (d *Directory) Conversation(id int) (Conversation, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.conversations[id]
	return c, ok
}

// Event returns an event by id, with a snapshot of its inventory.
func (d *Directory) Event(id int) (Event, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	e, ok := d.events[id]
	return cloneEvent(e), ok
}

// Purchase sells quantity tickets of a ticket type to a customer in one step: the inventory moves
// (available down, sold up) and a pending order is created. It fails, changing nothing, when the
// customer, event or ticket type is unknown or fewer than quantity tickets are left. The event is
// returned as it is right after the sale.
func (d *Directory) Purchase(customerID, eventID, ticketTypeID, quantity int) (Order, Event, error) {
	if quantity <= 0 {
		return Order{}, Event{}, fmt.Errorf("purchase of %d tickets: %w", quantity, ErrInvalidQuantity)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.customers[customerID]; !ok {
		return Order{}, Event{}, fmt.Errorf("purchase: customer %d: %w", customerID, ErrNotFound)
	}
	e, ok := d.events[eventID]
	if !ok {
		return Order{}, Event{}, fmt.Errorf("purchase: event %d: %w", eventID, ErrNotFound)
	}
	i := slices.IndexFunc(e.TicketTypes, func(tt TicketType) bool { return tt.ID == ticketTypeID })
	if i < 0 {
		return Order{}, Event{}, fmt.Errorf("purchase: ticket type %d of event %d: %w", ticketTypeID, eventID, ErrNotFound)
	}
	if tt := e.TicketTypes[i]; tt.Available < quantity {
		return Order{}, Event{}, fmt.Errorf("purchase of %d %q tickets, %d left: %w", quantity, tt.Name, tt.Available, ErrNotEnoughStock)
	}
	o, err := d.addOrderLocked(Order{CustomerID: customerID, EventID: eventID, TicketTypeID: ticketTypeID, Quantity: quantity})
	if err != nil {
		return Order{}, Event{}, err
	}
	// The stored slice is never handed out (readers get clones), so it may change in place.
	e.TicketTypes[i].Available -= quantity
	e.TicketTypes[i].Sold += quantity
	return o, cloneEvent(e), nil
}

// SetOrderStatus sets an order's status. It returns the order after the change and whether the
// status changed (Eloquent's isDirty('status')).
func (d *Directory) SetOrderStatus(orderID int, status string) (Order, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.orders[orderID]
	if !ok {
		return Order{}, false, fmt.Errorf("order %d: %w", orderID, ErrNotFound)
	}
	if o.Status == status {
		return o, false, nil
	}
	o.Status = status
	d.orders[orderID] = o
	return o, true, nil
}

// IssueToken creates a bearer token for an existing customer, in Sanctum's "<id>|<secret>" shape.
func (d *Directory) IssueToken(customerID int) (Token, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.customers[customerID]; !ok {
		return "", fmt.Errorf("token: customer %d: %w", customerID, ErrNotFound)
	}
	t := Token(strconv.Itoa(d.NextID()) + "|" + hex.EncodeToString(b[:]))
	d.tokens[t] = customerID
	return t, nil
}

// RevokeToken makes a token invalid; it reports whether the token was valid.
func (d *Directory) RevokeToken(t Token) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.tokens[t]
	delete(d.tokens, t)
	return ok
}

// CustomerByToken returns the customer a valid token authenticates.
func (d *Directory) CustomerByToken(t Token) (Customer, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	id, ok := d.tokens[t]
	if !ok {
		return Customer{}, false
	}
	c, ok := d.customers[id]
	return cloneCustomer(c), ok
}

func cloneCustomer(c Customer) Customer {
	c.Roles = slices.Clone(c.Roles)
	return c
}

func cloneEvent(e Event) Event {
	e.TicketTypes = slices.Clone(e.TicketTypes)
	return e
}
