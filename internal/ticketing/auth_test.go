package ticketing_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
)

const (
	appKey    = "k"
	appSecret = "s"
	socketID  = "1234.5678"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type authFixture struct {
	*world
	h    *ticketing.AuthHandler
	srv  *httptest.Server
	clk  *clock
	toks map[int]ticketing.Token
}

func newAuthFixture(t *testing.T, limit int, window time.Duration) *authFixture {
	t.Helper()
	f := &authFixture{world: newWorld(t, ticketing.NewDirectory()), clk: &clock{t: time.Date(2025, 3, 1, 19, 0, 0, 0, time.UTC)}, toks: map[int]ticketing.Token{}}
	h, err := ticketing.NewAuthHandler(ticketing.AuthConfig{Key: appKey, Secret: appSecret, Directory: f.dir, RateLimit: limit, RateWindow: window, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *authFixture) token(t *testing.T, c ticketing.Customer) ticketing.Token {
	t.Helper()
	if tok, ok := f.toks[c.ID]; ok {
		return tok
	}
	tok, err := f.dir.IssueToken(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.toks[c.ID] = tok
	return tok
}

type authAnswer struct {
	status int
	body   map[string]string
}

// post sends a form-encoded request as pusher-js does.
func (f *authFixture) post(t *testing.T, path, authz string, form url.Values) authAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) authAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	a := authAnswer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("body is not a JSON object of strings: %v", err)
	}
	return a
}

func channelForm(socket, channel string) url.Values {
	return url.Values{"socket_id": {socket}, "channel_name": {channel}}
}

func TestAuthHandlerStatuses(t *testing.T) {
	f := newAuthFixture(t, -1, 0)
	anaTok := f.token(t, f.ana).Header()
	revoked := f.token(t, f.ben)
	f.dir.RevokeToken(revoked)
	cases := []struct {
		name, path, authz string
		form              url.Values
		status            int
		errMsg            string
	}{
		{"no token", "/broadcasting/auth", "", channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 401, "Unauthenticated."},
		{"unknown token", "/broadcasting/auth", "Bearer 1|nope", channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 401, "Unauthenticated."},
		{"revoked token", "/broadcasting/auth", revoked.Header(), channelForm(socketID, ticketing.CustomerChannel(f.ben.ID)), 401, "Unauthenticated."},
		{"basic scheme", "/broadcasting/auth", "Basic " + strings.TrimPrefix(anaTok, "Bearer "), channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 401, "Unauthenticated."},
		{"another customer's channel", "/broadcasting/auth", anaTok, channelForm(socketID, ticketing.CustomerChannel(f.ben.ID)), 403, "Forbidden."},
		{"another customer's order", "/broadcasting/auth", anaTok, channelForm(socketID, ticketing.OrderChannel(f.benOrder.ID)), 403, "Forbidden."},
		{"no rule", "/broadcasting/auth", anaTok, channelForm(socketID, "private-wallet.1"), 403, "Forbidden."},
		{"malformed socket_id", "/broadcasting/auth", anaTok, channelForm("abc", ticketing.CustomerChannel(f.ana.ID)), 400, "Invalid socket_id."},
		{"socket_id without dot", "/broadcasting/auth", anaTok, channelForm("1234", ticketing.CustomerChannel(f.ana.ID)), 400, "Invalid socket_id."},
		{"missing socket_id", "/broadcasting/auth", anaTok, url.Values{"channel_name": {ticketing.CustomerChannel(f.ana.ID)}}, 400, "Invalid socket_id."},
		{"missing channel_name", "/broadcasting/auth", anaTok, url.Values{"socket_id": {socketID}}, 400, "Invalid channel_name."},
		{"own channel", "/broadcasting/auth", anaTok, channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 200, ""},
		{"own channel under /api", "/api/broadcasting/auth", anaTok, channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 200, ""},
		{"lowercase bearer", "/broadcasting/auth", "bearer " + strings.TrimPrefix(anaTok, "Bearer "), channelForm(socketID, ticketing.CustomerChannel(f.ana.ID)), 200, ""},
		{"user-auth without token", "/broadcasting/user-auth", "", url.Values{"socket_id": {socketID}}, 401, "Unauthenticated."},
		{"user-auth malformed socket", "/broadcasting/user-auth", anaTok, url.Values{"socket_id": {"1.x"}}, 400, "Invalid socket_id."},
		{"unknown path", "/broadcasting/other", anaTok, nil, 404, "Not found."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.post(t, c.path, c.authz, c.form)
			if a.status != c.status {
				t.Fatalf("status: got %d, want %d (body %v)", a.status, c.status, a.body)
			}
			if c.errMsg != "" && a.body["error"] != c.errMsg {
				t.Errorf("error: got %q, want %q", a.body["error"], c.errMsg)
			}
			if c.status == 200 && a.body["auth"] == "" {
				t.Errorf("no auth in %v", a.body)
			}
		})
	}

	t.Run("GET is 405", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/broadcasting/auth", nil)
		if a := do(t, req); a.status != http.StatusMethodNotAllowed {
			t.Errorf("status: got %d, want 405", a.status)
		}
	})
}

