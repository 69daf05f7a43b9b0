package refserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Server is the reference server. It is an http.Handler; Shutdown closes every client with 4200.
type Server struct {
	cfg      Config
	byKey    map[string]*appState
	byID     map[string]*appState
	upgrader websocket.Upgrader
	metrics  *metrics
	mux      *http.ServeMux
	broker   Broker
	registry Registry // nil on a single node

	unheardMu sync.Mutex
	unheard   []unheard // leaves the registry did not hear of, told at the next resync

	faults  faultState
	closing atomic.Bool
	admitMu sync.Mutex     // orders connection registration against Shutdown
	wg      sync.WaitGroup // every readLoop; a connection's readLoop ends after its socket closed
	stop    chan struct{}  // ends the sweeper
	stopped sync.Once
}

// ErrCluster is New's error when the cluster's Redis cannot be reached.
var ErrCluster = errors.New("cluster")

// Node is this server's node id in its cluster; "" on a single node.
func (s *Server) Node() string {
	if rc, ok := s.registry.(*redisCluster); ok {
		return rc.node
	}
	return ""
}

// New builds a Server from cfg; it starts the liveness sweeper, stopped by Shutdown.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		byKey: map[string]*appState{},
		byID:  map[string]*appState{},
		upgrader: websocket.Upgrader{
			ReadBufferSize:  512,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     func(*http.Request) bool { return true },
		},
		metrics: newMetrics(),
		stop:    make(chan struct{}),
	}
	hookClient := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2}}
	for _, a := range cfg.Apps {
		st := newAppState(a)
		st.metrics = s.metrics.forApp(a.ID)
		s.metrics.wireBytes(a.ID, st.wire)
		urls := a.Webhooks
		if cfg.Faults.MisroutedWebhooks {
			urls = cfg.Apps[0].Webhooks
		}
		st.hooks = newHooks(a, urls, cfg.hookTiming(), hookClient, cfg.Logger, s.metrics, cfg.Faults)
		s.byKey[a.Key], s.byID[a.ID] = st, st
	}
	s.metrics.sendQueues(s.queuedBytes, cfg.SendQueueBytes)
	s.broker = cfg.Broker
	if cfg.Redis != "" && s.broker == nil {
		rc, err := newRedisCluster(cfg.Redis, cfg.RedisPrefix, cfg.NodeDeadAfter, cfg.Logger)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCluster, err)
		}
		rc.debounce = cfg.WebhookDebounce
		rc.keepDead = cfg.Faults.GhostMembers
		rc.onReaped = s.reaped
		rc.onResync = s.resync
		rc.counted = s.clusterCounted
		s.broker, s.registry = rc, rc
		for _, a := range s.byID {
			a.hooks.owedBy(a.ID, rc)
		}
	}
	if s.broker == nil {
		s.broker = &localBroker{}
	}
	if err := s.broker.Start(s.deliver); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Faults.DelayDeliveries > 0 {
		s.faults.line = newDelayLine(s.stop)
	}
	s.routes()
	go s.sweep()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /app/{key}", s.serveWS)
	m.HandleFunc("GET /up", func(w http.ResponseWriter, _ *http.Request) {
		if s.closing.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("OK\n"))
	})
	m.Handle("GET /metrics", s.metrics.handler())
	s.httpRoutes(m)
	s.mux = m
}

// ServeHTTP routes one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Connections returns the number of open client connections.
func (s *Server) Connections() int {
	n := 0
	for _, a := range s.byID {
		n += int(a.connCount.Load())
	}
	return n
}

