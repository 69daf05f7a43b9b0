// Package client is a Pusher protocol client for tests and tools: it dials a server, keeps every
// frame it sent and received in a wire log, and lets callers wait for frames by predicate.
// Frames that no expectation has taken stay available, so expectations on one connection may
// come in any order.
package client

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Direction of a logged frame.
type Direction string

const (
	In  Direction = "<-"
	Out Direction = "->"
)

// Entry is one line of a wire log.
type Entry struct {
	At   time.Time `json:"at"`
	Conn string    `json:"conn"`
	Dir  Direction `json:"dir"`
	Text string    `json:"text"`
}

// What the client keeps of what a server sends: a server that sends too much fails its case, it
// does not exhaust the suite's memory or its reports.
const (
	MaxFrame      = 1 << 20  // a message over it ends the connection (1009)
	MaxPending    = 16 << 20 // bytes of frames received and not taken yet; over it, the connection ends
	maxEntryText  = 4 << 10  // of one wire log entry
	maxLogEntries = 2000     // of one wire log; later entries are counted, not kept
)

// WireLog records the frames of one or more connections, in order, up to maxLogEntries entries
// of maxEntryText each. It is safe for concurrent use.
type WireLog struct {
	mu      sync.Mutex
	entries []Entry
	dropped int // entries past maxLogEntries
}

// Add appends an entry.
func (l *WireLog) Add(conn string, dir Direction, text string) {
	if l == nil {
		return
	}
	if len(text) > maxEntryText {
		text = fmt.Sprintf("%s... (%d bytes)", strings.ToValidUTF8(text[:maxEntryText], ""), len(text))
	}
	l.mu.Lock()
	if len(l.entries) < maxLogEntries {
		l.entries = append(l.entries, Entry{At: time.Now(), Conn: conn, Dir: dir, Text: text})
	} else {
		l.dropped++
	}
	l.mu.Unlock()
}

