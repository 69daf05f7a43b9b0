package refserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// lcDial connects to a WebSocket URL and waits for connection_established.
func lcDial(t testing.TB, wsURL string) *testClient {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	c := &testClient{t: t, ws: ws, frames: make(chan frame, 1024), closed: make(chan int, 1)}
	go c.read()
	t.Cleanup(func() { ws.Close() })
	f := c.expect(protocol.EventConnectionEstablished)
	var est protocol.ConnectionEstablished
	if err := f.msg.DecodeData(&est); err != nil {
		t.Fatalf("connection_established: %v", err)
	}
	c.socketID = est.SocketID
	return c
}

// lcSignedRequest builds a signed HTTP API request against base (http://host:port).
func lcSignedRequest(t testing.TB, base, method, path string, body []byte, query url.Values) *http.Request {
	t.Helper()
	q := protocol.SignRequest(testKey, testSecret, method, path, body, query, time.Now())
	req, err := http.NewRequest(method, base+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestShutdownClosesClientsWith4200(t *testing.T) {
	srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}})
	if err != nil {
		t.Fatal(err)
	}
	// Requests carrying X-Test-Delay are held 300 ms before the server sees them: an HTTP API
	// request still in flight when shutdown begins.
	inHandler := make(chan struct{}, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Delay") != "" {
			inHandler <- struct{}{}
			time.Sleep(300 * time.Millisecond)
		}
		srv.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	addr := ln.Addr().String()
	wsURL := "ws://" + addr + "/app/" + testKey + "?protocol=7"

	clients := make([]*testClient, 3)
	for i := range clients {
		clients[i] = lcDial(t, wsURL)
		clients[i].join("room", "")
	}

	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	body := []byte(`{"name":"late","channels":["room"],"data":"x"}`)
	req := lcSignedRequest(t, "http://"+addr, "POST", "/apps/1/events", body, nil)
	req.Header.Set("X-Test-Delay", "1")
	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- result{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}()
	select {
	case <-inHandler:
	case <-time.After(wait):
		t.Fatal("the in-flight request never reached the handler")
	}

	// Shut down as cmd/pushcert/serve.go does: the HTTP server and the Server concurrently.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(ctx) }()
	wsErr := srv.Shutdown(ctx)
	httpErr := <-httpDone
	elapsed := time.Since(start)
	if wsErr != nil || httpErr != nil {
		t.Fatalf("Shutdown: server %v, http %v", wsErr, httpErr)
	}
	if elapsed > 3*time.Second {
		t.Errorf("Shutdown took %v", elapsed)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: got %v, want http.ErrServerClosed", err)
	}

	for i, c := range clients {
		if code := c.expectClose(); code != protocol.CodeReconnect {
			t.Errorf("client %d: close code %d, want 4200", i, code)
		}
	}
	r := <-inflight
	if r.err != nil || r.status != 200 || r.body != "{}" {
		t.Errorf("in-flight request: got %d %q (%v), want 200 {}", r.status, r.body, r.err)
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("Connections after Shutdown: %d", n)
	}

	// New connections are refused: the listener is gone...
	if ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		ws.Close()
		t.Error("a WebSocket connection was accepted after Shutdown")
	}
	// ...and a Server that is shutting down refuses the handshake with 4200, whatever listener
	// reaches it.
	late := httptest.NewServer(srv)
	defer late.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(late.URL, "http")+"/app/"+testKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, ws: ws, frames: make(chan frame, 16), closed: make(chan int, 1)}
	go c.read()
	defer ws.Close()
	biWantError(t, c, protocol.CodeReconnect, "Server shutting down", "")
	biWantClose(t, c, protocol.CodeReconnect)
}