// Shutdown closes every client connection with 4200 (reconnect now) after the frames it was
// owed, and waits for their goroutines until ctx ends; then the connections still writing (slow
// readers) are closed within a few seconds, the rest of their queues cut, and Shutdown returns
// nil unless one stays open. In-flight HTTP requests belong to the http.Server, which the caller
// shuts down beside it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.admitMu.Lock()
	s.closing.Store(true)
	s.admitMu.Unlock()
	s.stopped.Do(func() { close(s.stop) })
	for _, a := range s.byID {
		for _, c := range a.allConns() {
			c.finish(protocol.CodeReconnect, "Server shutting down, reconnect now")
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		// The grace period is over: a connection still writing what it was owed (a client
		// that reads slowly) gets its close now, within closeGrace, the rest of its queue cut.
		left := 0
		for _, a := range s.byID {
			for _, c := range a.allConns() {
				c.raw.abort()
				left++
			}
		}
		s.cfg.Logger.Warn("grace period over: closing the connections still writing", "connections", left)
		select {
		case <-done:
		case <-time.After(3 * closeGrace):
			open := 0
			for _, a := range s.byID {
				open += len(a.allConns())
			}
			err = fmt.Errorf("%d connections did not close: %w", open, ctx.Err())
		}
	}
	for _, a := range s.byID {
		a.hooks.close(ctx)
	}
	if cerr := s.broker.Close(); err == nil {
		err = cerr
	}
	return err
}

// Crash stops the server as a killed process stops, for the tests of a cluster's recovery: its
// cluster hears nothing more from it (no heartbeat, no leave, no webhook: the other nodes must
// find it dead), and its connections are cut without a close frame. The server is of no use
// after it.
func (s *Server) Crash() {
	s.admitMu.Lock()
	s.closing.Store(true)
	s.admitMu.Unlock()
	s.stopped.Do(func() { close(s.stop) })
	if rc, ok := s.registry.(*redisCluster); ok {
		rc.abandon()
	}
	for _, a := range s.byID {
		a.hooks.drop()
		for _, c := range a.allConns() {
			_ = c.raw.Conn.Close()
		}
	}
}

// hijackWriter hands gorilla a batchConn instead of the raw socket, so writes can be coalesced.
type hijackWriter struct {
	http.ResponseWriter
	raw      *batchConn
	hijacked bool // the socket is taken: answers gorilla writes after a refused hijack go nowhere
}

// WriteHeader and Write are gorilla's HTTP error after a hijack it was refused (a client that
// sent data before the handshake completed): the socket is closed already, and net/http would
// log two lines for each such request.
func (h *hijackWriter) WriteHeader(code int) {
	if !h.hijacked {
		h.ResponseWriter.WriteHeader(code)
	}
}

func (h *hijackWriter) Write(b []byte) (int, error) {
	if h.hijacked {
		return 0, net.ErrClosed
	}
	return h.ResponseWriter.Write(b)
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.hijacked = true
	if brw.Reader.Buffered() > 0 {
		nc.Close()
		return nil, nil, errors.New("client sent data before the handshake completed")
	}
	h.raw = &batchConn{Conn: nc}
	return h.raw, bufio.NewReadWriter(bufio.NewReaderSize(h.raw, 16), bufio.NewWriterSize(h.raw, 16)), nil
}

// serveWS upgrades, applies the connection checks of the protocol, sends connection_established
// and returns, leaving the connection to its read and write goroutines.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	hw := &hijackWriter{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	ws.SetReadLimit(int64(s.cfg.MaxMessageBytes))
	hw.raw.sent.Store(0) // the counts are of the WebSocket, not of the 101 answer
	app := s.byKey[r.PathValue("key")]
	code, msg := s.admit(app, r)
	if code != 0 {
		refuse(ws, code, msg)
		return
	}
	c := &conn{
		srv:      s,
		app:      app,
		ws:       ws,
		raw:      hw.raw,
		socketID: protocol.FormatSocketID(rand.Uint64()>>1, rand.Uint64()>>1),
		quit:     make(chan struct{}),
	}
	c.writer = c.writeLoop
	c.touch(time.Now()) // before it is registered: the sweeper must not find it idle
	// Registration and Shutdown's closing flag share a lock, so a connection is either refused
	// here or registered before Shutdown looks for connections to close.
	s.admitMu.Lock()
	if s.closing.Load() {
		s.admitMu.Unlock()
		refuse(ws, protocol.CodeReconnect, "Server shutting down, reconnect now")
		return
	}
	if !app.addConn(c, s.quotaRegistry()) {
		s.admitMu.Unlock()
		refuse(ws, protocol.CodeOverQuota, protocol.CodeText[protocol.CodeOverQuota])
		return
	}
	s.wg.Add(1)
	s.admitMu.Unlock()
	app.metrics.connections.Inc()
	ws.SetPingHandler(func(data string) error {
		c.touch(time.Now())
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(closeGrace))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	c.enqueueFrame(protocol.EncodeConnectionEstablished(c.socketID, int(app.activityTimeout(s.cfg)/time.Second)))
	if app.UserAuthTimeout > 0 {
		c.authTimer = time.AfterFunc(time.Duration(app.UserAuthTimeout), func() {
			c.mu.Lock()
			ok := c.authed
			c.mu.Unlock()
			if !ok {
				c.kill(protocol.CodeUnauthorized, "Connection not authorized within timeout")
			}
		})
	}
	go c.readLoop()
}

