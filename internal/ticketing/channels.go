package ticketing

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Channel names of the seed, as they travel on the wire (Laravel's PrivateChannel and
// PresenceChannel add the private- and presence- prefixes).

// EventChannel is the public channel of an event: availability.updated, event.live.
func EventChannel(eventID int) string { return "event." + strconv.Itoa(eventID) }

// TenantChannel is a tenant's public announcement channel.
func TenantChannel(tenantID int) string { return "tenant." + strconv.Itoa(tenantID) }

// CustomerChannel is a customer's private channel: order.updated, notification.
func CustomerChannel(customerID int) string {
	return protocol.PrefixPrivate + "customer." + strconv.Itoa(customerID)
}

// OrderChannel is an order's private channel: order.updated.
func OrderChannel(orderID int) string {
	return protocol.PrefixPrivate + "order." + strconv.Itoa(orderID)
}

// ChatChannel is a conversation's private channel: message.sent.
func ChatChannel(conversationID int) string {
	return protocol.PrefixPrivate + "chat." + strconv.Itoa(conversationID)
}

// SeatsChannel is the presence channel of an event's seat map: seat.changed.
func SeatsChannel(eventID int) string {
	return protocol.PrefixPresence + "event." + strconv.Itoa(eventID) + ".seats"
}

// VirtualEventChannel is the presence channel of a virtual event's attendees.
func VirtualEventChannel(eventID int) string {
	return protocol.PrefixPresence + "virtual-event." + strconv.Itoa(eventID)
}

// AdminDashboardChannel is a tenant's admin dashboard channel: metrics.updated.
func AdminDashboardChannel(tenantID int) string {
	return protocol.PrefixPrivate + "admin." + strconv.Itoa(tenantID) + ".dashboard"
}

// EchoPrivate is the channel Echo's echo.private(name) subscribes: "customer.5" gives
// "private-customer.5".
func EchoPrivate(name string) string { return protocol.PrefixPrivate + name }

// EchoJoin is the channel Echo's echo.join(name) subscribes: "event.1.seats" gives
// "presence-event.1.seats".
func EchoJoin(name string) string { return protocol.PrefixPresence + name }

// Member is the presence member a presence rule admits.
type Member struct {
	UserID   string          // the user id, as a string (the Pusher spec's type)
	UserInfo json.RawMessage // what the rule returned, e.g. {"id":5,"name":"Ana"}
}

// ChannelData is the channel_data a presence subscription carries and its auth signs:
// {"user_id":"5","user_info":{...}}.
func (m Member) ChannelData() string {
	return marshal(struct {
		UserID   string          `json:"user_id"`
		UserInfo json.RawMessage `json:"user_info,omitempty"`
	}{m.UserID, m.UserInfo})
}

// Decision is the outcome of a channel rule.
type Decision struct {
	Allowed bool
	Kind    protocol.ChannelKind
	// Rule is the pattern of routes/channels.php that matched, e.g. "customer.{customerId}";
	// empty when none did.
	Rule string
	// Member is set for allowed presence channels.
	Member *Member
	// Reason says why, in words, for logs and failure messages.
	Reason string
}

// Errors of Authorize. A name that matches no rule is refused, as Laravel refuses it (403).
var (
	ErrNoRule         = errors.New("no channel rule matches")
	ErrInvalidChannel = errors.New("invalid channel name")
)

type channelRule struct {
	kind           protocol.ChannelKind
	pattern        string // Laravel's pattern, for Decision.Rule
	prefix, suffix string // around the {id} of the name without its kind prefix
	// check decides for an authenticated user (public rules get user == nil too).
	check func(d *Directory, user *Customer, id int) (bool, json.RawMessage, string)
}

// rules are routes/channels.php of the seed, in its order, admin rule (section 9) included.
var rules = []channelRule{
	{kind: protocol.Public, pattern: "event.{eventId}", prefix: "event.",
		check: func(*Directory, *Customer, int) (bool, json.RawMessage, string) {
			return true, nil, "public channel"
		}},
	{kind: protocol.Public, pattern: "tenant.{tenantId}", prefix: "tenant.",
		check: func(*Directory, *Customer, int) (bool, json.RawMessage, string) {
			return true, nil, "public channel"
		}},
	{kind: protocol.Private, pattern: "customer.{customerId}", prefix: "customer.",
		check: func(_ *Directory, u *Customer, id int) (bool, json.RawMessage, string) {
			if u.ID != id {
				return false, nil, fmt.Sprintf("customer %d is not customer %d", u.ID, id)
			}
			return true, nil, "own customer channel"
		}},
	{kind: protocol.Private, pattern: "order.{orderId}", prefix: "order.",
		check: func(d *Directory, u *Customer, id int) (bool, json.RawMessage, string) {
			o, ok := d.Order(id)
			switch {
			case !ok:
				return false, nil, fmt.Sprintf("order %d does not exist", id)
			case o.CustomerID != u.ID:
				return false, nil, fmt.Sprintf("order %d belongs to customer %d, not %d", id, o.CustomerID, u.ID)
			}
			return true, nil, "own order"
		}},
	{kind: protocol.Private, pattern: "chat.{conversationId}", prefix: "chat.",
		check: func(d *Directory, u *Customer, id int) (bool, json.RawMessage, string) {
			c, ok := d.Conversation(id)
			switch {
			case !ok:
				return false, nil, fmt.Sprintf("conversation %d does not exist", id)
			case c.CustomerID == u.ID:
				return true, nil, "conversation's customer"
			case c.AssignedAgentID == u.ID:
				return true, nil, "conversation's assigned agent"
			}
			return false, nil, fmt.Sprintf("user %d is neither the customer (%d) nor the assigned agent (%d) of conversation %d",
				u.ID, c.CustomerID, c.AssignedAgentID, id)
		}},
	{kind: protocol.Presence, pattern: "event.{eventId}.seats", prefix: "event.", suffix: ".seats",
		check: func(_ *Directory, u *Customer, _ int) (bool, json.RawMessage, string) {
			return true, json.RawMessage(marshal(struct {
				ID   int    `json:"id"`
				Name string `json:"name"`
			}{u.ID, u.FirstName})), "any customer"
		}},
	{kind: protocol.Presence, pattern: "virtual-event.{eventId}", prefix: "virtual-event.",
		check: func(_ *Directory, u *Customer, _ int) (bool, json.RawMessage, string) {
			var avatar *string // null without an avatar, as the seed's nullable avatar_url gives
			if u.AvatarURL != "" {
				avatar = &u.AvatarURL
			}
			return true, json.RawMessage(marshal(struct {
				ID     int     `json:"id"`
				Name   string  `json:"name"`
				Avatar *string `json:"avatar"`
			}{u.ID, u.FullName, avatar})), "any customer"
		}},
	{kind: protocol.Private, pattern: "admin.{tenantId}.dashboard", prefix: "admin.", suffix: ".dashboard",
		check: func(_ *Directory, u *Customer, tenant int) (bool, json.RawMessage, string) {
			switch {
			case u.TenantID != tenant:
				return false, nil, fmt.Sprintf("user %d is in tenant %d, not %d", u.ID, u.TenantID, tenant)
			case !u.HasRole(RoleAdmin):
				return false, nil, fmt.Sprintf("user %d is not an admin", u.ID)
			}
			return true, nil, "tenant admin"
		}},
}

// Authorize applies the channel rules of the seed's routes/channels.php to user (nil: not
// authenticated) and a channel name as it travels on the wire.
//
// Public channels (event.{id}, tenant.{id}) are allowed to anyone. Private and presence channels
// need a user: private-customer.{id} only that customer; private-order.{id} only the order's
// customer; private-chat.{id} the conversation's customer or its assigned agent;
// presence-event.{id}.seats any customer, as {"id","name":first_name}; presence-virtual-event.{id}
// any customer, as {"id","name":full_name,"avatar":avatar_url}; private-admin.{tenant}.dashboard
// only an admin of that tenant.
//
// Stricter than Laravel, on purpose: Laravel strips the private-/presence- prefix before matching
// and casts ids with (int), so it would also sign "presence-customer.5" (with user_info true),
// "private-event.1.seats" or "private-customer.5abc". Here the kind must be the one the seed
// subscribes and an id must be a canonical decimal number; anything else matches no rule, and the
// error wraps ErrNoRule (or ErrInvalidChannel for names the protocol forbids).
func (d *Directory) Authorize(user *Customer, channel string) (Decision, error) {
	if !protocol.ValidChannelName(channel) {
		return Decision{Reason: "invalid channel name"}, fmt.Errorf("%w: %q", ErrInvalidChannel, channel)
	}
	kind := protocol.KindOf(channel)
	name := channel
	switch kind {
	case protocol.Private:
		name = strings.TrimPrefix(channel, protocol.PrefixPrivate)
	case protocol.Presence:
		name = strings.TrimPrefix(channel, protocol.PrefixPresence)
	}
	for _, r := range rules {
		if r.kind != kind {
			continue
		}
		id, ok := matchID(name, r.prefix, r.suffix)
		if !ok {
			continue
		}
		dec := Decision{Kind: kind, Rule: r.pattern}
		if kind.NeedsAuth() && user == nil {
			dec.Reason = "not authenticated"
			return dec, nil
		}
		ok, info, reason := r.check(d, user, id)
		dec.Allowed, dec.Reason = ok, reason
		if ok && kind == protocol.Presence {
			dec.Member = &Member{UserID: strconv.Itoa(user.ID), UserInfo: info}
		}
		return dec, nil
	}
	return Decision{Kind: kind, Reason: "no channel rule matches"}, fmt.Errorf("%w: %q", ErrNoRule, channel)
}

// matchID returns the id of name = prefix + id + suffix, where id is a canonical positive decimal.
func matchID(name, prefix, suffix string) (int, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, suffix); !ok {
		return 0, false
	}
	if s == "" || len(s) > 18 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.Atoi(s)
	return id, err == nil
}
