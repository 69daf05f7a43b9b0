package refserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Webhook is one URL an app's webhooks are posted to. EventTypes, when given, names the events
// it is sent (channel_occupied, member_added, ...); empty is all of them.
type Webhook struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types,omitempty"`
}

// Webhook timing defaults: Pusher's where it documents one.
const (
	DefaultWebhookBatch      = 50 * time.Millisecond // events collected into one request
	DefaultWebhookDebounce   = 3 * time.Second       // channel_vacated and member_removed held back
	DefaultWebhookRetryFor   = 5 * time.Minute       // a batch is retried this long after its first attempt
	DefaultWebhookRetryFirst = time.Second           // the first retry's wait; each next one doubles
	DefaultWebhookTimeout    = 5 * time.Second       // one request, answer included
	DefaultWebhookQueue      = 10000                 // events waiting per URL before new ones are dropped
	webhookRetryMax          = time.Minute           // the longest wait between two attempts
	webhookBatchMax          = 100                   // events in one request at most
	webhookCloseGrace        = 5 * time.Second       // Shutdown's bound on sending what is queued
)

// Delivery contract of webhooks (one app, one URL):
//   - Events are posted in the order their causes happened, in batches of up to 100 events
//     collected for WebhookBatch; one request at a time per URL, so order holds across batches.
//   - A batch is delivered at least once: a non-2xx answer or no answer within WebhookTimeout is
//     retried, with the same body, after WebhookRetryFirst, then twice as long each time (at most
//     a minute), until WebhookRetryFor has passed since its first attempt. Then it is dropped.
//     Later batches wait behind it.
//   - At most WebhookQueue events wait per URL; what comes beyond is dropped. Every drop is
//     counted (pushcert_webhook_events_dropped_total, by reason) and logged, never silent.
//   - channel_vacated and member_removed are held for WebhookDebounce. A channel_occupied of the
//     same channel (a member_added of the same user and channel) within it cancels both: a tab
//     that reconnects at once produces no webhook at all. Occupancy and membership are per
//     channel and per user, never per connection.
//   - On Shutdown, held events are sent at once (no process can keep a debounce across its
//     restart), then what is queued gets webhookCloseGrace; what is left is dropped and logged.
//
// In a cluster, each webhook must be sent once: by the node that makes the cluster-wide
// transition (the first subscriber anywhere, the last to leave). The calls into hooks sit
// exactly at the transitions of the owner of occupancy and membership, so a shared registry
// that tells one node of each transition needs nothing else here.

// hookTiming is the webhook part of a Config, with defaults applied.
type hookTiming struct {
	batch, debounce, retryFor, retryFirst, timeout time.Duration
	queue                                          int
}

// hooks is one app's webhook pipeline: events in, debounced, batched, signed, and handed to a
// sender per URL. nil for an app without webhooks, so an event costs one branch there.
type hooks struct {
	key, secret string
	timing      hookTiming
	log         *slog.Logger
	m           *metrics
	faults      Faults
	senders     []*hookSender

	// owed, in a cluster, says whether a held event is still to be sent when its debounce
	// ends: no node saw the channel occupied again or the user return meanwhile.
	owed func(protocol.WebhookEvent) bool

	mu      sync.Mutex
	batch   []protocol.WebhookEvent
	window  *time.Timer // ends the open batch window; nil when no batch is open
	held    map[heldKey]*heldEvent
	closed  bool
	crashed bool // the server crashed (Crash): nothing more is sent
}

// heldKey names a debounced event: its name, channel and user.
type heldKey struct{ name, channel, user string }

type heldEvent struct {
	ev    protocol.WebhookEvent
	timer *time.Timer
}

// newHooks starts the senders of an app's webhooks to urls (the app's own, but for a fault).
func newHooks(a App, urls []Webhook, t hookTiming, client *http.Client, log *slog.Logger, m *metrics, f Faults) *hooks {
	if len(urls) == 0 {
		return nil
	}
	h := &hooks{key: a.Key, secret: a.Secret, timing: t, log: log.With("app", a.ID), m: m, faults: f, held: map[heldKey]*heldEvent{}}
	for _, w := range urls {
		s := &hookSender{Webhook: w, h: h, client: client, wake: make(chan struct{}, 1), done: make(chan struct{}), stopping: make(chan struct{})}
		h.senders = append(h.senders, s)
		go s.run()
	}
	return h
}

// pairOf is the held event an event cancels: channel_occupied cancels the channel's held
// channel_vacated, member_added the user's held member_removed.
func pairOf(ev protocol.WebhookEvent) (heldKey, bool) {
	switch ev.Name {
	case protocol.HookChannelOccupied:
		return heldKey{protocol.HookChannelVacated, ev.Channel, ""}, true
	case protocol.HookMemberAdded:
		return heldKey{protocol.HookMemberRemoved, ev.Channel, ev.UserID}, true
	}
	return heldKey{}, false
}