func TestSlowConsumerDisconnected(t *testing.T) {
	const (
		events    = 2000
		healthy   = 5
		perReq    = 10 // events per batch_events request, under the SendQueue of 16
		writeWait = time.Second
	)
	ts := lcStartSmallFirstSendBuffer(t, func(c *Config) {
		c.SendQueue = 16
		c.WriteTimeout = writeWait
	})

	// The stalled client, the server's first connection (see lcStartSmallFirstSendBuffer): a
	// tiny receive buffer, and it stops reading once subscribed.
	stalled := lcDialStalled(t, ts)
	defer stalled.Close()
	// From here on the stalled client reads nothing.

	// Healthy clients count the events they receive in order; an error stops the count.
	var received [healthy]atomic.Int64
	failed := make(chan error, healthy)
	for i := range healthy {
		c := ts.dial()
		c.join("room", "")
		go func() {
			n := 0
			for f := range c.frames {
				var data string
				if f.msg.Event != "tick" || json.Unmarshal(f.msg.Data, &data) != nil || len(data) != 1024 {
					failed <- fmt.Errorf("client %d: unexpected frame %.200s", i, f.raw)
					return
				}
				if seq, _ := strconv.Atoi(data[:5]); seq != n {
					failed <- fmt.Errorf("client %d: event %d arrived in position %d", i, seq, n)
					return
				}
				n++
				received[i].Store(int64(n))
			}
			failed <- fmt.Errorf("client %d: closed after %d events (code %d)", i, n, <-c.closed)
		}()
	}
	if n := ts.Connections(); n != healthy+1 {
		t.Fatalf("connections before publishing: %d, want %d", n, healthy+1)
	}

	// Publish in lock step with the healthy clients, so that their queues never hold more than
	// one batch however slow this machine is: only the stalled client can overflow. The time of
	// the publish requests alone is measured.
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	pad := strings.Repeat("x", 1024-5)
	var publishTime, slowest time.Duration
	for i := 0; i < events; i += perReq {
		batch := make([]any, 0, perReq)
		for j := i; j < i+perReq && j < events; j++ {
			batch = append(batch, map[string]string{"name": "tick", "channel": "room", "data": fmt.Sprintf("%05d%s", j, pad)})
		}
		body, _ := json.Marshal(map[string]any{"batch": batch})
		start := time.Now()
		resp, err := client.Do(lcSignedRequest(t, ts.http.URL, "POST", "/apps/1/batch_events", body, nil))
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		publishTime += took
		slowest = max(slowest, took)
		if resp.StatusCode != 200 {
			t.Fatalf("publish %d: status %d", i, resp.StatusCode)
		}
		published := int64(min(i+perReq, events))
		deadline := time.Now().Add(5 * time.Second)
		for c := range healthy {
			for received[c].Load() < published {
				select {
				case err := <-failed:
					t.Fatalf("after %d events: %v", published, err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("healthy client %d: %d of %d events after 5 s", c, received[c].Load(), published)
				}
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	// A publish that waited for the stalled client would take at least the write timeout.
	if publishTime > 10*time.Second || slowest >= writeWait {
		t.Errorf("publish requests took %v in all, %v at most: a stalled client slowed the publisher down", publishTime, slowest)
	}
	for c := range healthy {
		if n := received[c].Load(); n != events {
			t.Errorf("healthy client %d: %d of %d events", c, n, events)
		}
	}
	biWaitConnections(t, ts, healthy) // the stalled client is gone, the healthy ones are not
	// The stalled client does not read, so its close frame is not observable; the server's
	// metrics record the 4100 it was closed with.
	status, metricsText := ts.rawAPI("GET", "/metrics", nil)
	if status != 200 || !regexp.MustCompile(`(?m)^pushcert_errors_total\{app_id="1",code="4100"\} 1$`).MatchString(metricsText) {
		t.Errorf("metrics: want exactly one 4100 close; got status %d:\n%s", status, grepLines(metricsText, "pushcert_errors_total"))
	}
	select {
	case err := <-failed:
		t.Errorf("healthy client: %v", err)
	default:
	}
	t.Logf("published %d events of 1 KiB: requests took %v in all, %v at most", events, publishTime, slowest)
}

// lcStartSmallFirstSendBuffer is startServer whose first accepted connection gets an 8 KiB
// socket send buffer. Loopback sockets otherwise autotune their send buffer up to tcp_wmem's
// maximum (4 MiB on Linux), which absorbs megabytes before a stalled client blocks the writer.
// Only the first connection (the stalled client's) is shrunk: a small fixed send buffer also
// slows a healthy reader's socket to a crawl, as every sub-MSS segment then waits for a delayed ACK.
func lcStartSmallFirstSendBuffer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	cfg := Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}}
	mod(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = &smallFirstSendBufListener{Listener: hs.Listener}
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &testServer{Server: srv, http: hs, t: t}
}

type smallFirstSendBufListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *smallFirstSendBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && l.accepted.Add(1) == 1 {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestServerPingAndPongTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.ActivityTimeout = 200 * time.Millisecond
		c.PongTimeout = 300 * time.Millisecond
	})
	start := time.Now()
	silent, talker := ts.dial(), ts.dial()

	// The talker answers every server ping with pusher:pong, until stop.
	stop := make(chan struct{})
	type answered struct {
		pings int
		err   error
	}
	talked := make(chan answered, 1)
	go func() {
		pings := 0
		for {
			select {
			case f, ok := <-talker.frames:
				if !ok {
					talked <- answered{pings, fmt.Errorf("talker closed with %d", <-talker.closed)}
					return
				}
				if f.msg.Event == protocol.EventPing {
					pings++
					if err := talker.ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:pong","data":{}}`)); err != nil {
						talked <- answered{pings, err}
						return
					}
				}
			case <-stop:
				talked <- answered{pings, nil}
				return
			}
		}
	}()

	biWantEvent(t, silent, protocol.EventPing, "")
	pinged := time.Since(start)
	biWantClose(t, silent, protocol.CodePongNotReceived)
	closed := time.Since(start)
	if pinged < 150*time.Millisecond || closed-pinged < 200*time.Millisecond {
		t.Errorf("silent client: pinged after %v, closed %v later; want about 200 ms and 300 ms", pinged, closed-pinged)
	}

	time.Sleep(1200*time.Millisecond - time.Since(start))
	close(stop)
	a := <-talked
	if a.err != nil {
		t.Fatalf("talker: %v", a.err)
	}
	if a.pings < 2 {
		t.Errorf("talker: %d server pings in 1.2 s, want at least 2", a.pings)
	}
	talker.send(`{"event":"pusher:ping","data":{}}`)
	talker.expect(protocol.EventPong)
	if n := ts.Connections(); n != 1 {
		t.Errorf("connections: got %d, want 1 (the talker)", n)
	}
}

