package ticketing_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
	"github.com/pushcert/pushcert/refserver"
)

const waitFor = 5 * time.Second

// stack is the reference server, the seed's auth endpoint and a publisher: a Laravel app in front
// of a Pusher-compatible server, as the conformance suite runs it.
type stack struct {
	*world
	ws       *httptest.Server
	auth     *ticketing.AuthHandler
	authSrv  *httptest.Server
	pub      *ticketing.Publisher
	shop     *ticketing.Shop
	triggers atomic.Int64 // POST /events the server received
	wireLog  *client.WireLog
	tokens   map[int]ticketing.Token
}

func newStack(t *testing.T) *stack {
	t.Helper()
	srv, err := refserver.New(refserver.Config{Apps: []refserver.App{{ID: "1", Key: appKey, Secret: appSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{world: newWorld(t, ticketing.NewDirectory()), wireLog: &client.WireLog{}, tokens: map[int]ticketing.Token{}}
	s.ws = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
			s.triggers.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.ws.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if t.Failed() {
			t.Logf("wire log:\n%s", s.wireLog)
		}
	})
	if s.auth, err = ticketing.NewAuthHandler(ticketing.AuthConfig{Key: appKey, Secret: appSecret, Directory: s.dir}); err != nil {
		t.Fatal(err)
	}
	s.authSrv = httptest.NewServer(s.auth)
	t.Cleanup(s.authSrv.Close)
	api := &client.API{BaseURL: s.ws.URL, AppID: "1", Key: appKey, Secret: appSecret, Log: s.wireLog}
	s.pub = ticketing.NewPublisher(api, fixedClock)
	s.shop = &ticketing.Shop{Directory: s.dir, Publisher: s.pub}
	return s
}

// connect dials the server as pusher-js does.
func (s *stack) connect(t *testing.T, name string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	u := "ws" + strings.TrimPrefix(s.ws.URL, "http") + "/app/" + appKey + "?protocol=7&client=js&version=8.4.0"
	c, err := client.Dial(ctx, u, client.Options{Name: name, Log: s.wireLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribe does what Echo does: for private and presence channels, ask the app's auth endpoint
// with the user's bearer token, then subscribe with its answer; then wait for success.
func (s *stack) subscribe(t *testing.T, c *client.Conn, user *ticketing.Customer, channel string) {
	t.Helper()
	var auth, channelData string
	if protocol.KindOf(channel).NeedsAuth() {
		tok, ok := s.tokens[user.ID]
		if !ok {
			var err error
			if tok, err = s.dir.IssueToken(user.ID); err != nil {
				t.Fatal(err)
			}
			s.tokens[user.ID] = tok
		}
		form := url.Values{"socket_id": {c.SocketID}, "channel_name": {channel}}
		req, _ := http.NewRequest(http.MethodPost, s.authSrv.URL+"/broadcasting/auth", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", tok.Header())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("auth of %s for %s: HTTP %d %v %v", channel, c.Name(), resp.StatusCode, body, err)
		}
		auth, channelData = body["auth"], body["channel_data"]
	}
	if err := c.Subscribe(channel, auth, channelData); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	f, err := c.Expect(ctx, func(f client.Frame) bool {
		return f.Msg.Channel == channel && (f.Msg.Event == protocol.EventSubscriptionSucceeded || f.Msg.Event == protocol.EventSubscriptionError) ||
			f.Msg.Event == protocol.EventError
	})
	if err != nil || f.Msg.Event != protocol.EventSubscriptionSucceeded {
		t.Fatalf("subscribe %s on %s: got %s %v", channel, c.Name(), f.Raw, err)
	}
}

// expectBroadcast waits on c for b's event on channel and checks its data byte for byte.
func expectBroadcast(t *testing.T, c *client.Conn, channel string, b ticketing.Broadcast) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	f, err := c.ExpectEvent(ctx, b.Name, channel)
	if err != nil {
		t.Fatalf("%s waiting for %s on %s: %v", c.Name(), b.Name, channel, err)
	}
	got, err := f.Msg.DataBytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.Data {
		t.Errorf("%s on %s data:\ngot  %s\nwant %s", b.Name, channel, got, b.Data)
	}
}

func refute(t *testing.T, c *client.Conn, event string) {
	t.Helper()
	if err := c.Refute(context.Background(), 300*time.Millisecond, func(f client.Frame) bool { return f.Msg.Event == event }); err != nil {
		t.Errorf("%s: %v", c.Name(), err)
	}
}

func TestPublisherDeliversCatalog(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	chat, err := s.dir.AddChatMessage(ticketing.ChatMessage{ConversationID: s.assigned.ID, SenderType: "agent", Content: "Row A is free", QuickReplies: []string{"Book it"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		user    *ticketing.Customer
		channel string
		publish func() (ticketing.Broadcast, error)
	}{
		{"availability on the public event channel", nil, ticketing.EventChannel(s.concert.ID),
			func() (ticketing.Broadcast, error) { return s.pub.TicketAvailabilityUpdated(ctx, s.concert) }},
		{"event live", nil, ticketing.EventChannel(s.concert.ID),
			func() (ticketing.Broadcast, error) { return s.pub.EventLive(ctx, s.concert.ID) }},
		{"notification to the customer", &s.ana, ticketing.CustomerChannel(s.ana.ID),
			func() (ticketing.Broadcast, error) {
				return s.pub.PushNotification(ctx, s.ana.ID, "Doors open", "See you soon", "", map[string]any{"gate": "B"})
			}},
		{"chat message to the agent", &s.agent, ticketing.ChatChannel(s.assigned.ID),
			func() (ticketing.Broadcast, error) { return s.pub.ChatMessageSent(ctx, chat) }},
		{"metrics to the admin", &s.admin, ticketing.AdminDashboardChannel(s.tenant),
			func() (ticketing.Broadcast, error) {
				return s.pub.AdminMetricsUpdated(ctx, s.tenant, map[string]any{"tickets_sold": 3})
			}},
		{"seat change to a presence member", &s.ben, ticketing.SeatsChannel(s.concert.ID),
			func() (ticketing.Broadcast, error) {
				return s.pub.SeatSelected(ctx, s.concert.ID, s.ana.ID, []string{"A-1"}, "", "")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := s.connect(t, "sub")
			s.subscribe(t, conn, c.user, c.channel)
			b, err := c.publish()
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Channels) != 1 || b.Channels[0] != c.channel {
				t.Errorf("channels: got %v, want [%s]", b.Channels, c.channel)
			}
			expectBroadcast(t, conn, c.channel, b)
		})
	}
}

func TestOrderUpdatedReachesBothChannels(t *testing.T) {
	s := newStack(t)
	mine := s.connect(t, "ana-customer")
	s.subscribe(t, mine, &s.ana, ticketing.CustomerChannel(s.ana.ID))
	order := s.connect(t, "ana-order")
	s.subscribe(t, order, &s.ana, ticketing.OrderChannel(s.anaOrder.ID))
	other := s.connect(t, "ben-customer")
	s.subscribe(t, other, &s.ben, ticketing.CustomerChannel(s.ben.ID))

	before := s.triggers.Load()
	o := s.anaOrder
	o.Status = ticketing.StatusPaid
	b, err := s.pub.OrderStatusUpdated(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.triggers.Load() - before; n != 1 {
		t.Errorf("POST /events: got %d, want 1 for both channels", n)
	}
	expectBroadcast(t, mine, ticketing.CustomerChannel(s.ana.ID), b)
	expectBroadcast(t, order, ticketing.OrderChannel(s.anaOrder.ID), b)
	refute(t, other, ticketing.NameOrderUpdated)
	if !strings.Contains(b.Data, `"message":"Your order has been confirmed!"`) {
		t.Errorf("data: got %s", b.Data)
	}
}

func TestSeatChangedSkipsSelector(t *testing.T) {
	s := newStack(t)
	seats := ticketing.SeatsChannel(s.concert.ID)
	selector := s.connect(t, "ana")
	s.subscribe(t, selector, &s.ana, seats)
	watcher := s.connect(t, "ben")
	s.subscribe(t, watcher, &s.ben, seats)
	// Ana's second tab is another connection: it is not the selector's socket, so it gets the event.
	secondTab := s.connect(t, "ana-tab2")
	s.subscribe(t, secondTab, &s.ana, seats)

	b, err := s.pub.SeatSelected(context.Background(), s.concert.ID, s.ana.ID, []string{"B-7", "B-8"}, ticketing.SeatLock, selector.SocketID)
	if err != nil {
		t.Fatal(err)
	}
	if b.SocketID != selector.SocketID {
		t.Errorf("socket_id: got %q, want %q", b.SocketID, selector.SocketID)
	}
	expectBroadcast(t, watcher, seats, b)
	expectBroadcast(t, secondTab, seats, b)
	refute(t, selector, ticketing.NameSeatChanged)
}

func TestPurchasePublishesAvailability(t *testing.T) {
	s := newStack(t)
	ev := s.dir.AddEvent(ticketing.Event{TenantID: 1, Name: "Matinee", TicketTypes: []ticketing.TicketType{{Name: "GA", Available: 3}, {Name: "VIP", Available: 5}}})
	ga := ev.TicketTypes[0].ID
	conn := s.connect(t, "browser")
	s.subscribe(t, conn, nil, ticketing.EventChannel(ev.ID))
	ctx := context.Background()

	res, err := s.shop.Purchase(ctx, s.ben.ID, ev.ID, ga, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Quantity != 2 || res.Order.Status != ticketing.StatusPending || res.Event.TicketTypes[0].Available != 1 {
		t.Errorf("purchase result: got %+v", res)
	}
	expectBroadcast(t, conn, ticketing.EventChannel(ev.ID), res.Broadcast)
	var data struct {
		EventID     int                            `json:"event_id"`
		TicketTypes []ticketing.TicketAvailability `json:"ticket_types"`
	}
	if err := json.Unmarshal([]byte(res.Broadcast.Data), &data); err != nil {
		t.Fatal(err)
	}
	want := []ticketing.TicketAvailability{{ID: ga, Name: "GA", Available: 1, Sold: 2, Status: "available"}, {ID: ev.TicketTypes[1].ID, Name: "VIP", Available: 5, Sold: 0, Status: "available"}}
	if data.EventID != ev.ID || len(data.TicketTypes) != 2 || data.TicketTypes[0] != want[0] || data.TicketTypes[1] != want[1] {
		t.Errorf("availability: got %+v, want event %d %+v", data, ev.ID, want)
	}

	res, err = s.shop.Purchase(ctx, s.ana.ID, ev.ID, ga, 1)
	if err != nil {
		t.Fatal(err)
	}
	expectBroadcast(t, conn, ticketing.EventChannel(ev.ID), res.Broadcast)
	if !strings.Contains(res.Broadcast.Data, `"available":0,"sold":3,"status":"sold_out"`) {
		t.Errorf("sold out: got %s", res.Broadcast.Data)
	}

	before := s.triggers.Load()
	if _, err := s.shop.Purchase(ctx, s.ana.ID, ev.ID, ga, 1); err == nil {
		t.Error("purchase of a sold-out type: got nil error")
	}
	refute(t, conn, ticketing.NameAvailabilityUpdated)
	if n := s.triggers.Load() - before; n != 0 {
		t.Errorf("a failed purchase published %d events", n)
	}
}

func TestUpdateOrderStatusPublishesOnlyChanges(t *testing.T) {
	s := newStack(t)
	conn := s.connect(t, "ana")
	s.subscribe(t, conn, &s.ana, ticketing.OrderChannel(s.anaOrder.ID))
	ctx := context.Background()

	before := s.triggers.Load()
	ch, err := s.shop.UpdateOrderStatus(ctx, s.anaOrder.ID, ticketing.StatusPending) // already pending
	if err != nil || ch.Changed || s.triggers.Load() != before {
		t.Fatalf("unchanged status: got %+v %v, %d publishes", ch, err, s.triggers.Load()-before)
	}
	refute(t, conn, ticketing.NameOrderUpdated)

	for _, st := range []string{ticketing.StatusPaid, ticketing.StatusRefunded} {
		ch, err := s.shop.UpdateOrderStatus(ctx, s.anaOrder.ID, st)
		if err != nil || !ch.Changed || ch.Order.Status != st {
			t.Fatalf("to %s: got %+v %v", st, ch, err)
		}
		expectBroadcast(t, conn, ticketing.OrderChannel(s.anaOrder.ID), ch.Broadcast)
	}
	if ch, _ := s.shop.UpdateOrderStatus(ctx, s.anaOrder.ID, ticketing.StatusRefunded); ch.Changed {
		t.Error("refunded twice: reported a change")
	}
	refute(t, conn, ticketing.NameOrderUpdated)
	if n := s.triggers.Load() - before; n != 2 {
		t.Errorf("publishes: got %d, want 2", n)
	}
}

func TestPublishErrors(t *testing.T) {
	s := newStack(t)
	bad := ticketing.NewPublisher(&client.API{BaseURL: s.ws.URL, AppID: "1", Key: appKey, Secret: "wrong"}, fixedClock)
	if _, err := bad.EventLive(context.Background(), 1); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: got %v, want an HTTP 401 error", err)
	}
	if err := s.pub.Publish(context.Background(), ticketing.Broadcast{Name: "x", Data: "{}"}); err == nil {
		t.Error("no channels: got nil error")
	}
	if err := (&ticketing.Publisher{}).Publish(context.Background(), ticketing.Broadcast{Name: "x", Channels: []string{"a"}}); err == nil {
		t.Error("no API: got nil error")
	}
}

func TestPublishChunksChannels(t *testing.T) {
	var bodies []client.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev client.Event
		_ = json.NewDecoder(r.Body).Decode(&ev)
		bodies = append(bodies, ev)
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	p := ticketing.NewPublisher(&client.API{BaseURL: srv.URL, AppID: "1", Key: appKey, Secret: appSecret}, fixedClock)
	chans := make([]string, 250)
	for i := range chans {
		chans[i] = "c" + itoa(i)
	}
	if err := p.Publish(context.Background(), ticketing.Broadcast{Name: "n", Data: "{}", Channels: chans, SocketID: "1.2"}); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 || len(bodies[0].Channels) != 100 || len(bodies[2].Channels) != 50 || bodies[2].Channels[49] != "c249" || bodies[1].SocketID != "1.2" {
		t.Errorf("got %d requests", len(bodies))
	}
}
