package refserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

const (
	testAppID  = "1"
	testKey    = "test-key"
	testSecret = "test-secret"
	wait       = 2 * time.Second
)

type testServer struct {
	*Server
	http *httptest.Server
	t    testing.TB
}

// startServer runs a Server on a loopback port with one app; mod adjusts the config.
func startServer(t testing.TB, mod func(*Config)) *testServer {
	t.Helper()
	cfg := Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(srv)
	ts := &testServer{Server: srv, http: hs, t: t}
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts
}

func (ts *testServer) wsURL(key, query string) string {
	return "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/app/" + key + query
}

// testClient is a raw protocol client that keeps every frame it received.
type testClient struct {
	t        testing.TB
	ws       *websocket.Conn
	socketID string
	frames   chan frame
	closed   chan int // the close code, once
}

type frame struct {
	msg protocol.Message
	raw string
}

// dialRaw connects without reading the handshake.
func (ts *testServer) dialRaw(key, query string) *testClient {
	ts.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(ts.wsURL(key, query), nil)
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	c := &testClient{t: ts.t, ws: ws, frames: make(chan frame, 1024), closed: make(chan int, 1)}
	go c.read()
	ts.t.Cleanup(func() { ws.Close() })
	return c
}

// dial connects and waits for connection_established.
func (ts *testServer) dial() *testClient {
	ts.t.Helper()
	c := ts.dialRaw(testKey, "?protocol=7&client=test&version=1")
	f := c.expect(protocol.EventConnectionEstablished)
	var est protocol.ConnectionEstablished
	if err := f.msg.DecodeData(&est); err != nil {
		ts.t.Fatalf("connection_established data: %v", err)
	}
	c.socketID = est.SocketID
	return c
}

func (c *testClient) read() {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			code := 0
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			c.closed <- code
			close(c.frames)
			return
		}
		m, err := protocol.DecodeMessage(data)
		if err != nil {
			m = protocol.Message{Event: "!undecodable"}
		}
		c.frames <- frame{m, string(data)}
	}
}

func (c *testClient) send(v any) {
	c.t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// expect waits for the next frame with the given event, skipping others; it fails on timeout.
func (c *testClient) expect(event string) frame {
	c.t.Helper()
	f, _ := c.next(event, wait)
	return f
}

// next waits up to d for the next frame of event, and returns it and the frames before it.
func (c *testClient) next(event string, d time.Duration) (frame, []frame) {
	c.t.Helper()
	var seen []frame
	raws := func() []string {
		out := make([]string, len(seen))
		for i, f := range seen {
			out[i] = f.raw
		}
		return out
	}
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %s; frames seen: %v", event, raws())
			}
			if f.msg.Event == event {
				return f, seen
			}
			seen = append(seen, f)
		case <-timeout:
			c.t.Fatalf("no %s within %v; frames seen: %v", event, d, raws())
		}
	}
}

// expectNone fails if a frame with the given event arrives within d.
func (c *testClient) expectNone(event string, d time.Duration) {
	c.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return
			}
			if f.msg.Event == event {
				c.t.Fatalf("unexpected %s: %s", event, f.raw)
			}
		case <-timeout:
			return
		}
	}
}

// expectClose waits for the close frame and returns its code.
func (c *testClient) expectClose() int {
	c.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case <-c.frames:
		case code := <-c.closed:
			return code
		case <-timeout:
			c.t.Fatalf("connection not closed within %v", wait)
			return 0
		}
	}
}

func errorCode(f frame) *int {
	var d protocol.ErrorData
	_ = json.Unmarshal(f.msg.Data, &d)
	return d.Code
}

func (c *testClient) subscribe(channel, auth, channelData string) {
	d := map[string]string{"channel": channel}
	if auth != "" {
		d["auth"] = auth
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	c.send(map[string]any{"event": protocol.EventSubscribe, "data": d})
}

// join subscribes with a valid signature and waits for subscription_succeeded.
func (c *testClient) join(channel, channelData string) frame {
	c.t.Helper()
	auth := ""
	if protocol.KindOf(channel).NeedsAuth() {
		auth = protocol.SignChannel(testKey, testSecret, c.socketID, channel, channelData)
	}
	c.subscribe(channel, auth, channelData)
	return c.expect(protocol.EventSubscriptionSucceeded)
}

// api sends a signed HTTP API request and returns the status and body.
func (ts *testServer) api(method, path string, body any, query url.Values) (int, string) {
	ts.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	q := protocol.SignRequest(testKey, testSecret, method, path, b, query, time.Now())
	return ts.rawAPI(method, path+"?"+q.Encode(), b)
}

func (ts *testServer) rawAPI(method, pathQuery string, body []byte) (int, string) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.http.URL+pathQuery, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, pathQuery, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(rb))
}

func (ts *testServer) trigger(channel, event, data string) {
	ts.t.Helper()
	status, body := ts.api("POST", "/apps/"+testAppID+"/events", map[string]any{"name": event, "channels": []string{channel}, "data": data}, nil)
	if status != 200 {
		ts.t.Fatalf("trigger: got %d %s, want 200", status, body)
	}
}

func presenceData(id string, info string) string {
	if info == "" {
		return fmt.Sprintf(`{"user_id":%q}`, id)
	}
	return fmt.Sprintf(`{"user_id":%q,"user_info":%s}`, id, info)
}
