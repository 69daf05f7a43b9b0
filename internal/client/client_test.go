package client_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/refserver"
)

func start(t *testing.T) (wsURL string, api *client.API) {
	t.Helper()
	srv, err := refserver.New(refserver.Config{Apps: []refserver.App{{ID: "1", Key: "k", Secret: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Shutdown(context.Background()) })
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/k?protocol=7", &client.API{BaseURL: hs.URL, AppID: "1", Key: "k", Secret: "s"}
}

func TestDialSubscribeExpectAndWireLog(t *testing.T) {
	wsURL, api := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	log := &client.WireLog{}
	api.Log = log
	c, err := client.Dial(ctx, wsURL, client.Options{Name: "alice", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !protocol.ValidSocketID(c.SocketID) || c.ActivityTimeout != 120*time.Second {
		t.Errorf("handshake: socket %q, activity %v", c.SocketID, c.ActivityTimeout)
	}
	ch := "private-x"
	if err := c.Subscribe(ch, protocol.SignChannel("k", "s", c.SocketID, ch, ""), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectEvent(ctx, protocol.EventSubscriptionSucceeded, ch); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Trigger(ctx, client.Event{Name: "a", Data: "1", Channels: []string{ch}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Trigger(ctx, client.Event{Name: "b", Data: "2", Channels: []string{ch}}); err != nil {
		t.Fatal(err)
	}
	// Expectations may come out of order: b is taken first, a stays pending.
	if _, err := c.ExpectEvent(ctx, "b", ch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectEvent(ctx, "a", ch); err != nil {
		t.Fatal(err)
	}
	if err := c.Refute(ctx, 100*time.Millisecond, func(f client.Frame) bool { return f.Msg.Event == "a" }); err != nil {
		t.Errorf("a was taken, but: %v", err)
	}
	s := log.String()
	for _, want := range []string{"alice", "pusher:subscribe", "POST /apps/1/events", "200 {}"} {
		if !strings.Contains(s, want) {
			t.Errorf("wire log lacks %q:\n%s", want, s)
		}
	}
}

func TestDialRefusedWithCloseCode(t *testing.T) {
	wsURL, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, strings.Replace(wsURL, "/app/k", "/app/nope", 1), client.Options{})
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != protocol.CodeAppNotFound {
		t.Fatalf("got %v, want a close with 4001", err)
	}
}

func TestExpectFailsWhenClosed(t *testing.T) {
	wsURL, api := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(`{"event":"pusher:signin","data":{"auth":"k:` + protocol.SignUser("k", "s", c.SocketID, `{"id":"u"}`)[2:] + `","user_data":"{\"id\":\"u\"}"}}`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectEvent(ctx, protocol.EventSigninSuccess, ""); err != nil {
		t.Fatal(err)
	}
	if r, err := api.Do(ctx, "POST", "/users/u/terminate_connections", nil, nil); err != nil || r.Status != 200 {
		t.Fatalf("terminate: %v %v", r, err)
	}
	_, err = c.ExpectEvent(ctx, "never", "")
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != refserver.TerminateCloseCode {
		t.Fatalf("got %v, want close %d", err, refserver.TerminateCloseCode)
	}
}

// A negative expectation is met by a connection the server closes: nothing more can arrive.
// A matching frame received before the close still fails it.
func TestRefuteSatisfiedByClose(t *testing.T) {
	wsURL, api := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	signedIn := func() *client.Conn {
		c, err := client.Dial(ctx, wsURL, client.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ud := `{"id":"u"}`
		if err := c.Send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"auth": protocol.SignUser("k", "s", c.SocketID, ud), "user_data": ud}}); err != nil {
			t.Fatal(err)
		}
		// Wait for the answer without taking it: a terminate sent before it arrives may close
		// the connection before the server wrote it, and the case below needs it received.
		for !slices.ContainsFunc(c.Pending(), func(f client.Frame) bool { return f.Msg.Event == protocol.EventSigninSuccess }) {
			if ctx.Err() != nil {
				t.Fatal("no signin_success")
			}
			time.Sleep(5 * time.Millisecond)
		}
		return c
	}
	c := signedIn()
	defer c.Close()
	if r, err := api.Do(ctx, "POST", "/users/u/terminate_connections", nil, nil); err != nil || r.Status != 200 {
		t.Fatalf("terminate: %v %v", r, err)
	}
	if err := c.Refute(ctx, 2*time.Second, func(f client.Frame) bool { return f.Msg.Event == "never" }); err != nil {
		t.Errorf("closed by the server, yet: %v", err)
	}
	if closed, code := c.Closed(); !closed || code != refserver.TerminateCloseCode {
		t.Errorf("Closed() = %v, %d; want true, %d", closed, code, refserver.TerminateCloseCode)
	}
	// The sign-in's answer arrived before the close: refuting it must fail.
	if err := c.Refute(ctx, time.Second, func(f client.Frame) bool { return f.Msg.Event == protocol.EventSigninSuccess }); err == nil {
		t.Error("a frame received before the close was refuted")
	}
}

// A connection the suite closed itself satisfies no refutation: nothing could have arrived.
func TestRefuteFailsOnALocallyClosedConnection(t *testing.T) {
	wsURL, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.Refute(ctx, 200*time.Millisecond, func(f client.Frame) bool { return f.Msg.Event == "never" }); err == nil {
		t.Error("a refutation on a connection the suite closed held")
	}
}
