package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/ticketing"
)

// startApp runs the seed's application for one run of the suite: its directory and its auth
// endpoint on loopback, signing with the target's credentials. Ids are never reused, so
// scenarios share it safely.
func startApp(t *target.Target) (*ticketing.App, error) {
	return ticketing.StartApp(ticketing.AuthConfig{Key: t.Key, Secret: t.Secret})
}

// shop publishes through the scenario's API client, so its requests land in the wire log.
func (w *World) shop() *ticketing.Shop {
	return &ticketing.Shop{Directory: w.app.Directory, Publisher: ticketing.NewPublisher(w.API, nil)}
}

// The records a scenario names: "Ann", "Rock Night", "the order of Ann", ...
type records struct {
	customers map[string]ticketing.Customer
	tokens    map[string]ticketing.Token
	events    map[string]ticketing.Event
	orders    map[string]ticketing.Order
	chats     map[string]ticketing.Conversation
	tenants   map[string]int
	authCode  map[string]int // the last auth endpoint status per client
}

// customer, event and chat look a named record up, failing clearly on a name the scenario never
// created (a typo would otherwise publish to id 0).
func (w *World) customer(name string) (ticketing.Customer, error) {
	c, ok := w.rec.customers[name]
	if !ok {
		return c, fmt.Errorf("no customer %q in this scenario", name)
	}
	return c, nil
}

func (w *World) event(name string) (ticketing.Event, error) {
	e, ok := w.rec.events[name]
	if !ok {
		return e, fmt.Errorf("no event %q in this scenario", name)
	}
	return e, nil
}

func (w *World) chat(name string) (ticketing.Conversation, error) {
	c, ok := w.rec.chats[name]
	if !ok {
		return c, fmt.Errorf("no chat %q in this scenario", name)
	}
	return c, nil
}

func (w *World) tenant(name string) int {
	if id, ok := w.rec.tenants[name]; ok {
		return id
	}
	id := w.app.Directory.NextID()
	w.rec.tenants[name] = id
	return id
}

var channelPhrase = regexp.MustCompile(`^the (event channel|tenant channel|customer channel|order channel|chat channel|seat map|virtual event|admin dashboard) of "([^"]+)"$`)

// ticketChannel resolves "the seat map of "Rock Night"" to presence-event.<id>.seats.
func (w *World) ticketChannel(phrase string) (string, error) {
	m := channelPhrase.FindStringSubmatch(phrase)
	if m == nil {
		return "", fmt.Errorf("unknown channel phrase %q", phrase)
	}
	kind, name := m[1], m[2]
	look := func(ok bool) error {
		if !ok {
			return fmt.Errorf("no %s %q in this scenario", strings.TrimSuffix(kind, " channel"), name)
		}
		return nil
	}
	switch kind {
	case "event channel", "seat map", "virtual event":
		e, ok := w.rec.events[name]
		if err := look(ok); err != nil {
			return "", err
		}
		switch kind {
		case "event channel":
			return ticketing.EventChannel(e.ID), nil
		case "seat map":
			return ticketing.SeatsChannel(e.ID), nil
		}
		return ticketing.VirtualEventChannel(e.ID), nil
	case "tenant channel":
		return ticketing.TenantChannel(w.tenant(name)), nil
	case "admin dashboard":
		return ticketing.AdminDashboardChannel(w.tenant(name)), nil
	case "customer channel":
		c, ok := w.rec.customers[name]
		if err := look(ok); err != nil {
			return "", err
		}
		return ticketing.CustomerChannel(c.ID), nil
	case "order channel":
		o, ok := w.rec.orders[name]
		if err := look(ok); err != nil {
			return "", err
		}
		return ticketing.OrderChannel(o.ID), nil
	default:
		c, ok := w.rec.chats[name]
		if err := look(ok); err != nil {
			return "", err
		}
		return ticketing.ChatChannel(c.ID), nil
	}
}