// emit takes one event of the app's state: it is held (vacated, member_removed), cancels a held
// one, or joins the batch.
func (h *hooks) emit(ev protocol.WebhookEvent) {
	if h == nil || ev.Name == h.faults.DropWebhook {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.crashed {
		return
	}
	held := ev.Name == protocol.HookChannelVacated || ev.Name == protocol.HookMemberRemoved
	if held && h.timing.debounce > 0 && !h.closed && !h.faults.NoWebhookDebounce {
		k := heldKey{ev.Name, ev.Channel, ev.UserID}
		e := &heldEvent{ev: ev}
		e.timer = time.AfterFunc(h.timing.debounce, func() { h.release(k, e) })
		h.held[k] = e
		return
	}
	if k, ok := pairOf(ev); ok {
		if e := h.held[k]; e != nil {
			delete(h.held, k)
			if e.timer.Stop() {
				return // the pair cancels out: nothing changed for the app
			}
			h.addLocked(e.ev) // its timer fired already: it goes first, in order
		}
	}
	h.addLocked(ev)
}

// owedBy makes the cluster's registry the judge of held events.
func (h *hooks) owedBy(app string, reg Registry) {
	if h != nil {
		h.owed = func(ev protocol.WebhookEvent) bool { return reg.Owed(app, ev) }
	}
}

// release sends a held event whose debounce passed, unless it was cancelled meanwhile (here,
// or in a cluster on any node).
// The registry is asked under h.mu, so that an event emitted meanwhile (a channel_occupied)
// cannot be batched before the vacated it follows.
func (h *hooks) release(k heldKey, e *heldEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held[k] != e {
		return
	}
	delete(h.held, k)
	if h.owed != nil && !h.owed(e.ev) {
		return
	}
	h.addLocked(e.ev)
}

// emitNow sends an event without holding it: a dead node's channels and members, reaped long
// after the node went silent.
func (h *hooks) emitNow(ev protocol.WebhookEvent) {
	if h == nil || ev.Name == h.faults.DropWebhook {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.addLocked(ev)
}

// addLocked puts an event in the open batch, opening one if none is. A channel's
// subscription_count replaces the one it has in the open batch: the app learns the count once
// per batch, not every step of a crowd joining.
func (h *hooks) addLocked(ev protocol.WebhookEvent) {
	if ev.Name == protocol.HookSubscriptionCount {
		if i := slices.IndexFunc(h.batch, func(e protocol.WebhookEvent) bool { return e.Name == ev.Name && e.Channel == ev.Channel }); i >= 0 {
			h.batch[i] = ev
			return
		}
	}
	h.batch = append(h.batch, ev)
	switch {
	case len(h.batch) >= webhookBatchMax || h.timing.batch <= 0 || h.closed:
		h.flushLocked()
	case h.window == nil:
		h.window = time.AfterFunc(h.timing.batch, h.flush)
	}
}

func (h *hooks) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushLocked()
}

// flushLocked closes the batch: for each URL, the events it takes, in one signed body.
func (h *hooks) flushLocked() {
	if h.window != nil {
		h.window.Stop()
		h.window = nil
	}
	if len(h.batch) == 0 {
		return
	}
	now := time.Now().UnixMilli()
	if h.faults.WebhookTimeSeconds {
		now /= 1000
	}
	for _, s := range h.senders {
		evs := h.batch
		if len(s.EventTypes) > 0 {
			evs = slices.DeleteFunc(slices.Clone(evs), func(e protocol.WebhookEvent) bool { return !slices.Contains(s.EventTypes, e.Name) })
		}
		if len(evs) > 0 {
			s.put(hookBatch{body: protocol.EncodeWebhook(now, evs), events: len(evs)})
		}
	}
	h.batch = nil
}

// close sends the held events and the open batch now, and gives the senders until ctx ends (at
// most webhookCloseGrace) to deliver what is queued; what is left is dropped and logged.
func (h *hooks) close(ctx context.Context) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed = true
	for k, e := range h.held {
		// In a cluster, a held event another node cancelled (its mark taken by a return there)
		// is not owed: sent now, it would be the app's last word on a channel that is occupied.
		if e.timer.Stop() && (h.owed == nil || h.owed(e.ev)) {
			h.batch = append(h.batch, e.ev)
		}
		delete(h.held, k)
	}
	h.flushLocked()
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, webhookCloseGrace)
	defer cancel()
	for _, s := range h.senders {
		s.stop(ctx)
	}
}

// drop ends the pipeline as a crash ends it: what is held or queued is lost, nothing more is
// sent.
func (h *hooks) drop() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed, h.crashed = true, true
	for k, e := range h.held {
		e.timer.Stop()
		delete(h.held, k)
	}
	h.batch = nil
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range h.senders {
		s.stop(ctx)
	}
}

// hookBatch is one request body and how many events it carries.
type hookBatch struct {
	body   []byte
	events int
}

