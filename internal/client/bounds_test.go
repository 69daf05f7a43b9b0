package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// hostile serves WebSocket clients a connection_established, then what send writes.
func hostile(t *testing.T, send func(ws *websocket.Conn)) string {
	t.Helper()
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		est := protocol.EncodeInternal(protocol.EventConnectionEstablished, "", protocol.ConnectionEstablished{SocketID: "1.1", ActivityTimeout: 120})
		_ = ws.WriteMessage(websocket.TextMessage, est)
		send(ws)
		time.Sleep(2 * time.Second)
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/app/k?protocol=7"
}

// TestBoundedAgainstAHostileServer: a message over MaxFrame, or more than MaxPending bytes that
// nothing asked for, ends the connection with an error that says so; the wire log keeps at most
// maxLogEntries entries of maxEntryText.
func TestBoundedAgainstAHostileServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	never := func(Frame) bool { return false }

	huge := hostile(t, func(ws *websocket.Conn) {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"event":"x","data":"`+strings.Repeat("x", 2*MaxFrame)+`"}`))
	})
	log := &WireLog{}
	c, err := Dial(ctx, huge, Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, never); !errors.Is(err, ErrOversized) {
		t.Errorf("a 2 MiB message: %v, want %v", err, ErrOversized)
	}
	if !strings.Contains(log.String(), "over 1048576 bytes") {
		t.Errorf("the wire log does not say why:\n%s", log.String())
	}
	// The suite ended that connection, not the server: "receives nothing" is not met by it.
	if err := c.Refute(ctx, 100*time.Millisecond, never); err == nil {
		t.Errorf("Refute after the suite cut the connection: nil, want an error")
	}

	flood := hostile(t, func(ws *websocket.Conn) {
		frame := []byte(`{"event":"x","data":"` + strings.Repeat("x", MaxFrame-100) + `"}`)
		for range 2 * MaxPending / MaxFrame {
			if ws.WriteMessage(websocket.TextMessage, frame) != nil {
				return
			}
		}
	})
	c, err = Dial(ctx, flood, Options{Log: &WireLog{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expect(ctx, never); !errors.Is(err, ErrFlooded) {
		t.Errorf("32 MiB nobody asked for: %v, want %v", err, ErrFlooded)
	}

	var l WireLog
	for i := range maxLogEntries + 1000 {
		l.Add("c", In, fmt.Sprint(i, strings.Repeat("y", 2*maxEntryText)))
	}
	if es := l.Entries(); len(es) != maxLogEntries || len(es[0].Text) > maxEntryText+50 {
		t.Errorf("wire log: %d entries, the first of %d bytes; want %d of at most about %d", len(es), len(es[0].Text), maxLogEntries, maxEntryText)
	}
	if !strings.Contains(l.String(), "(1000 more frames, not kept)") {
		t.Errorf("the wire log does not count what it dropped")
	}
}

// TestAPISwitchingProtocols: an HTTP API that answers 101 and holds the connection is an error
// at once, not a read that waits for as long as the server likes.
func TestAPISwitchingProtocols(t *testing.T) {
	held := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		w.WriteHeader(http.StatusSwitchingProtocols)
		w.(http.Flusher).Flush()
		select {
		case <-held:
		case <-time.After(30 * time.Second):
		}
	}))
	defer hs.Close()
	defer close(held)
	api := &API{BaseURL: hs.URL, AppID: "1", Key: "k", Secret: "s", HTTP: &http.Client{}}
	start := time.Now()
	_, err := api.Trigger(context.Background(), Event{Name: "e", Data: "x", Channels: []string{"c"}})
	if !errors.Is(err, ErrSwitchingProtocols) || time.Since(start) > 10*time.Second {
		t.Errorf("after %v: %v, want %v at once", time.Since(start).Round(time.Millisecond), err, ErrSwitchingProtocols)
	}
}