// Entries returns a copy of the log.
func (l *WireLog) Entries() []Entry {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// String renders the log one entry per line, times relative to the first entry.
func (l *WireLog) String() string {
	es := l.Entries()
	if len(es) == 0 {
		return "(no frames)"
	}
	var b strings.Builder
	t0 := es[0].At
	for _, e := range es {
		fmt.Fprintf(&b, "%8.3fs %-10s %s %s\n", e.At.Sub(t0).Seconds(), e.Conn, e.Dir, e.Text)
	}
	l.mu.Lock()
	if l.dropped > 0 {
		fmt.Fprintf(&b, "(%d more frames, not kept)\n", l.dropped)
	}
	l.mu.Unlock()
	return b.String()
}

// Frame is one received frame.
type Frame struct {
	At  time.Time
	Raw string
	Msg protocol.Message
	Err error // the frame was not a protocol message
}

// Options configure Dial.
type Options struct {
	Name   string   // how the connection appears in the wire log
	Log    *WireLog // nil keeps no log
	Header http.Header
	// LocalAddr binds the client socket, e.g. to 127.0.0.2, to spread connections over sources.
	LocalAddr *net.TCPAddr
	// TLS verifies a wss:// server; nil is the system's roots.
	TLS *tls.Config
}

// Conn is one client connection.
type Conn struct {
	ws      *websocket.Conn
	name    string
	log     *WireLog
	writeMu sync.Mutex

	mu        sync.Mutex
	pending   []Frame       // received and not yet taken by an expectation
	held      int           // their bytes, bounded by MaxPending
	notify    chan struct{} // closed and replaced whenever pending grows or the connection ends
	closed    bool
	local     bool // the suite closed the connection itself
	closeCode int
	closeText string
	readErr   error

	SocketID        string
	ActivityTimeout time.Duration
}

// ErrClosed is returned when the connection ended while waiting.
var ErrClosed = errors.New("connection closed")

// What the client ends a connection for: a server that sends too much.
var (
	ErrOversized = fmt.Errorf("the server sent a message over %d bytes: the suite ended the connection (1009)", MaxFrame)
	ErrFlooded   = fmt.Errorf("the server sent over %d bytes that no step asked for: the suite ended the connection", MaxPending)
)

// CloseError tells that the server closed the connection, with its code.
type CloseError struct {
	Code int
	Text string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("closed by server with code %d %q", e.Code, e.Text)
}

// DialRaw opens a WebSocket to url and starts reading, without waiting for the handshake.
func DialRaw(ctx context.Context, url string, opts Options) (*Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 2048,
		TLSClientConfig: opts.TLS, Proxy: http.ProxyFromEnvironment}
	if opts.LocalAddr != nil {
		d.NetDialContext = (&net.Dialer{LocalAddr: opts.LocalAddr}).DialContext
	}
	ws, resp, err := d.DialContext(ctx, url, opts.Header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	name := opts.Name
	if name == "" {
		name = "client"
	}
	ws.SetReadLimit(MaxFrame)
	c := &Conn{ws: ws, name: name, log: opts.Log, notify: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

// Dial opens a connection and waits for pusher:connection_established. A pusher:error or a close
// instead is returned as an error (a *CloseError when the server closed).
func Dial(ctx context.Context, url string, opts Options) (*Conn, error) {
	c, err := DialRaw(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	f, err := c.Expect(ctx, func(f Frame) bool {
		return f.Msg.Event == protocol.EventConnectionEstablished || f.Msg.Event == protocol.EventError
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if f.Msg.Event == protocol.EventError {
		err := fmt.Errorf("handshake: pusher:error %s", f.Raw)
		if cerr := c.WaitClosed(ctx); cerr != nil {
			err = fmt.Errorf("%w; then %w", err, cerr)
		}
		c.Close()
		return nil, err
	}
	var est protocol.ConnectionEstablished
	if err := f.Msg.DecodeData(&est); err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: connection_established data: %w", err)
	}
	c.SocketID = est.SocketID
	c.ActivityTimeout = time.Duration(est.ActivityTimeout) * time.Second
	return c, nil
}

// Name is the connection's name in the wire log.
func (c *Conn) Name() string { return c.name }

func (c *Conn) readLoop() {
	for {
		_, data, err := c.ws.ReadMessage()
		if errors.Is(err, websocket.ErrReadLimit) {
			err = ErrOversized
		}
		if err != nil {
			c.mu.Lock()
			c.closed = true
			c.readErr = err
			c.local = c.local || errors.Is(err, ErrOversized) // the suite ended it: no refusal by the server
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode, c.closeText = ce.Code, ce.Text
				c.log.Add(c.name, In, fmt.Sprintf("close %d %q", ce.Code, ce.Text))
			} else {
				c.log.Add(c.name, In, "connection ended: "+err.Error())
			}
			close(c.notify)
			c.mu.Unlock()
			return
		}
		f := Frame{At: time.Now(), Raw: string(data)}
		f.Msg, f.Err = protocol.DecodeMessage(data)
		c.log.Add(c.name, In, f.Raw)
		c.mu.Lock()
		c.pending = append(c.pending, f)
		c.held += len(f.Raw)
		flooded := c.held > MaxPending
		if flooded {
			c.closed, c.local, c.readErr, c.pending, c.held = true, true, ErrFlooded, nil, 0
			c.log.Add(c.name, In, "connection ended: "+ErrFlooded.Error())
		}
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
		if flooded {
			c.ws.Close()
			return
		}
	}
}

// Send writes v as a JSON text frame; a string or []byte is sent as is.
func (c *Conn) Send(v any) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, b)
}

// encode is a frame's or a request body's bytes: a string or []byte as is, nil as nothing,
// anything else as JSON.
func encode(v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	default:
		return json.Marshal(v)
	}
}

// SendBinary writes a binary frame, which the protocol does not allow.
func (c *Conn) SendBinary(b []byte) error { return c.write(websocket.BinaryMessage, b) }

func (c *Conn) write(mt int, b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	text := string(b)
	if mt == websocket.BinaryMessage {
		text = fmt.Sprintf("(binary %d bytes)", len(b))
	}
	if len(text) > 2000 {
		text = text[:2000] + fmt.Sprintf("... (%d bytes)", len(b))
	}
	c.log.Add(c.name, Out, text)
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(mt, b)
}

// Subscribe sends pusher:subscribe; auth and channelData are left out when empty.
func (c *Conn) Subscribe(channel, auth, channelData string) error {
	d := map[string]string{"channel": channel}
	if auth != "" {
		d["auth"] = auth
	}
	if channelData != "" {
		d["channel_data"] = channelData
	}
	return c.Send(map[string]any{"event": protocol.EventSubscribe, "data": d})
}

// Unsubscribe sends pusher:unsubscribe.
func (c *Conn) Unsubscribe(channel string) error {
	return c.Send(map[string]any{"event": protocol.EventUnsubscribe, "data": map[string]string{"channel": channel}})
}

// Trigger sends a client event.
func (c *Conn) Trigger(channel, event string, data any) error {
	return c.Send(map[string]any{"event": event, "channel": channel, "data": data})
}

// Expect waits for the first pending frame that matches and takes it. Frames that do not match
// stay pending. It fails when ctx ends or the connection closes first.
func (c *Conn) Expect(ctx context.Context, match func(Frame) bool) (Frame, error) {
	for {
		c.mu.Lock()
		for i, f := range c.pending {
			if match(f) {
				c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
				c.held -= len(f.Raw)
				c.mu.Unlock()
				return f, nil
			}
		}
		if c.closed {
			err := c.closeErrLocked()
			c.mu.Unlock()
			return Frame{}, err
		}
		wake := c.notify
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// ExpectEvent waits for an event, on channel when channel is not empty.
func (c *Conn) ExpectEvent(ctx context.Context, event, channel string) (Frame, error) {
	return c.Expect(ctx, func(f Frame) bool {
		return f.Msg.Event == event && (channel == "" || f.Msg.Channel == channel)
	})
}

// Refute waits for d and fails with the frame if one matching arrives (or is pending). A
// connection the server ends first satisfies it: a closed socket can receive nothing more, and
// Closed tells the caller how it ended, for the evidence. One the suite closed itself proves
// nothing, and fails it.
func (c *Conn) Refute(ctx context.Context, d time.Duration, match func(Frame) bool) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	f, err := c.Expect(wctx, match)
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	switch {
	case err == nil:
		return fmt.Errorf("unexpected frame %s", f.Raw)
	case ctx.Err() != nil:
		return fmt.Errorf("could not watch for %v: %w", d, ctx.Err())
	case local:
		return errors.New("the suite closed this connection itself: nothing to watch")
	default: // the window passed, or the server ended the connection with nothing matching
		return nil
	}
}

// Pending returns the frames not taken yet.
func (c *Conn) Pending() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.pending...)
}

// Closed reports whether the connection has ended, with the close code (0 without a close frame).
func (c *Conn) Closed() (bool, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed, c.closeCode
}

// WaitClosed waits until the connection ends and returns a *CloseError with the server's code,
// or ErrClosed when it ended without a close frame; it returns ctx's error if it stays open.
func (c *Conn) WaitClosed(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.closed {
			err := c.closeErrLocked()
			c.mu.Unlock()
			return err
		}
		wake := c.notify
		c.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Conn) closeErrLocked() error {
	if c.closeCode != 0 {
		return &CloseError{Code: c.closeCode, Text: c.closeText}
	}
	return fmt.Errorf("%w: %w", ErrClosed, c.readErr)
}

// Close closes the socket without a close handshake, as a dropped network or a killed tab does.
func (c *Conn) Close() error {
	c.markLocal()
	return c.ws.Close()
}

func (c *Conn) markLocal() {
	c.mu.Lock()
	if !c.closed {
		c.local = true
	}
	c.mu.Unlock()
}

// CloseNormally sends a close frame (1000) and closes.
func (c *Conn) CloseNormally() error {
	c.markLocal()
	c.writeMu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	c.log.Add(c.name, Out, "close 1000")
	return c.ws.Close()
}