// hookSender posts the batches of one URL, one request at a time, retrying each until it is
// acknowledged or its retry time is up. It owns its queue.
type hookSender struct {
	Webhook
	h      *hooks
	client *http.Client

	mu       sync.Mutex
	queue    []hookBatch
	queued   int             // events in queue
	end      context.Context // set by stop: the deadline of the last deliveries
	stopped  bool            // run has returned: nothing more is sent
	stopping chan struct{}   // closed by stop: a retry wait ends
	wake     chan struct{}
	done     chan struct{}
}

func (s *hookSender) put(b hookBatch) {
	s.mu.Lock()
	if s.stopped || s.queued+b.events > s.h.timing.queue {
		reason := dropQueueFull
		if s.stopped {
			reason = dropShutdown
		}
		s.mu.Unlock()
		s.h.dropped(reason, s.URL, b.events)
		return
	}
	s.queue = append(s.queue, b)
	s.queued += b.events
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop lets the sender deliver its queue until ctx ends, then returns when it has stopped.
func (s *hookSender) stop(ctx context.Context) {
	s.mu.Lock()
	s.end = ctx
	s.mu.Unlock()
	close(s.stopping)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
}

// next takes the queue's head; ok is false when the sender is to stop.
func (s *hookSender) next() (b hookBatch, end context.Context, ok bool) {
	for {
		s.mu.Lock()
		end = s.end
		if len(s.queue) > 0 && (end == nil || end.Err() == nil) {
			b = s.queue[0]
			s.queue = s.queue[1:]
			s.queued -= b.events
			s.mu.Unlock()
			return b, end, true
		}
		if end != nil {
			left := s.queued
			s.queue, s.queued, s.stopped = nil, 0, true
			s.mu.Unlock()
			if left > 0 {
				s.h.dropped(dropShutdown, s.URL, left)
			}
			return hookBatch{}, nil, false
		}
		s.mu.Unlock()
		<-s.wake
	}
}

func (s *hookSender) run() {
	defer close(s.done)
	for {
		b, end, ok := s.next()
		if !ok {
			return
		}
		s.deliver(b, end)
	}
}

// deliver posts one batch until it is acknowledged, its retry time is up, or end (the shutdown's
// deadline, nil while running) is over.
func (s *hookSender) deliver(b hookBatch, end context.Context) {
	t := s.h.timing
	first := time.Now()
	wait := t.retryFirst
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			s.h.m.webhooksRetried.Inc()
		}
		err := s.post(b.body, end)
		if err == nil {
			s.h.m.webhooksSent.Inc()
			return
		}
		s.h.m.webhooksFailed.Inc()
		s.h.log.Warn("webhook not acknowledged", "url", s.URL, "attempt", attempt, "events", b.events, "err", err)
		if s.h.faults.NoWebhookRetry {
			return // the fault: gone, and nothing says so
		}
		if time.Since(first)+wait > t.retryFor {
			s.h.dropped(dropExpired, s.URL, b.events)
			return
		}
		if end != nil {
			if !sleepUntil(time.Now().Add(wait), end.Done()) {
				s.h.dropped(dropShutdown, s.URL, b.events)
				return
			}
		} else if !sleepUntil(time.Now().Add(wait), s.stopping) {
			end = s.endCtx() // stopping: one more attempt now, within the shutdown's grace
			continue
		}
		wait = min(wait*2, webhookRetryMax)
	}
}

func (s *hookSender) endCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.end
}

func sleepUntil(at time.Time, cancel <-chan struct{}) bool {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-cancel:
		return false
	}
}

// post sends one request; an error is a non-2xx answer or no answer in time.
func (s *hookSender) post(body []byte, end context.Context) error {
	ctx := context.Background()
	if end != nil {
		ctx = end
	}
	ctx, cancel := context.WithTimeout(ctx, s.h.timing.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Pusher-Key", s.h.key)
	if !s.h.faults.UnsignedWebhooks {
		req.Header.Set("X-Pusher-Signature", protocol.WebhookSignature(s.h.secret, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// Why webhook events are dropped: the label of pushcert_webhook_events_dropped_total.
const (
	dropQueueFull = "queue_full"    // WebhookQueue events were waiting already
	dropExpired   = "retry_expired" // not acknowledged within WebhookRetryFor
	dropShutdown  = "shutdown"      // the server stopped before they were acknowledged
)

// dropped counts and logs events that will never be sent.
func (h *hooks) dropped(reason, url string, events int) {
	h.m.webhookDrops.WithLabelValues(reason).Add(float64(events))
	h.log.Error("webhook events dropped", "url", url, "events", events, "reason", reason,
		"retry_for", h.timing.retryFor, "queue", h.timing.queue)
}

// validWebhook checks one app's webhook: an absolute http(s) URL and known event names.
func validWebhook(w Webhook) error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url %q: want an absolute http:// or https:// URL", w.URL)
	}
	for _, t := range w.EventTypes {
		if !slices.Contains(protocol.HookNames, t) {
			return fmt.Errorf("webhook %s: unknown event type %q (known: %v)", w.URL, t, protocol.HookNames)
		}
	}
	return nil
}
