package ticketing_test

import (
	"errors"
	"testing"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
)

// world is one scenario's records in a Directory.
type world struct {
	dir                         *ticketing.Directory
	ana, ben, agent, otherAgent ticketing.Customer
	admin, otherAdmin, nonAdmin ticketing.Customer
	anaOrder, benOrder          ticketing.Order
	assigned, unassigned        ticketing.Conversation
	concert                     ticketing.Event
	tenant, otherTenant         int
}

func newWorld(t testing.TB, dir *ticketing.Directory) *world {
	t.Helper()
	w := &world{dir: dir, tenant: 1, otherTenant: 2}
	w.ana = dir.AddCustomer(ticketing.Customer{FirstName: "Ana", FullName: "Ana Lopez", AvatarURL: "https://cdn.example/a.png", TenantID: 1})
	w.ben = dir.AddCustomer(ticketing.Customer{FirstName: "Ben", FullName: "Ben Okafor", TenantID: 1})
	w.agent = dir.AddCustomer(ticketing.Customer{FirstName: "Sam", FullName: "Sam Agent", TenantID: 1, IsAgent: true})
	w.otherAgent = dir.AddCustomer(ticketing.Customer{FirstName: "Kim", FullName: "Kim Agent", TenantID: 1, IsAgent: true})
	w.admin = dir.AddCustomer(ticketing.Customer{FirstName: "Ada", FullName: "Ada Admin", TenantID: 1, Roles: []string{"admin"}})
	w.otherAdmin = dir.AddCustomer(ticketing.Customer{FirstName: "Olu", FullName: "Olu Admin", TenantID: 2, Roles: []string{"admin"}})
	w.nonAdmin = dir.AddCustomer(ticketing.Customer{FirstName: "Max", FullName: "Max Staff", TenantID: 1, Roles: []string{"staff"}})
	var err error
	if w.anaOrder, err = dir.AddOrder(ticketing.Order{CustomerID: w.ana.ID}); err != nil {
		t.Fatal(err)
	}
	if w.benOrder, err = dir.AddOrder(ticketing.Order{CustomerID: w.ben.ID}); err != nil {
		t.Fatal(err)
	}
	if w.assigned, err = dir.AddConversation(ticketing.Conversation{CustomerID: w.ana.ID, AssignedAgentID: w.agent.ID}); err != nil {
		t.Fatal(err)
	}
	if w.unassigned, err = dir.AddConversation(ticketing.Conversation{CustomerID: w.ben.ID}); err != nil {
		t.Fatal(err)
	}
	w.concert = dir.AddEvent(ticketing.Event{TenantID: 1, Name: "Concert", TicketTypes: []ticketing.TicketType{{Name: "GA", Available: 10}}})
	return w
}

