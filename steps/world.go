// Package steps holds the step definitions of the conformance suite and the runner that plays
// the features against a target. Each scenario gets a World in its context: fresh channel names
// and user ids, its own connections and wire log, so scenarios run concurrently.
package steps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/ticketing"
	"github.com/pushcert/pushcert/refserver"
)

// World is the state of one scenario.
type World struct {
	Target *target.Target
	opts   *Options
	suffix string
	Log    *client.WireLog
	API    *client.API

	result  *Result
	started time.Time
	app     *ticketing.App
	rec     records

	mu          sync.Mutex
	conns       map[string]*client.Conn
	last        map[string]client.Frame // the last frame each client received through an expectation
	oldSocket   map[string]string       // socket ids before a reconnect
	watchCursor map[string]time.Time    // per client, the time of the last watchlist frame matched
	focus       string                  // the client the last step spoke of, for "its ..." steps
	resp        *client.Response        // the last HTTP API answer
	stops       []func()
	server      func() // stops the scenario's own server, when it has one
	serverCfg   refserver.Config
	serverApp   refserver.App
	limits      appLimits // of the app an "an app with ..." step chose
	release     func()    // gives back the runner's gate, when it took one
	skipped     string    // why a step skipped the case (godog does not tell the After hook)
}

type worldKey struct{}

func withWorld(ctx context.Context, w *World) context.Context {
	return context.WithValue(ctx, worldKey{}, w)
}

func world(ctx context.Context) *World {
	w, _ := ctx.Value(worldKey{}).(*World)
	if w == nil {
		panic("steps: no World in context")
	}
	return w
}

func newWorld(t *target.Target, opts *Options, a *ticketing.App) *World {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	log := &client.WireLog{}
	return &World{
		Target: t, opts: opts, suffix: hex.EncodeToString(b), Log: log,
		API: t.API(log),
		app: a,
		rec: records{customers: map[string]ticketing.Customer{}, tokens: map[string]ticketing.Token{}, events: map[string]ticketing.Event{},
			orders: map[string]ticketing.Order{}, chats: map[string]ticketing.Conversation{}, tenants: map[string]int{}, authCode: map[string]int{}},
		conns: map[string]*client.Conn{}, last: map[string]client.Frame{}, oldSocket: map[string]string{}, watchCursor: map[string]time.Time{}, started: time.Now(),
	}
}

// close ends every connection of the scenario.
func (w *World) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.conns {
		_ = c.Close()
	}
	for _, stop := range w.stops {
		stop()
	}
}

// Channel maps a channel name of a feature to this scenario's own: "private-orders" becomes
// "private-orders-1a2b3c4d", so that concurrent scenarios never share a channel.
func (w *World) Channel(name string) string { return name + "-" + w.suffix }

// User maps a user id of a feature to this scenario's own.
func (w *World) User(id string) string { return id + "-" + w.suffix }

// wait scales a duration of a feature ("within 2s") by the timeout factor.
func (w *World) wait(d time.Duration) time.Duration {
	return time.Duration(float64(d) * w.opts.TimeoutFactor)
}

func (w *World) conn(name string) (*client.Conn, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.conns[name]
	if c == nil {
		return nil, fmt.Errorf("no client %q in this scenario", name)
	}
	w.focus = name
	return c, nil
}

func (w *World) setConn(name string, c *client.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old := w.conns[name]; old != nil {
		_ = old.Close()
	}
	w.conns[name] = c
	w.focus = name
}

func (w *World) remember(name string, f client.Frame) {
	w.mu.Lock()
	w.last[name] = f
	w.focus = name
	w.mu.Unlock()
}

func (w *World) lastFrame() (client.Frame, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.last[w.focus]
	if !ok {
		return f, w.focus, fmt.Errorf("no frame received yet by %q", w.focus)
	}
	return f, w.focus, nil
}

// appURL is the WebSocket URL of the target's app with protocol 7.
func (w *World) appURL() string {
	return w.Target.AppURL(w.Target.Key, "?protocol=7&client=pushcert&version=1")
}

// expand replaces placeholders in a frame or body of a feature: {channel:NAME} and {user:ID}
// with the scenario's names, {socket_id:CLIENT} with a client's socket id.
func (w *World) expand(s string) (string, error) {
	var errs []error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		kind, arg, _ := strings.Cut(m[1:len(m)-1], ":")
		switch kind {
		case "channel":
			return w.Channel(arg)
		case "user":
			return w.User(arg)
		case "socket_id":
			c, err := w.conn(arg)
			if err != nil {
				errs = append(errs, err)
				return m
			}
			return c.SocketID
		}
		errs = append(errs, fmt.Errorf("unknown placeholder %s", m))
		return m
	})
	return out, errors.Join(errs...)
}

// note records an observation of the case: what an INFO case saw, or a fact behind a pass
// that a reader should know (a connection the server closed while a step watched it).
func (w *World) note(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.result.Notes = append(w.result.Notes, fmt.Sprintf(format, args...))
}

// Mismatch is a failed expectation: what the spec wants and what the server did.
type Mismatch struct {
	Expected string
	Actual   string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("expected: %s\n  actual: %s", m.Expected, m.Actual)
}

func mismatch(expected string, actualFormat string, args ...any) error {
	return &Mismatch{Expected: expected, Actual: fmt.Sprintf(actualFormat, args...)}
}

// describePending lists what a client received but no step took, for "actual" texts.
func describePending(c *client.Conn) string {
	p := c.Pending()
	if len(p) == 0 {
		return "nothing"
	}
	var s []string
	for _, f := range p {
		s = append(s, f.Raw)
	}
	return strings.Join(s, "\n          ")
}

var placeholder = regexp.MustCompile(`\{(channel|user|socket_id):[^}]+\}`)
