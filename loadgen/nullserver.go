package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
)

// NullTargetName names the null server in reports.
const NullTargetName = "null server: the generator's own floor"

// A null server speaks just enough of the protocol for the load generator and does nothing else:
// no signatures, no limits, no queues; an event is written to each subscriber's socket in the
// request that publishes it. A run against it measures the generator's own latency floor: what
// the generator adds to every figure it reports of a real server.
type nullServer struct {
	up       websocket.Upgrader
	mu       sync.RWMutex
	channels map[string]map[*nullConn]bool
	nextID   atomic.Int64

	connMu  sync.Mutex // guards closing, all and conns.Add against stop
	closing bool
	all     map[*nullConn]struct{}
	conns   sync.WaitGroup
}

type nullConn struct {
	ws *websocket.Conn
	id string
	mu sync.Mutex // one writer at a time
}

func (c *nullConn) send(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

// StartNullServer serves a null server on a free loopback port and returns it as a target.
func StartNullServer() (*target.Target, func(), error) {
	ns := &nullServer{channels: map[string]map[*nullConn]bool{}, all: map[*nullConn]struct{}{},
		up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: ns, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		ns.connMu.Lock()
		ns.closing = true
		for c := range ns.all {
			c.ws.Close()
		}
		ns.connMu.Unlock()
		ns.conns.Wait()
	}
	addr := ln.Addr().String()
	// In process: the generator's CPU and memory figures then include it.
	return &target.Target{WebSocketURL: "ws://" + addr, APIURL: "http://" + addr, AppID: "null", Key: "null-key", Secret: "null-secret",
		Name: NullTargetName, InProcess: true}, stop, nil
}

func (ns *nullServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/app/"):
		ns.socket(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events"):
		ns.publish(w, r)
	case r.URL.Path == "/up":
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

func (ns *nullServer) socket(w http.ResponseWriter, r *http.Request) {
	ws, err := ns.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &nullConn{ws: ws, id: "1." + strconv.FormatInt(ns.nextID.Add(1), 10)}
	ns.connMu.Lock()
	if ns.closing {
		ns.connMu.Unlock()
		ws.Close()
		return
	}
	ns.all[c] = struct{}{}
	ns.conns.Add(1)
	ns.connMu.Unlock()
	defer func() {
		ns.connMu.Lock()
		delete(ns.all, c)
		ns.connMu.Unlock()
		ns.conns.Done()
	}()
	c.send(protocol.EncodeConnectionEstablished(c.id, 120))
	var subscribed []string
	defer func() {
		ns.mu.Lock()
		for _, ch := range subscribed {
			delete(ns.channels[ch], c)
		}
		ns.mu.Unlock()
		ws.Close()
	}()
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.DecodeMessage(frame)
		if err != nil {
			continue
		}
		switch {
		case m.Event == protocol.EventPing:
			c.send(protocol.FramePong)
		case m.Event == protocol.EventSubscribe:
			var d struct {
				Channel string `json:"channel"`
			}
			if m.DecodeData(&d) != nil || d.Channel == "" {
				continue
			}
			ns.mu.Lock()
			if ns.channels[d.Channel] == nil {
				ns.channels[d.Channel] = map[*nullConn]bool{}
			}
			ns.channels[d.Channel][c] = true
			ns.mu.Unlock()
			subscribed = append(subscribed, d.Channel)
			var presence *protocol.PresenceData
			if protocol.KindOf(d.Channel) == protocol.Presence {
				presence = &protocol.PresenceData{} // no members kept: the null server does no presence
			}
			c.send(protocol.EncodeSubscriptionSucceeded(d.Channel, presence))
		case strings.HasPrefix(m.Event, "client-"):
			ns.fanout(m.Channel, frame, c.id)
		}
	}
}

func (ns *nullServer) publish(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var ev struct {
		Name     string   `json:"name"`
		Channels []string `json:"channels"`
		Channel  string   `json:"channel"`
		Data     string   `json:"data"`
		SocketID string   `json:"socket_id"`
	}
	if err != nil || json.Unmarshal(body, &ev) != nil {
		http.Error(w, `{"error":"bad event"}`, http.StatusBadRequest)
		return
	}
	if ev.Channel != "" {
		ev.Channels = append(ev.Channels, ev.Channel)
	}
	for _, ch := range ev.Channels {
		ns.fanout(ch, protocol.EncodeEvent(ev.Name, ch, ev.Data, ""), ev.SocketID)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

// fanout writes frame to every subscriber of ch but the one with socket id except.
func (ns *nullServer) fanout(ch string, frame []byte, except string) {
	ns.mu.RLock()
	subs := make([]*nullConn, 0, len(ns.channels[ch]))
	for c := range ns.channels[ch] {
		if c.id != except {
			subs = append(subs, c)
		}
	}
	ns.mu.RUnlock()
	for _, c := range subs {
		c.send(frame)
	}
}