func TestConnectionQuota(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Apps[0].MaxConnections = 2 })
	a, _ := ts.dial(), ts.dial()
	third := ts.dialRaw(testKey, "?protocol=7")
	biWantError(t, third, protocol.CodeOverQuota, "Application is over connection quota", "")
	biWantClose(t, third, protocol.CodeOverQuota)
	if n := ts.Connections(); n != 2 {
		t.Errorf("connections: got %d, want 2", n)
	}
	// A slot freed is a slot available.
	a.ws.Close()
	biWaitConnections(t, ts, 1)
	// A pong proves the new connection's read loop runs, so that the test does not end (and
	// Shutdown run) while serveWS is still registering it; see TestShutdownDuringHandshakes.
	biWantPong(t, ts.dial())
}

func TestTerminateConnections(t *testing.T) {
	ts := startServer(t, nil)
	u1a, u1b, u2, pres := ts.dial(), ts.dial(), ts.dial(), ts.dial()
	biSignin(t, u1a, `{"id":"u1"}`)
	biSignin(t, u1b, `{"id":"u1","user_info":{"tab":2}}`)
	biSignin(t, u2, `{"id":"u2"}`)
	pres.join("presence-room", presenceData("u1", "")) // presence membership is not a sign-in

	status, body := ts.api("POST", "/apps/1/users/u1/terminate_connections", nil, nil)
	if status != 200 || body != "{}" {
		t.Fatalf("terminate_connections: got %d %s, want 200 {}", status, body)
	}
	for _, c := range []*testClient{u1a, u1b} {
		biWantClose(t, c, TerminateCloseCode)
	}
	for _, c := range []*testClient{u2, pres} {
		biWantPong(t, c)
	}
	biWaitConnections(t, ts, 2)

	// Terminating a user with no connection is not an error.
	if status, body := ts.api("POST", "/apps/1/users/nobody/terminate_connections", nil, nil); status != 200 || body != "{}" {
		t.Errorf("terminate nobody: got %d %s", status, body)
	}
}

// lcWatchlist reads the next frame as pusher_internal:watchlist_events and returns its events.
func lcWatchlist(t testing.TB, c *testClient) []protocol.WatchlistEvent {
	t.Helper()
	f := biWantEvent(t, c, protocol.EventWatchlist, "")
	var d struct {
		Events []protocol.WatchlistEvent `json:"events"`
	}
	if err := f.msg.DecodeData(&d); err != nil {
		t.Fatalf("watchlist_events: %v: %s", err, f.raw)
	}
	return d.Events
}