const phrase = `(the (?:event channel|tenant channel|customer channel|order channel|chat channel|seat map|virtual event|admin dashboard) of "[^"]+")`

func ticketingSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a customer "([^"]+)"(?: of tenant "([^"]+)")?(?: who is (an admin|an agent))?$`, func(ctx context.Context, name, tenant, role string) error {
		w := world(ctx)
		c := ticketing.Customer{FirstName: name, FullName: name + " Example", AvatarURL: "https://avatars.example/" + strings.ToLower(name) + ".png"}
		if tenant != "" {
			c.TenantID = w.tenant(tenant)
		}
		switch role {
		case "an admin":
			c.Roles = []string{ticketing.RoleAdmin}
		case "an agent":
			c.IsAgent = true
		}
		c = w.app.Directory.AddCustomer(c)
		tok, err := w.app.Directory.IssueToken(c.ID)
		if err != nil {
			return err
		}
		w.rec.customers[name], w.rec.tokens[name] = c, tok
		return nil
	})
	sc.Step(`^an event "([^"]+)" with (\d+) "([^"]+)" tickets$`, func(ctx context.Context, name string, n int, typ string) error {
		w := world(ctx)
		e := w.app.Directory.AddEvent(ticketing.Event{Name: name, TicketTypes: []ticketing.TicketType{{Name: typ, Available: n}}})
		w.rec.events[name] = e
		return nil
	})
	sc.Step(`^"([^"]+)" has an order "([^"]+)"$`, func(ctx context.Context, customer, order string) error {
		w := world(ctx)
		c, ok := w.rec.customers[customer]
		if !ok {
			return fmt.Errorf("no customer %q", customer)
		}
		o, err := w.app.Directory.AddOrder(ticketing.Order{CustomerID: c.ID})
		w.rec.orders[order] = o
		return err
	})
	sc.Step(`^a chat "([^"]+)" between "([^"]+)" and the agent "([^"]+)"$`, func(ctx context.Context, chat, customer, agent string) error {
		w := world(ctx)
		c, ok1 := w.rec.customers[customer]
		a, ok2 := w.rec.customers[agent]
		if !ok1 || !ok2 {
			return fmt.Errorf("no customer %q or agent %q", customer, agent)
		}
		conv, err := w.app.Directory.AddConversation(ticketing.Conversation{CustomerID: c.ID, AssignedAgentID: a.ID})
		w.rec.chats[chat] = conv
		return err
	})
	sc.Step(`^"([^"]+)" opens `+phrase+`$`, func(ctx context.Context, name, ph string) error {
		return openChannel(ctx, name, ph, true)
	})
	sc.Step(`^"([^"]+)" opens `+phrase+` without a token$`, func(ctx context.Context, name, ph string) error {
		return openChannel(ctx, name, ph, false)
	})
	sc.Step(`^"([^"]+)" is subscribed to `+phrase+` `+within+`$`, func(ctx context.Context, name, ph, secs string) error {
		ch, err := world(ctx).ticketChannel(ph)
		if err != nil {
			return err
		}
		_, err = expectEvent(ctx, name, "pusher_internal:subscription_succeeded", ch, secs)
		return err
	})
	sc.Step(`^the app's webhook endpoint lists exactly ("[^"]+"(?:(?:, | and )"[^"]+")*) on `+phrase+` `+within+`$`, appLists)
	sc.Step(`^the auth endpoint answers "([^"]+)" with (\d+)$`, func(ctx context.Context, name string, status int) error {
		w := world(ctx)
		got, ok := w.rec.authCode[name]
		if !ok {
			return fmt.Errorf("%q has not asked the auth endpoint", name)
		}
		if got != status {
			return mismatch(fmt.Sprintf("auth endpoint status %d for %s", status, name), "%d", got)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" asks the auth endpoint for `+phrase+` (\d+) times$`, func(ctx context.Context, name, ph string, n int) error {
		w := world(ctx)
		ch, err := w.ticketChannel(ph)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			status, _, err := w.askAuth(name, "1234.5678", ch, true)
			if err != nil {
				return err
			}
			w.rec.authCode[name] = status
		}
		return nil
	})
	sc.Step(`^"([^"]+)" buys (\d+) "([^"]+)" tickets? for "([^"]+)"$`, func(ctx context.Context, customer string, n int, typ, event string) error {
		w := world(ctx)
		c, err := w.customer(customer)
		if err != nil {
			return err
		}
		e, err := w.event(event)
		if err != nil {
			return err
		}
		tt := -1
		for _, t := range e.TicketTypes {
			if t.Name == typ {
				tt = t.ID
			}
		}
		if tt < 0 {
			return fmt.Errorf("event %q has no %q tickets", event, typ)
		}
		res, err := w.shop().Purchase(ctx, c.ID, e.ID, tt, n)
		if err != nil {
			return mismatch("the purchase is published through the HTTP API", "%v", err)
		}
		w.rec.events[event] = res.Event
		return nil
	})
	sc.Step(`^"([^"]+)" receives "([^"]+)" on `+phrase+` `+within+`$`, func(ctx context.Context, name, event, ph, secs string) error {
		ch, err := world(ctx).ticketChannel(ph)
		if err != nil {
			return err
		}
		_, err = expectEvent(ctx, name, event, ch, secs)
		return err
	})
	sc.Step(`^"([^"]+)" does not receive "([^"]+)" on `+phrase+` `+within+`$`, func(ctx context.Context, name, event, ph, secs string) error {
		ch, err := world(ctx).ticketChannel(ph)
		if err != nil {
			return err
		}
		return refute(ctx, name, secs, "no "+event+" on "+ch, func(f client.Frame) bool { return f.Msg.Event == event && f.Msg.Channel == ch })
	})
	sc.Step(`^its payload has "([^"]+)" (\S.*)$`, func(ctx context.Context, path, want string) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		b, err := f.Msg.DataBytes()
		if err != nil {
			return mismatch("JSON data", "%s", f.Raw)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return mismatch("JSON data", "%s", f.Raw)
		}
		got, ok := lookup(v, path)
		gb, _ := json.Marshal(got)
		if !ok || !jsonEqual(gb, []byte(want)) {
			return mismatch(fmt.Sprintf("%s = %s", path, want), "%s in %s", gb, f.Raw)
		}
		return nil
	})
	sc.Step(`^the order "([^"]+)" becomes "([^"]+)"$`, func(ctx context.Context, order, status string) error {
		w := world(ctx)
		o, ok := w.rec.orders[order]
		if !ok {
			return fmt.Errorf("no order %q", order)
		}
		ch, err := w.shop().UpdateOrderStatus(ctx, o.ID, status)
		if err != nil {
			return mismatch("the status change is published", "%v", err)
		}
		w.rec.orders[order] = ch.Order
		return nil
	})
	sc.Step(`^"([^"]+)" selects seats? "([^"]+)" (?:for|of) "([^"]+)"$`, func(ctx context.Context, name, seats, event string) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		var list []string
		for _, s := range strings.Split(seats, ",") {
			list = append(list, strings.TrimSpace(s))
		}
		e, err := w.event(event)
		if err != nil {
			return err
		}
		cust, err := w.customer(name)
		if err != nil {
			return err
		}
		_, err = w.shop().Publisher.SeatSelected(ctx, e.ID, cust.ID, list, ticketing.SeatSelect, c.SocketID)
		return err
	})
	sc.Step(`^the agent "([^"]+)" writes "([^"]*)" in the chat "([^"]+)"$`, func(ctx context.Context, agent, text, chat string) error {
		w := world(ctx)
		conv, err := w.chat(chat)
		if err != nil {
			return err
		}
		m, err := w.app.Directory.AddChatMessage(ticketing.ChatMessage{ConversationID: conv.ID, SenderType: "agent", Content: text, CreatedAt: time.Now()})
		if err != nil {
			return err
		}
		_, err = w.shop().Publisher.ChatMessageSent(ctx, m)
		return err
	})
	sc.Step(`^the app notifies "([^"]+)": "([^"]*)"$`, func(ctx context.Context, customer, title string) error {
		w := world(ctx)
		c, err := w.customer(customer)
		if err != nil {
			return err
		}
		_, err = w.shop().Publisher.PushNotification(ctx, c.ID, title, title, "info", nil)
		return err
	})
	sc.Step(`^the app publishes the metrics of tenant "([^"]+)" with (\d+) sales$`, func(ctx context.Context, tenant string, sales int) error {
		w := world(ctx)
		_, err := w.shop().Publisher.AdminMetricsUpdated(ctx, w.tenant(tenant), map[string]any{"sales": sales})
		return err
	})
	sc.Step(`^"([^"]+)" goes live$`, func(ctx context.Context, event string) error {
		w := world(ctx)
		e, err := w.event(event)
		if err != nil {
			return err
		}
		_, err = w.shop().Publisher.EventLive(ctx, e.ID)
		return err
	})
}

