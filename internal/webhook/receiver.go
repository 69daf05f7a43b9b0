// Package webhook is the receiving end of webhooks: a loopback HTTP receiver that records every
// request a server posts (headers, body, what it was answered), and the checks an application
// makes of one (key, signature, body).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// MaxBody is the largest body the receiver reads; a longer one is answered 413.
const MaxBody = 1 << 20

// PathPrefix starts the path of each app's URL: /hooks/{app_id}.
const PathPrefix = "/hooks/"

// Request is one webhook request as it came and as it was answered.
type Request struct {
	At          time.Time
	Path        string
	AppID       string // from the path /hooks/{app_id}; "" for another path
	Key         string // X-Pusher-Key
	Signature   string // X-Pusher-Signature
	ContentType string
	Body        []byte
	Hook        protocol.Webhook // the parsed body, when ParseErr is nil
	ParseErr    error
	Status      int    // what the receiver answered
	AppStatus   int    // what the application's endpoint answered (see Handle); 0 without one
	AppAnswer   string // the start of its answer's body
}

// Acknowledged reports whether the receiver answered 2xx: only then has the server delivered it.
func (r Request) Acknowledged() bool { return r.Status >= 200 && r.Status < 300 }

// Verify checks a request as an application must: the key is the app's and the signature is the
// HMAC-SHA256 of the body with the app's secret.
func (r Request) Verify(key, secret string) error {
	switch {
	case r.Key != key:
		return fmt.Errorf("X-Pusher-Key is %q, want the app key %q", r.Key, key)
	case r.Signature == "":
		return errors.New("no X-Pusher-Signature header")
	case !protocol.VerifyWebhook(secret, r.Body, r.Signature):
		return fmt.Errorf("X-Pusher-Signature %q is not the HMAC-SHA256 of the body with the app secret (want %s)",
			r.Signature, protocol.WebhookSignature(secret, r.Body))
	}
	return nil
}

// Receiver is a webhook receiver on a loopback address. Every request is recorded and answered
// 200, unless a failure was asked for or an app's handler answers it.
type Receiver struct {
	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	reqs     []Request
	fails    []failure
	handlers map[string]http.Handler // app id → the application's endpoint
	changed  chan struct{}           // closed and replaced at each request
}

type failure struct {
	match  func(Request) bool
	status int
}

// Listen starts a receiver on addr (host:port; port 0 picks a free one).
func Listen(addr string) (*Receiver, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &Receiver{ln: ln, changed: make(chan struct{}), handlers: map[string]http.Handler{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// Addr is the receiver's host:port.
func (r *Receiver) Addr() string { return r.ln.Addr().String() }

// URL is the webhook URL to give a server for an app: http://ADDR/hooks/APP_ID.
func (r *Receiver) URL(appID string) string { return "http://" + r.Addr() + PathPrefix + appID }

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }

// FailNext answers status, once, to the first request that match accepts.
func (r *Receiver) FailNext(match func(Request) bool, status int) {
	r.mu.Lock()
	r.fails = append(r.fails, failure{match, status})
	r.mu.Unlock()
}

// Handle passes each request to /hooks/{appID} on to h too, an application's webhook endpoint,
// and records what h answered as AppStatus. The server is answered by the receiver all the same:
// the suite's cases judge the server's requests, not the application's verdict on them. A
// request failed with FailNext does not reach h.
func (r *Receiver) Handle(appID string, h http.Handler) {
	r.mu.Lock()
	r.handlers[appID] = h
	r.mu.Unlock()
}

// ServeHTTP records one request.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "webhooks are POST requests", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxBody+1))
	rec := Request{At: time.Now(), Path: req.URL.Path, Key: req.Header.Get("X-Pusher-Key"),
		Signature: req.Header.Get("X-Pusher-Signature"), ContentType: req.Header.Get("Content-Type"), Body: body}
	if id, ok := strings.CutPrefix(req.URL.Path, PathPrefix); ok {
		rec.AppID = id
	}
	switch {
	case err != nil:
		rec.Status, rec.ParseErr = http.StatusBadRequest, fmt.Errorf("reading the body: %w", err)
	case len(body) > MaxBody:
		rec.Status, rec.ParseErr = http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", MaxBody)
	default:
		rec.Hook, rec.ParseErr = protocol.ParseWebhook(body)
		rec.Status = http.StatusOK
	}
	if app := r.failOrHandler(&rec); app != nil && rec.Status == http.StatusOK {
		// the application sees the request as it came, before it is recorded, so a waiter that
		// sees the request finds the application's state already changed
		req.Body = io.NopCloser(bytes.NewReader(body))
		aw := &appWriter{header: http.Header{}}
		app.ServeHTTP(aw, req)
		rec.AppStatus, rec.AppAnswer = aw.Status(), string(aw.body)
	}
	r.record(rec)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Status)
	_, _ = w.Write([]byte("{}"))
}

func (r *Receiver) record(rec Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// failOrHandler takes the first failure asked for that matches rec, setting its status, or
// returns the application's handler for rec's app.
func (r *Receiver) failOrHandler(rec *Request) http.Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.fails {
		if f.match(*rec) {
			rec.Status = f.status
			r.fails = append(r.fails[:i], r.fails[i+1:]...)
			return nil
		}
	}
	return r.handlers[rec.AppID]
}

// appWriter keeps the status an application's handler answered and the start of its body.
type appWriter struct {
	header http.Header
	status int
	body   []byte
}

// appAnswerMax bounds how much of an application's answer is kept.
const appAnswerMax = 200

func (a *appWriter) Header() http.Header { return a.header }

func (a *appWriter) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	a.body = append(a.body, b[:min(len(b), appAnswerMax-len(a.body))]...)
	return len(b), nil
}

func (a *appWriter) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// Status is what the handler answered (200 when it wrote nothing).
func (a *appWriter) Status() int {
	if a.status == 0 {
		return http.StatusOK
	}
	return a.status
}

// Requests returns the requests so far, oldest first.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Wait calls done with the requests so far, again after each new one, until it returns true
// (Wait returns true) or ctx ends (false).
func (r *Receiver) Wait(ctx context.Context, done func([]Request) bool) bool {
	for {
		r.mu.Lock()
		reqs, changed := append([]Request(nil), r.reqs...), r.changed
		r.mu.Unlock()
		if done(reqs) {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// Event is one event of an acknowledged request, with the request it came in.
type Event struct {
	protocol.WebhookEvent
	Request *Request
}

// Events are the events of the acknowledged requests among reqs that match accepts, in order.
func Events(reqs []Request, match func(protocol.WebhookEvent) bool) []Event {
	var out []Event
	for i := range reqs {
		if !reqs[i].Acknowledged() || reqs[i].ParseErr != nil {
			continue
		}
		for _, ev := range reqs[i].Hook.Events {
			if match(ev) {
				out = append(out, Event{ev, &reqs[i]})
			}
		}
	}
	return out
}