func TestSigninServerToUserAndWatchlist(t *testing.T) {
	ts := startServer(t, nil)
	u1 := ts.dial()
	biSignin(t, u1, `{"id":"u1","user_info":{"name":"One"}}`) // checks user_data is echoed

	// Its own server-to-user channel needs no channel signature.
	u1.subscribe("#server-to-user-u1", "", "")
	biWantEvent(t, u1, protocol.EventSubscriptionSucceeded, "#server-to-user-u1")
	ts.trigger("#server-to-user-u1", "notice", `{"msg":"hi"}`)
	f := biWantEvent(t, u1, "notice", "#server-to-user-u1")
	if string(f.msg.Data) != `"{\"msg\":\"hi\"}"` {
		t.Errorf("server-to-user event data: got %s", f.msg.Data)
	}

	// u2 watches u1 (online) and u3 (offline).
	u2 := ts.dial()
	biSignin(t, u2, `{"id":"u2","watchlist":["u1","u3"]}`)
	got := lcWatchlist(t, u2)
	want := `[{"name":"online","user_ids":["u1"]},{"name":"offline","user_ids":["u3"]}]`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("initial watchlist: got %s, want %s", b, want)
	}
	u3 := ts.dial()
	biSignin(t, u3, `{"id":"u3"}`)
	if b, _ := json.Marshal(lcWatchlist(t, u2)); string(b) != `[{"name":"online","user_ids":["u3"]}]` {
		t.Errorf("u3 signs in: got %s", b)
	}
	u3.ws.Close()
	if b, _ := json.Marshal(lcWatchlist(t, u2)); string(b) != `[{"name":"offline","user_ids":["u3"]}]` {
		t.Errorf("u3 disconnects: got %s", b)
	}
	biWantPong(t, u1) // u1 watches no one and heard nothing

	// 101 watched ids: signin_success, the state of the first 100, then pusher:error 4302.
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprintf("w%d", i)
	}
	ud, _ := json.Marshal(map[string]any{"id": "u4", "watchlist": ids})
	u4 := ts.dial()
	biSignin(t, u4, string(ud))
	evs := lcWatchlist(t, u4)
	if len(evs) != 1 || evs[0].Name != "offline" || len(evs[0].UserIDs) != 100 || evs[0].UserIDs[99] != "w99" {
		t.Errorf("watchlist of 101: got %+v, want the first 100 offline", evs)
	}
	biWantError(t, u4, protocol.CodeWatchlistLimit, "Watchlist limit exceeded", "")
	biWantPong(t, u4)
	// The 101st id is not watched.
	w100 := ts.dial()
	biSignin(t, w100, `{"id":"w100"}`)
	biWantPong(t, u4)
}

