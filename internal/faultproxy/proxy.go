// Package faultproxy stands between the suite and a server and breaks, on purpose, what passes
// through: WebSocket frames either way, and HTTP API exchanges. A run of the suite through a
// fault shows that the suite flags a server that behaves so and passes one that behaves right,
// with no switch in the reference server for anything that is visible on the wire. Faults that
// no proxy can reach (a server's routing, its auth rules) stay in refserver's Faults.
//
// The proxy is for tests on loopback: it forwards every request to one upstream server.
package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Frame is one WebSocket data frame: websocket.TextMessage or websocket.BinaryMessage.
type Frame struct {
	Type int
	Data []byte
}

// Verdict is what a fault makes of one frame: the frames to pass on instead (none drops it),
// frames to answer the sender with in the other side's place, and, when Close is not 0, a close
// with that code to the client after them; Drop cuts the client off with no close frame at all,
// as a crashing server does.
type Verdict struct {
	Frames []Frame
	Reply  []Frame
	Close  int
	Drop   bool
}

// Session is one proxied connection, for faults that remember what passed (a member's own
// user id, a rate limit seen). Its hooks run on two goroutines, one per direction: use Lock.
type Session struct {
	sync.Mutex
	Values map[string]string
}

// Pass is the verdict that changes nothing.
func Pass(f Frame) Verdict { return Verdict{Frames: []Frame{f}} }

// Reply is an HTTP answer made by a fault in place of the server's.
type Reply struct {
	Status int
	Body   []byte
}

// Fault breaks one behaviour. Nil hooks pass everything through.
type Fault struct {
	Name string
	Doc  string // the misbehaviour, as a sentence
	// ToClient sees every frame the server sends to a client.
	ToClient func(s *Session, f Frame) Verdict
	// ToServer sees every frame a client sends to the server.
	ToServer func(s *Session, f Frame) Verdict
	// CloseCode rewrites the code of a close the server sends a client.
	CloseCode func(code int) int
	// Request may answer an HTTP request in the server's place (nil forwards it).
	Request func(r *http.Request, body []byte) *Reply
	// Response may rewrite the server's HTTP answer.
	Response func(r *http.Request, status int, body []byte) (int, []byte)
}

// Proxy forwards WebSocket connections and HTTP requests to one upstream server through a
// fault. It is an http.Handler; Front starts one on a loopback port.
type Proxy struct {
	upstream *url.URL // http(s)://host:port of the server
	fault    Fault
	client   *http.Client
	upgrader websocket.Upgrader

	mu      sync.Mutex
	conns   map[*websocket.Conn]struct{}
	stopped bool
}

// Front starts a proxy with fault f in front of the server at upstream (its http:// base URL;
// WebSocket connections go to the same host) on a free port of 127.0.0.1. It returns the
// proxy's address and a stop function that closes the listener and every proxied connection.
func Front(upstream string, f Fault) (string, func(), error) {
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, fmt.Errorf("faultproxy: upstream %q is not an http(s) base URL", upstream)
	}
	p := &Proxy{
		upstream: u, fault: f,
		client:   &http.Client{Timeout: 30 * time.Second},
		upgrader: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		conns:    map[*websocket.Conn]struct{}{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		p.mu.Lock()
		p.stopped = true
		for c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.client.CloseIdleConnections()
	}
	return ln.Addr().String(), stop, nil
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		p.serveWebSocket(w, r)
		return
	}
	p.serveHTTP(w, r)
}

// serveHTTP forwards one HTTP request, giving the fault its chance before and after.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	if p.fault.Request != nil {
		if rep := p.fault.Request(r, body); rep != nil {
			writeReply(w, rep.Status, rep.Body)
			return
		}
	}
	u := *p.upstream
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	status := resp.StatusCode
	if p.fault.Response != nil {
		status, rb = p.fault.Response(r, status, rb)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(status)
	_, _ = w.Write(rb)
}

func writeReply(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveWebSocket dials the upstream with the client's path and query, then pumps frames both
// ways through the fault. A close from either side is passed on with its code.
func (p *Proxy) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	u := *p.upstream
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	up, resp, err := websocket.DefaultDialer.DialContext(r.Context(), u.String(), nil)
	if err != nil {
		status := http.StatusBadGateway
		if resp != nil {
			status = resp.StatusCode
		}
		http.Error(w, "faultproxy: upstream: "+err.Error(), status)
		return
	}
	down, err := p.upgrader.Upgrade(w, r, nil)
	if err != nil {
		up.Close()
		return
	}
	if !p.track(up, down) {
		return // the proxy stopped meanwhile
	}
	defer p.untrack(up, down)
	s := &Session{Values: map[string]string{}}
	upW, downW := &writer{c: up}, &writer{c: down}
	toClient := pipe{src: up, dst: downW, back: upW, hook: p.fault.ToClient, closeCode: p.fault.CloseCode}
	toServer := pipe{src: down, dst: upW, back: downW, hook: p.fault.ToServer}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); toClient.run(s, down) }()
	go func() { defer wg.Done(); toServer.run(s, down) }()
	wg.Wait()
}

// track registers connections for stop to close; after stop it closes them and says false.
func (p *Proxy) track(cs ...*websocket.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		if p.stopped {
			_ = c.Close()
			continue
		}
		p.conns[c] = struct{}{}
	}
	return !p.stopped
}

func (p *Proxy) untrack(cs ...*websocket.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		_ = c.Close()
	}
}

// pipe is one direction of a proxied connection: frames from src go to dst through hook;
// a verdict's replies go back on back, the src's own side.
type pipe struct {
	src       *websocket.Conn
	dst, back *writer
	hook      func(*Session, Frame) Verdict
	closeCode func(int) int
}

// writer serialises the writes to one connection: gorilla allows one writer at a time, and
// both pipes may write to a side (one passes frames on, the other replies).
type writer struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (w *writer) write(f Frame) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.c.WriteMessage(f.Type, f.Data)
}

// run copies frames until src ends; then it closes dst with src's close code (rewritten by
// closeCode when set), so the other pipe ends too. A verdict's close goes to client.
func (p pipe) run(s *Session, client *websocket.Conn) {
	for {
		mt, data, err := p.src.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != websocket.CloseNoStatusReceived && ce.Code != websocket.CloseAbnormalClosure {
				code := ce.Code
				if p.closeCode != nil {
					code = p.closeCode(code)
				}
				_ = p.dst.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ce.Text), time.Now().Add(time.Second))
			}
			_ = p.dst.c.Close()
			return
		}
		v := Pass(Frame{Type: mt, Data: data})
		if p.hook != nil {
			v = p.hook(s, Frame{Type: mt, Data: data})
		}
		for _, f := range v.Frames {
			if p.dst.write(f) != nil {
				_ = p.src.Close()
				return
			}
		}
		for _, f := range v.Reply {
			if p.back.write(f) != nil {
				_ = p.src.Close()
				return
			}
		}
		if v.Close != 0 || v.Drop {
			if v.Close != 0 {
				_ = client.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(v.Close, "faultproxy"), time.Now().Add(time.Second))
			}
			_ = client.Close()
			_ = p.src.Close()
			_ = p.dst.c.Close()
			return
		}
	}
}