func TestAuthHandlerPrivateSignature(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	ch := ticketing.ChatChannel(f.assigned.ID)
	a := f.post(t, "/broadcasting/auth", f.token(t, f.agent).Header(), channelForm(socketID, ch))
	if a.status != 200 {
		t.Fatalf("status: got %d, want 200 (%v)", a.status, a.body)
	}
	if len(a.body) != 1 {
		t.Errorf("private answer: got keys %v, want only auth", a.body)
	}
	if !protocol.VerifyChannelAuth(appKey, appSecret, socketID, ch, "", a.body["auth"]) {
		t.Errorf("auth %q does not verify for %s", a.body["auth"], ch)
	}
	if !strings.HasPrefix(a.body["auth"], appKey+":") {
		t.Errorf("auth %q does not start with the key", a.body["auth"])
	}
}

func TestAuthHandlerPresence(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	cases := []struct {
		name     string
		user     ticketing.Customer
		channel  string
		wantData string
	}{
		{"seats", f.ana, ticketing.SeatsChannel(f.concert.ID),
			`{"user_id":"` + itoa(f.ana.ID) + `","user_info":{"id":` + itoa(f.ana.ID) + `,"name":"Ana"}}`},
		{"virtual event", f.ana, ticketing.VirtualEventChannel(f.concert.ID),
			`{"user_id":"` + itoa(f.ana.ID) + `","user_info":{"id":` + itoa(f.ana.ID) + `,"name":"Ana Lopez","avatar":"https://cdn.example/a.png"}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.post(t, "/broadcasting/auth", f.token(t, c.user).Header(), channelForm(socketID, c.channel))
			if a.status != 200 {
				t.Fatalf("status: got %d, want 200 (%v)", a.status, a.body)
			}
			if a.body["channel_data"] != c.wantData {
				t.Errorf("channel_data: got %s, want %s", a.body["channel_data"], c.wantData)
			}
			pm, err := protocol.ParseChannelData(a.body["channel_data"])
			if err != nil || pm.UserID != itoa(c.user.ID) {
				t.Errorf("ParseChannelData: got %+v %v", pm, err)
			}
			if !protocol.VerifyChannelAuth(appKey, appSecret, socketID, c.channel, a.body["channel_data"], a.body["auth"]) {
				t.Errorf("auth does not verify with channel_data")
			}
			if protocol.VerifyChannelAuth(appKey, appSecret, socketID, c.channel, "", a.body["auth"]) {
				t.Errorf("auth verifies without channel_data")
			}
		})
	}
}

func TestAuthHandlerJSONBody(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	ch := ticketing.OrderChannel(f.anaOrder.ID)
	body := `{"socket_id":"` + socketID + `","channel_name":"` + ch + `"}`
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/broadcasting/auth", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", f.token(t, f.ana).Header())
	a := do(t, req)
	if a.status != 200 || !protocol.VerifyChannelAuth(appKey, appSecret, socketID, ch, "", a.body["auth"]) {
		t.Fatalf("JSON body: got %d %v", a.status, a.body)
	}

	req, _ = http.NewRequest(http.MethodPost, f.srv.URL+"/broadcasting/auth", strings.NewReader(`{"socket_id":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", f.token(t, f.ana).Header())
	if a := do(t, req); a.status != 400 {
		t.Errorf("JSON with a number socket_id: got %d, want 400", a.status)
	}
}

func TestAuthHandlerUserAuth(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	a := f.post(t, "/broadcasting/user-auth", f.token(t, f.ana).Header(), url.Values{"socket_id": {socketID}})
	if a.status != 200 {
		t.Fatalf("status: got %d, want 200 (%v)", a.status, a.body)
	}
	want := `{"id":"` + itoa(f.ana.ID) + `","user_info":{"name":"Ana Lopez"}}`
	if a.body["user_data"] != want {
		t.Errorf("user_data: got %s, want %s", a.body["user_data"], want)
	}
	if !protocol.VerifyUserAuth(appKey, appSecret, socketID, a.body["user_data"], a.body["auth"]) {
		t.Errorf("user auth does not verify")
	}
	ud, err := protocol.ParseUserData(a.body["user_data"])
	if err != nil || ud.ID != itoa(f.ana.ID) {
		t.Errorf("ParseUserData: got %+v %v", ud, err)
	}
}

func TestAuthHandlerRateLimit(t *testing.T) {
	const limit, window = 3, 10 * time.Second
	f := newAuthFixture(t, limit, window)
	anaTok, benTok := f.token(t, f.ana).Header(), f.token(t, f.ben).Header()
	own := channelForm(socketID, ticketing.CustomerChannel(f.ana.ID))

	for i := range limit {
		if a := f.post(t, "/broadcasting/auth", anaTok, own); a.status != 200 {
			t.Fatalf("request %d: got %d, want 200", i+1, a.status)
		}
	}
	a := f.post(t, "/broadcasting/auth", anaTok, own)
	if a.status != http.StatusTooManyRequests || a.body["error"] != "Too many requests" {
		t.Fatalf("request %d: got %d %v, want 429 Too many requests", limit+1, a.status, a.body)
	}
	// Refusals, even for other reasons, count per user, and the limit is per user.
	if a := f.post(t, "/broadcasting/auth", benTok, channelForm(socketID, ticketing.CustomerChannel(f.ana.ID))); a.status != 403 {
		t.Errorf("ben, another user: got %d, want 403", a.status)
	}
	// Unauthenticated requests count per IP: 401 until the IP's budget is spent, then 429.
	for i := range limit {
		if a := f.post(t, "/broadcasting/auth", "", own); a.status != 401 {
			t.Fatalf("anonymous request %d: got %d, want 401", i+1, a.status)
		}
	}
	if a := f.post(t, "/broadcasting/auth", "", own); a.status != 429 {
		t.Errorf("anonymous past the limit: got %d, want 429", a.status)
	}
	// The window closes 10 s after its first request; the refused requests did not extend it.
	f.clk.Add(window - time.Second)
	if a := f.post(t, "/broadcasting/auth", anaTok, own); a.status != 429 {
		t.Errorf("1 s before the window ends: got %d, want 429", a.status)
	}
	f.clk.Add(time.Second)
	if a := f.post(t, "/broadcasting/auth", anaTok, own); a.status != 200 {
		t.Errorf("after the window: got %d, want 200", a.status)
	}

	if n := len(f.h.Log().Filter(func(r ticketing.AuthRecord) bool { return r.Status == 429 })); n != 3 {
		t.Errorf("429 records: got %d, want 3", n)
	}
}

func TestAuthHandlerDefaultLimit(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	tok := f.token(t, f.ana).Header()
	form := channelForm(socketID, ticketing.CustomerChannel(f.ana.ID))
	for i := range ticketing.DefaultAuthRateLimit {
		if a := f.post(t, "/broadcasting/auth", tok, form); a.status != 200 {
			t.Fatalf("request %d: got %d, want 200", i+1, a.status)
		}
	}
	if a := f.post(t, "/broadcasting/auth", tok, form); a.status != 429 {
		t.Fatalf("request 101: got %d, want 429", a.status)
	}
}

func TestAuthLog(t *testing.T) {
	f := newAuthFixture(t, 0, 0)
	benCh := ticketing.CustomerChannel(f.ben.ID)
	f.post(t, "/broadcasting/auth", f.token(t, f.ana).Header(), channelForm(socketID, benCh))
	f.post(t, "/broadcasting/auth", "", channelForm(socketID, benCh))
	f.post(t, "/broadcasting/auth", f.token(t, f.ben).Header(), channelForm(socketID, benCh))

	rs := f.h.Log().ForChannel(benCh)
	if len(rs) != 3 {
		t.Fatalf("records of %s: got %d, want 3", benCh, len(rs))
	}
	want := []struct {
		status, customer int
		rule             string
	}{{403, f.ana.ID, "customer.{customerId}"}, {401, 0, ""}, {200, f.ben.ID, "customer.{customerId}"}}
	for i, w := range want {
		r := rs[i]
		if r.Status != w.status || r.CustomerID != w.customer || r.Rule != w.rule || r.SocketID != socketID || r.Endpoint != ticketing.EndpointChannelAuth || r.Reason == "" {
			t.Errorf("record %d: got %+v, want status %d customer %d rule %q", i, r, w.status, w.customer, w.rule)
		}
	}
	if r, ok := f.h.Log().Last(nil); !ok || r.Auth == "" || !protocol.VerifyChannelAuth(appKey, appSecret, socketID, benCh, "", r.Auth) {
		t.Errorf("last record: got %+v", r)
	}
	if f.h.Log().Total() != 3 {
		t.Errorf("Total: got %d, want 3", f.h.Log().Total())
	}
}

func TestAuthLogKeepsRecent(t *testing.T) {
	dir := ticketing.NewDirectory()
	h, err := ticketing.NewAuthHandler(ticketing.AuthConfig{Key: appKey, Secret: appSecret, Directory: dir, LogSize: 5, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 23 {
		req := httptest.NewRequest(http.MethodPost, "/broadcasting/auth", strings.NewReader("socket_id=1.1&channel_name=event."+itoa(i+1)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	rs := h.Log().Records()
	if len(rs) != 5 || rs[0].Channel != "event.19" || rs[4].Channel != "event.23" || h.Log().Total() != 23 {
		t.Errorf("got %d records from %q to %q, total %d; want 5 from event.19 to event.23, total 23",
			len(rs), rs[0].Channel, rs[len(rs)-1].Channel, h.Log().Total())
	}
}

func TestAuthHandlerConcurrent(t *testing.T) {
	f := newAuthFixture(t, -1, 0)
	var wg sync.WaitGroup
	for _, c := range []ticketing.Customer{f.ana, f.ben, f.agent, f.admin} {
		tok := f.token(t, c).Header()
		wg.Go(func() {
			for range 20 {
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/broadcasting/auth",
					strings.NewReader(channelForm(socketID, ticketing.CustomerChannel(c.ID)).Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("customer %d: got %d", c.ID, resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if n := f.h.Log().Total(); n != 80 {
		t.Errorf("records: got %d, want 80", n)
	}
}

func TestNewAuthHandlerNeedsConfig(t *testing.T) {
	if _, err := ticketing.NewAuthHandler(ticketing.AuthConfig{Key: "k", Secret: "s"}); err == nil {
		t.Error("no Directory: got nil error")
	}
	if _, err := ticketing.NewAuthHandler(ticketing.AuthConfig{Directory: ticketing.NewDirectory()}); err == nil {
		t.Error("no key: got nil error")
	}
}
