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
	conns    sync.WaitGroup
	closing  atomic.Bool
	all      sync.Map // *nullConn -> struct{}
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
	ns := &nullServer{channels: map[string]map[*nullConn]bool{}, up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}}
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
		ns.closing.Store(true)
		ns.all.Range(func(k, _ any) bool { k.(*nullConn).ws.Close(); return true })
		ns.conns.Wait()
	}
	addr := ln.Addr().String()
	return &target.Target{WebSocketURL: "ws://" + addr, APIURL: "http://" + addr, AppID: "null", Key: "null-key", Secret: "null-secret",
		Name: NullTargetName}, stop, nil
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
	ns.conns.Add(1)
	defer ns.conns.Done()
	ns.all.Store(c, struct{}{})
	defer ns.all.Delete(c)
	if ns.closing.Load() {
		ws.Close()
		return
	}
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
			data := "{}"
			if protocol.KindOf(d.Channel) == protocol.Presence {
				data = `{"presence":{"count":0,"ids":[],"hash":{}}}`
			}
			c.send([]byte(`{"event":"pusher_internal:subscription_succeeded","channel":` + strconv.Quote(d.Channel) + `,"data":` + strconv.Quote(data) + `}`))
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
		frame := `{"event":` + strconv.Quote(ev.Name) + `,"channel":` + strconv.Quote(ch) + `,"data":` + strconv.Quote(ev.Data) + `}`
		ns.fanout(ch, []byte(frame), ev.SocketID)
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