func TestAuthorize(t *testing.T) {
	w := newWorld(t, ticketing.NewDirectory())
	missing := w.dir.NextID() // an id no record has
	type tc struct {
		name    string
		user    *ticketing.Customer
		channel string
		allowed bool
		rule    string
		noRule  bool   // the error wraps ErrNoRule
		info    string // presence user_info
	}
	cases := []tc{
		{name: "public event channel, anonymous", channel: ticketing.EventChannel(w.concert.ID), allowed: true, rule: "event.{eventId}"},
		{name: "public event channel, signed in", user: &w.ben, channel: ticketing.EventChannel(w.concert.ID), allowed: true, rule: "event.{eventId}"},
		{name: "public tenant channel", channel: ticketing.TenantChannel(1), allowed: true, rule: "tenant.{tenantId}"},
		{name: "public rule needs no existing record", channel: ticketing.EventChannel(missing), allowed: true, rule: "event.{eventId}"},

		{name: "own customer channel", user: &w.ana, channel: ticketing.CustomerChannel(w.ana.ID), allowed: true, rule: "customer.{customerId}"},
		{name: "another customer's channel", user: &w.ben, channel: ticketing.CustomerChannel(w.ana.ID), rule: "customer.{customerId}"},
		{name: "customer channel, anonymous", channel: ticketing.CustomerChannel(w.ana.ID), rule: "customer.{customerId}"},
		{name: "echo private customer", user: &w.ana, channel: ticketing.EchoPrivate("customer." + itoa(w.ana.ID)), allowed: true, rule: "customer.{customerId}"},

		{name: "own order", user: &w.ana, channel: ticketing.OrderChannel(w.anaOrder.ID), allowed: true, rule: "order.{orderId}"},
		{name: "another customer's order", user: &w.ana, channel: ticketing.OrderChannel(w.benOrder.ID), rule: "order.{orderId}"},
		{name: "missing order", user: &w.ana, channel: ticketing.OrderChannel(missing), rule: "order.{orderId}"},
		{name: "order id that is a customer id", user: &w.ana, channel: ticketing.OrderChannel(w.ana.ID), rule: "order.{orderId}"},

		{name: "chat, its customer", user: &w.ana, channel: ticketing.ChatChannel(w.assigned.ID), allowed: true, rule: "chat.{conversationId}"},
		{name: "chat, its assigned agent", user: &w.agent, channel: ticketing.ChatChannel(w.assigned.ID), allowed: true, rule: "chat.{conversationId}"},
		{name: "chat, another agent", user: &w.otherAgent, channel: ticketing.ChatChannel(w.assigned.ID), rule: "chat.{conversationId}"},
		{name: "chat, agent on an unassigned chat", user: &w.agent, channel: ticketing.ChatChannel(w.unassigned.ID), rule: "chat.{conversationId}"},
		{name: "chat, another customer", user: &w.ben, channel: ticketing.ChatChannel(w.assigned.ID), rule: "chat.{conversationId}"},
		{name: "missing chat", user: &w.ana, channel: ticketing.ChatChannel(missing), rule: "chat.{conversationId}"},

		{name: "seats, any customer", user: &w.ben, channel: ticketing.SeatsChannel(w.concert.ID), allowed: true, rule: "event.{eventId}.seats",
			info: `{"id":` + itoa(w.ben.ID) + `,"name":"Ben"}`},
		{name: "echo join seats", user: &w.ana, channel: ticketing.EchoJoin("event." + itoa(w.concert.ID) + ".seats"), allowed: true, rule: "event.{eventId}.seats",
			info: `{"id":` + itoa(w.ana.ID) + `,"name":"Ana"}`},
		{name: "seats, anonymous", channel: ticketing.SeatsChannel(w.concert.ID), rule: "event.{eventId}.seats"},
		{name: "virtual event with avatar", user: &w.ana, channel: ticketing.VirtualEventChannel(w.concert.ID), allowed: true, rule: "virtual-event.{eventId}",
			info: `{"id":` + itoa(w.ana.ID) + `,"name":"Ana Lopez","avatar":"https://cdn.example/a.png"}`},
		{name: "virtual event without avatar", user: &w.ben, channel: ticketing.VirtualEventChannel(w.concert.ID), allowed: true, rule: "virtual-event.{eventId}",
			info: `{"id":` + itoa(w.ben.ID) + `,"name":"Ben Okafor","avatar":null}`},

		{name: "admin of the tenant", user: &w.admin, channel: ticketing.AdminDashboardChannel(1), allowed: true, rule: "admin.{tenantId}.dashboard"},
		{name: "admin of another tenant", user: &w.otherAdmin, channel: ticketing.AdminDashboardChannel(1), rule: "admin.{tenantId}.dashboard"},
		{name: "non-admin of the tenant", user: &w.nonAdmin, channel: ticketing.AdminDashboardChannel(1), rule: "admin.{tenantId}.dashboard"},
		{name: "customer on admin dashboard", user: &w.ana, channel: ticketing.AdminDashboardChannel(1), rule: "admin.{tenantId}.dashboard"},
		{name: "other admin on own tenant", user: &w.otherAdmin, channel: ticketing.AdminDashboardChannel(2), allowed: true, rule: "admin.{tenantId}.dashboard"},

		{name: "no rule: unknown name", user: &w.ana, channel: "private-wallet." + itoa(w.ana.ID), noRule: true},
		{name: "no rule: customer as presence", user: &w.ana, channel: "presence-customer." + itoa(w.ana.ID), noRule: true},
		{name: "no rule: seats as private", user: &w.ana, channel: "private-event." + itoa(w.concert.ID) + ".seats", noRule: true},
		{name: "no rule: customer channel without prefix", user: &w.ana, channel: "customer." + itoa(w.ana.ID), noRule: true},
		{name: "no rule: id with trailing letters", user: &w.ana, channel: "private-customer." + itoa(w.ana.ID) + "abc", noRule: true},
		{name: "no rule: id with leading zero", user: &w.ana, channel: "private-customer.0" + itoa(w.ana.ID), noRule: true},
		{name: "no rule: empty id", user: &w.ana, channel: "private-customer.", noRule: true},
		{name: "no rule: encrypted", user: &w.ana, channel: "private-encrypted-customer." + itoa(w.ana.ID), noRule: true},
		{name: "no rule: seats without id", user: &w.ana, channel: "presence-event..seats", noRule: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := w.dir.Authorize(c.user, c.channel)
			if c.noRule {
				if !errors.Is(err, ticketing.ErrNoRule) {
					t.Fatalf("Authorize(%q): got err %v, want ErrNoRule", c.channel, err)
				}
				if d.Allowed {
					t.Fatalf("Authorize(%q): allowed without a rule", c.channel)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authorize(%q): %v", c.channel, err)
			}
			if d.Allowed != c.allowed {
				t.Errorf("Authorize(%q) allowed: got %v, want %v (reason %q)", c.channel, d.Allowed, c.allowed, d.Reason)
			}
			if d.Rule != c.rule {
				t.Errorf("rule: got %q, want %q", d.Rule, c.rule)
			}
			if d.Reason == "" {
				t.Errorf("no reason given")
			}
			var gotInfo string
			if d.Member != nil {
				gotInfo = string(d.Member.UserInfo)
				if d.Member.UserID != itoa(c.user.ID) {
					t.Errorf("member user id: got %q, want %q", d.Member.UserID, itoa(c.user.ID))
				}
			}
			if gotInfo != c.info {
				t.Errorf("user_info: got %s, want %s", gotInfo, c.info)
			}
		})
	}
}