// lookup follows a dotted path ("ticket_types.0.available") into decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// openChannel connects a customer's client (once) and subscribes to a channel of the seed's
// application, asking the auth endpoint like Echo does for private and presence channels.
func openChannel(ctx context.Context, name, ph string, withToken bool) error {
	w := world(ctx)
	ch, err := w.ticketChannel(ph)
	if err != nil {
		return err
	}
	w.mu.Lock()
	c := w.conns[name]
	w.mu.Unlock()
	if c == nil {
		if err := dial(ctx, name); err != nil {
			return err
		}
		c, _ = w.conn(name)
	}
	if !strings.HasPrefix(ch, "private-") && !strings.HasPrefix(ch, "presence-") {
		return c.Subscribe(ch, "", "")
	}
	status, body, err := w.askAuth(name, c.SocketID, ch, withToken)
	if err != nil {
		return err
	}
	w.rec.authCode[name] = status
	if status != http.StatusOK {
		return nil // the auth endpoint refused; Echo does not subscribe then
	}
	var ans struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("auth endpoint answer %s: %w", body, err)
	}
	return c.Subscribe(ch, ans.Auth, ans.ChannelData)
}

// askAuth POSTs socket_id and channel_name, form-encoded, as pusher-js's ajax transport does.
func (w *World) askAuth(name, socketID, channel string, withToken bool) (int, []byte, error) {
	form := url.Values{"socket_id": {socketID}, "channel_name": {channel}}
	req, err := http.NewRequest("POST", w.app.URL+"/broadcasting/auth", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tok, ok := w.rec.tokens[name]; ok && withToken {
		req.Header.Set("Authorization", tok.Header())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	w.Log.Add("auth", client.Out, "POST /broadcasting/auth "+form.Encode())
	w.Log.Add("auth", client.In, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))))
	return resp.StatusCode, b, nil
}

// appLists waits until the seed's webhook endpoint has exactly the named customers on a presence
// channel, as the member_added and member_removed webhooks told it: the app knows who is there
// without asking the server.
func appLists(ctx context.Context, list, ph, secs string) error {
	w := world(ctx)
	ch, err := w.ticketChannel(ph)
	if err != nil {
		return err
	}
	var want []string
	for _, name := range names(list) {
		c, err := w.customer(name)
		if err != nil {
			return err
		}
		want = append(want, strconv.Itoa(c.ID))
	}
	slices.Sort(want)
	wctx, cancel := context.WithTimeout(ctx, w.wait(seconds(secs)))
	defer cancel()
	got, ok := w.app.Webhooks.WaitMembers(wctx, ch, func(m []string) bool { return slices.Equal(m, want) })
	if !ok {
		return mismatch(fmt.Sprintf("the app's webhook endpoint lists users %v on %s", want, ch),
			"it lists %v after %ss; %s", got, secs, describeHooks(requestsNaming(w, `"`+ch+`"`)))
	}
	return nil
}