// admit checks the app and the protocol version; it returns 0 or a close code and its reason.
func (s *Server) admit(app *appState, r *http.Request) (int, string) {
	switch {
	case s.closing.Load():
		return protocol.CodeReconnect, "Server shutting down, reconnect now"
	case app == nil:
		return protocol.CodeAppNotFound, fmt.Sprintf("Application does not exist: no app has key %q", r.PathValue("key"))
	case app.Disabled:
		return protocol.CodeAppDisabled, protocol.CodeText[protocol.CodeAppDisabled]
	}
	v, ok := r.URL.Query()["protocol"]
	if !ok || len(v) == 0 || v[0] == "" {
		return protocol.CodeNoVersion, protocol.CodeText[protocol.CodeNoVersion]
	}
	n, err := strconv.Atoi(v[0])
	if err != nil {
		return protocol.CodeInvalidVersion, fmt.Sprintf("Invalid version string format: %q", v[0])
	}
	if n != protocol.ProtocolVersion {
		return protocol.CodeUnsupportedVersion, fmt.Sprintf("Unsupported protocol version %d: this server speaks %d", n, protocol.ProtocolVersion)
	}
	return 0, ""
}

// refuse sends pusher:error and closes with the same code, for connections never admitted.
func refuse(ws *websocket.Conn, code int, msg string) {
	deadline := time.Now().Add(closeGrace)
	_ = ws.SetWriteDeadline(deadline)
	_ = ws.WriteMessage(websocket.TextMessage, protocol.EncodeError(code, msg, ""))
	_ = ws.WriteControl(websocket.CloseMessage, closeFrame(code, msg), deadline)
	_ = ws.Close()
}

// cacheSweep is how often the cache events that expired are forgotten.
const cacheSweep = time.Second

// sweep pings connections that have been silent for their activity timeout and closes with
// 4201 those that stay silent for the pong timeout after the ping. One goroutine for all
// connections, instead of a timer each. It forgets expired cache events too.
func (s *Server) sweep() {
	interval := min(s.cfg.ActivityTimeout, s.cfg.PongTimeout) / 4
	interval = max(interval, 50*time.Millisecond)
	for _, a := range s.byID {
		if a.ActivityTimeout > 0 {
			interval = min(interval, max(time.Duration(a.ActivityTimeout)/4, 50*time.Millisecond))
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	cache := time.NewTicker(cacheSweep)
	defer cache.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-cache.C:
			for _, a := range s.byID {
				a.dropExpired(s.cfg.Now())
			}
		case now := <-t.C:
			for _, a := range s.byID {
				idle := a.activityTimeout(s.cfg)
				for _, c := range a.allConns() {
					c.checkLiveness(now, idle, s.cfg.PongTimeout)
				}
			}
		}
	}
}

func (c *conn) checkLiveness(now time.Time, idle, pongWait time.Duration) {
	sent := c.pingSent.Load()
	if sent == 0 {
		// CompareAndSwap: a frame arriving meanwhile (touch clears pingSent) wins.
		if now.Sub(time.Unix(0, c.lastSeen.Load())) >= idle && c.pingSent.CompareAndSwap(0, now.UnixNano()) {
			c.enqueue(pingFrame)
		}
		return
	}
	// Anything received since the ping is an answer, even if touch has not cleared pingSent yet.
	if now.Sub(time.Unix(0, sent)) >= pongWait && c.lastSeen.Load() < sent && !c.srv.cfg.Faults.NoIdleClose {
		c.kill(protocol.CodePongNotReceived, protocol.CodeText[protocol.CodePongNotReceived])
	}
}