func TestAuthorizeInvalidName(t *testing.T) {
	dir := ticketing.NewDirectory()
	for _, name := range []string{"", "private-customer.1 ", "#server-to-user-1", "private-customer/1"} {
		if _, err := dir.Authorize(nil, name); !errors.Is(err, ticketing.ErrInvalidChannel) {
			t.Errorf("Authorize(%q): got %v, want ErrInvalidChannel", name, err)
		}
	}
}

func TestMemberChannelData(t *testing.T) {
	m := ticketing.Member{UserID: "5", UserInfo: []byte(`{"id":5,"name":"Ana"}`)}
	want := `{"user_id":"5","user_info":{"id":5,"name":"Ana"}}`
	if got := m.ChannelData(); got != want {
		t.Errorf("ChannelData: got %s, want %s", got, want)
	}
	pm, err := protocol.ParseChannelData(m.ChannelData())
	if err != nil || pm.UserID != "5" {
		t.Errorf("ParseChannelData: got %+v, %v", pm, err)
	}
}

func TestChannelNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{ticketing.EventChannel(1), "event.1"},
		{ticketing.TenantChannel(2), "tenant.2"},
		{ticketing.CustomerChannel(5), "private-customer.5"},
		{ticketing.OrderChannel(6), "private-order.6"},
		{ticketing.ChatChannel(7), "private-chat.7"},
		{ticketing.SeatsChannel(1), "presence-event.1.seats"},
		{ticketing.VirtualEventChannel(1), "presence-virtual-event.1"},
		{ticketing.AdminDashboardChannel(3), "private-admin.3.dashboard"},
		{ticketing.EchoPrivate("customer.5"), "private-customer.5"},
		{ticketing.EchoJoin("event.1.seats"), "presence-event.1.seats"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestAuthorizeFollowsAssignment(t *testing.T) {
	w := newWorld(t, ticketing.NewDirectory())
	ch := ticketing.ChatChannel(w.unassigned.ID)
	if d, _ := w.dir.Authorize(&w.agent, ch); d.Allowed {
		t.Fatal("agent allowed on an unassigned chat")
	}
	if err := w.dir.AssignAgent(w.unassigned.ID, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.dir.Authorize(&w.agent, ch); !d.Allowed {
		t.Errorf("assigned agent refused: %s", d.Reason)
	}
	if d, _ := w.dir.Authorize(&w.otherAgent, ch); d.Allowed {
		t.Error("another agent allowed after assignment")
	}
	if err := w.dir.AssignAgent(w.unassigned.ID, 0); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.dir.Authorize(&w.agent, ch); d.Allowed {
		t.Error("agent still allowed after unassignment")
	}
	if err := w.dir.AssignAgent(w.dir.NextID(), w.agent.ID); !errors.Is(err, ticketing.ErrNotFound) {
		t.Errorf("missing conversation: got %v, want ErrNotFound", err)
	}
}