func TestCacheChannel(t *testing.T) {
	var skew atomic.Int64
	ts := startServer(t, func(c *Config) {
		c.CacheTTL = 2 * time.Minute
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	subscribe := func(c *testClient) {
		t.Helper()
		c.subscribe("cache-x", "", "")
		biWantEvent(t, c, protocol.EventSubscriptionSucceeded, "cache-x")
	}
	cacheInfo := func() map[string]any {
		t.Helper()
		status, body := ts.api("GET", "/apps/1/channels/cache-x", nil, url.Values{"info": {"cache"}})
		if status != 200 {
			t.Fatalf("channel info: %d %s", status, body)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("channel info: %v: %s", err, body)
		}
		return out
	}

	a := ts.dial()
	subscribe(a)
	biWantEvent(t, a, protocol.EventCacheMiss, "cache-x")
	if info := cacheInfo(); info["cache"] != nil || info["occupied"] != true {
		t.Errorf("info before publish: got %v, want cache null, occupied", info)
	}

	ts.trigger("cache-x", "price", "42")
	if f := biWantEvent(t, a, "price", "cache-x"); string(f.msg.Data) != `"42"` {
		t.Errorf("live event data: %s", f.msg.Data)
	}

	b := ts.dial()
	subscribe(b)
	if f := biWantEvent(t, b, "price", "cache-x"); string(f.msg.Data) != `"42"` {
		t.Errorf("cached event data: %s", f.msg.Data)
	}
	info := cacheInfo()
	cache, _ := info["cache"].(map[string]any)
	if ttl, _ := cache["ttl"].(float64); cache["data"] != "42" || ttl < 110 || ttl > 120 {
		t.Errorf("info after publish: got %v, want cache {data 42, ttl about 120}", info)
	}

	skew.Store(int64(3 * time.Minute)) // past the 2-minute CacheTTL, within the API's 600 s window
	c := ts.dial()
	subscribe(c)
	biWantEvent(t, c, protocol.EventCacheMiss, "cache-x")
	if info := cacheInfo(); info["cache"] != nil {
		t.Errorf("info after expiry: got %v, want cache null", info)
	}
}

// TestShutdownDuringHandshakes shuts servers down while clients are mid-handshake: Shutdown must
// either refuse each of them or close it, and must not return while one is still open.
func TestShutdownDuringHandshakes(t *testing.T) {
	const dialers = 4
	for i := range 500 {
		srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		u := "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/" + testKey + "?protocol=7"
		conns := make(chan *websocket.Conn, dialers)
		for range dialers {
			go func() {
				ws, _, err := websocket.DefaultDialer.Dial(u, nil)
				if err != nil {
					ws = nil
				}
				conns <- ws
			}()
		}
		time.Sleep(time.Duration(i%100) * 20 * time.Microsecond) // land anywhere in the handshakes
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = srv.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Errorf("iteration %d: Shutdown: %v", i, err)
		}
		// Every handler has finished its upgrade by the time its client's Dial returns.
		var open []*websocket.Conn
		for range dialers {
			if ws := <-conns; ws != nil {
				open = append(open, ws)
			}
		}
		time.Sleep(5 * time.Millisecond)
		if n := srv.Connections(); n != 0 {
			t.Errorf("iteration %d: %d connection(s) still open after Shutdown returned", i, n)
		}
		for _, ws := range open {
			ws.Close()
		}
		hs.Close()
	}
}

// TestSendQueueBoundedInBytes: a client that stops reading is closed with 4100 once the frames
// waiting for it pass the byte budget, however few they are; /metrics shows the budget, what is
// queued and each closed connection's peak.
func TestSendQueueBoundedInBytes(t *testing.T) {
	const budget = 64 << 10
	ts := lcStartSmallFirstSendBuffer(t, func(c *Config) {
		c.SendQueue = 1 << 20 // the frame bound is never the one reached here
		c.SendQueueBytes = budget
	})
	stalled := lcDialStalled(t, ts)
	defer stalled.Close()
	// From here on it reads nothing. 100 events of 9 KB: far past its socket's buffers and the
	// budget, in 100 frames where the frame bound is a million.
	for i := 0; i < 100 && ts.Connections() == 1; i++ {
		ts.trigger("room", "big", strings.Repeat("x", 9000))
	}
	biWaitConnections(t, ts, 0)
	_, body := ts.rawAPI("GET", "/metrics", nil)
	for _, want := range []string{
		`pushcert_errors_total{app_id="1",code="4100"} 1`,
		"pushcert_send_queue_budget_bytes 65536",
		"pushcert_send_queue_bytes 0",
		"pushcert_send_queue_peak_bytes_count 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestExpiredCacheEventsAreForgotten: the events of cache channels nobody subscribes to are
// forgotten once they expire, not kept until a subscriber asks.
func TestExpiredCacheEventsAreForgotten(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.CacheTTL = 100 * time.Millisecond })
	for i := range 50 {
		ts.trigger(fmt.Sprintf("cache-x%d", i), "e", "x")
	}
	app := ts.byID[testAppID]
	held := func() int {
		app.cacheMu.Lock()
		defer app.cacheMu.Unlock()
		return len(app.cache)
	}
	if n := held(); n != 50 {
		t.Fatalf("%d cache events held after the publishes, want 50", n)
	}
	deadline := time.Now().Add(3 * cacheSweep)
	for held() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d expired cache events still held after %v", held(), 3*cacheSweep)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShutdownCutsASlowReader: Shutdown after a grace period that a slow reader overruns (it
// reads 9 KB every 90 ms, and a megabyte is queued for it; no single write ever times out)
// closes that connection and returns nil soon after the grace period, instead of an error.
func TestShutdownCutsASlowReader(t *testing.T) {
	ts := lcStartSmallFirstSendBuffer(t, func(*Config) {})
	slow := lcDialStalled(t, ts)
	defer slow.Close()
	go func() {
		for {
			time.Sleep(90 * time.Millisecond)
			if _, _, err := slow.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for range 120 { // about 1 MB: 10 s of its reading, under the 2 MiB budget
		ts.trigger("room", "big", strings.Repeat("x", 9000))
	}
	const grace = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v after %v, want nil once the slow reader is cut", err, time.Since(start).Round(time.Millisecond))
	}
	if took := time.Since(start); took < grace {
		t.Errorf("Shutdown returned after %v, before the %v grace period: the slow reader was not slow", took, grace)
	}
}

// lcDialStalled connects a client with a 2 KiB receive buffer, subscribed to "room": a client
// that can be made to read slowly, or not at all, once this returns. The test closes it.
func lcDialStalled(t *testing.T, ts *testServer) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{
		HandshakeTimeout: wait,
		NetDial: func(network, addr string) (net.Conn, error) {
			nc, err := net.Dial(network, addr)
			if tc, ok := nc.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(2048)
			}
			return nc, err
		},
	}
	ws, _, err := d.Dial(ts.wsURL(testKey, "?protocol=7"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	if _, _, err := ws.ReadMessage(); err != nil { // connection_established
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"pusher:subscribe","data":{"channel":"room"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), protocol.EventSubscriptionSucceeded) {
		t.Fatalf("subscribe: %s %v", msg, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return ws
}
