package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/reports"
)

// Webhook latency metrics: from the subscribe request (occupied, member_added) or the close
// (vacated, member_removed) that caused the webhook to its arrival. The leaving ones include the
// server's debounce (the reference server's: 3 s).
const (
	MetricHookOccupied      = "webhook_occupied"
	MetricHookVacated       = "webhook_vacated"
	MetricHookMemberAdded   = "webhook_member_added"
	MetricHookMemberRemoved = "webhook_member_removed"
)

// MaxWebhookBody is the largest webhook body the counter reads; a longer one is answered 413.
const MaxWebhookBody = 1 << 20

// DefaultWebhookWait bounds how long after its clients closed a run waits for the last webhooks:
// the reference server's 3 s debounce, its batching, and a retry or two.
const DefaultWebhookWait = 15 * time.Second

// WebhookCounter is a load run's webhook receiver (load --webhook-listen): the server posts the
// app's webhooks to it, and it counts them against what the run's clients did. It keeps counts
// per channel and member, never the requests, so a long run costs it no more memory than its
// clients do. Requests are verified with the app's key and secret; one that fails is answered
// 401 and counted as refused. A request to /hooks/{id} of another app is answered 204 and
// counted apart; one that comes before the run began is answered 503, to come again.
type WebhookCounter struct {
	ln  net.Listener
	srv *http.Server

	mu                 sync.Mutex
	appID, key, secret string // set by begin; "" key: not begun
	rec                *Recorder
	channels           map[string]*hookSubject     // every channel a client of the run subscribed
	members            map[hookMember]*hookSubject // every user a client joined to a presence channel
	requests           int64
	refused            int64
	foreign            int64         // events about channels the run did not make
	otherApps          int64         // requests to another app's path
	changed            chan struct{} // closed and replaced at each request
}

type hookMember struct{ channel, user string }

// hookSubject is what the run did to a channel (its connections, for occupied and vacated) or to
// a member (its user's connections), and the webhooks that came about it.
type hookSubject struct {
	open     int       // the run's subscriptions open now
	joins    int64     // how often open went from 0 to 1
	gen      int64     // counts every join, so a refusal knows whether another came since
	joinedAt time.Time // the last subscribe request that made open 1
	leftAt   time.Time // the last close that made it 0
	in, out  int64     // occupied or member_added, vacated or member_removed received
	unsure   bool      // a subscription of it may or may not have been made: not judged
}

// ListenWebhooks starts a counter on addr (host:port; port 0 picks a free one). The server posts
// to any path of it, e.g. URL(app id).
func ListenWebhooks(addr string) (*WebhookCounter, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--webhook-listen: %w", err)
	}
	w := &WebhookCounter{ln: ln, channels: map[string]*hookSubject{}, members: map[hookMember]*hookSubject{}, changed: make(chan struct{})}
	w.srv = &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	go w.srv.Serve(ln)
	return w, nil
}

// URL is the webhook URL to give the server for an app.
func (w *WebhookCounter) URL(appID string) string {
	return "http://" + w.ln.Addr().String() + "/hooks/" + appID
}

// Close stops the counter.
func (w *WebhookCounter) Close() error { return w.srv.Close() }

// begin readies the counter for a run of the app with this id, key and secret.
func (w *WebhookCounter) begin(appID, key, secret string, rec *Recorder) {
	w.mu.Lock()
	w.appID, w.key, w.secret, w.rec = appID, key, secret, rec
	w.mu.Unlock()
}

// hookJoin is one subscription the counter was told of: which 0-to-1 steps it made (the
// subject's gen then; 0: none), so a refusal undoes only its own.
type hookJoin struct {
	ch             string
	chGen, userGen int64
}

// joined notes that a client of the run subscribes ch (as user, on a presence channel) with a
// request sent at.
func (w *WebhookCounter) joined(ch, user string, at time.Time) hookJoin {
	j := hookJoin{ch: ch}
	if w == nil {
		return j
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	j.chGen = join(subject(w.channels, ch), at)
	if user != "" && protocol.KindOf(ch) == protocol.Presence {
		j.userGen = join(subject(w.members, hookMember{ch, user}), at)
	}
	return j
}

// left notes that a client's connection holding the subscriptions chs ended at.
func (w *WebhookCounter) left(subs []hookJoin, user string, at time.Time) {
	if w == nil || len(subs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, j := range subs {
		leave(w.channels[j.ch], at)
		if user != "" {
			leave(w.members[hookMember{j.ch, user}], at)
		}
	}
}

// refusedJoin takes back a subscription the server refused: it caused nothing.
func (w *WebhookCounter) refusedJoin(j hookJoin, user string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	unjoin(w.channels[j.ch], j.chGen)
	if user != "" {
		unjoin(w.members[hookMember{j.ch, user}], j.userGen)
	}
}

// unsure marks ch (and user's membership of it) as something the server may or may not have
// subscribed (the request or its answer was lost with the connection): its webhooks are neither
// owed nor duplicates.
func (w *WebhookCounter) unsure(ch, user string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	subject(w.channels, ch).unsure = true
	if user != "" && protocol.KindOf(ch) == protocol.Presence {
		subject(w.members, hookMember{ch, user}).unsure = true
	}
}

func subject[K comparable](m map[K]*hookSubject, k K) *hookSubject {
	s := m[k]
	if s == nil {
		s = &hookSubject{}
		m[k] = s
	}
	return s
}

// join counts a subscription; it returns the subject's gen when it made open go from 0 to 1.
func join(s *hookSubject, at time.Time) int64 {
	s.gen++
	if s.open++; s.open == 1 {
		s.joins++
		s.joinedAt = at
		return s.gen
	}
	return 0
}

// unjoin takes back a refused subscription; its 0-to-1 step (gen, if it made one) is undone only
// when no other subscription came since: then nothing on the server went from none to one.
func unjoin(s *hookSubject, gen int64) {
	if s == nil || s.open == 0 {
		return
	}
	if s.open--; s.open == 0 && gen != 0 && gen == s.gen {
		s.joins--
	}
}

func leave(s *hookSubject, at time.Time) {
	if s == nil || s.open == 0 {
		return
	}
	if s.open--; s.open == 0 {
		s.leftAt = at
	}
}

// ServeHTTP takes one webhook request. The body is verified and parsed before the counts are
// locked: clients that leave wait for that lock, never for a large body.
func (w *WebhookCounter) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "webhooks are POST requests", http.StatusMethodNotAllowed)
		return
	}
	now := time.Now()
	w.mu.Lock()
	appID, key, secret := w.appID, w.key, w.secret
	w.mu.Unlock()
	if key == "" {
		http.Error(rw, "the load run has not begun: send it again", http.StatusServiceUnavailable)
		return
	}
	if id, ok := strings.CutPrefix(req.URL.Path, "/hooks/"); ok && id != appID {
		w.mu.Lock()
		w.requests++
		w.otherApps++
		w.wake()
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent) // not this run's app: nothing to judge
		return
	}
	hook, status, why := readWebhook(req, key, secret)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.requests++
	defer w.wake()
	if status != http.StatusOK {
		w.refused++
		http.Error(rw, why, status)
		return
	}
	for _, ev := range hook.Events {
		w.count(ev, now)
	}
	rw.WriteHeader(http.StatusNoContent)
}

// readWebhook reads and verifies a request's body as the app with key and secret; a status
// other than 200 says why it is refused.
func readWebhook(req *http.Request, key, secret string) (protocol.Webhook, int, string) {
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxWebhookBody+1))
	switch {
	case err != nil:
		return protocol.Webhook{}, http.StatusBadRequest, "could not read the body"
	case len(body) > MaxWebhookBody:
		return protocol.Webhook{}, http.StatusRequestEntityTooLarge, "body too large"
	case req.Header.Get("X-Pusher-Key") != key:
		return protocol.Webhook{}, http.StatusUnauthorized, "invalid key"
	case !protocol.VerifyWebhook(secret, body, req.Header.Get("X-Pusher-Signature")):
		return protocol.Webhook{}, http.StatusUnauthorized, "invalid signature"
	}
	hook, err := protocol.ParseWebhook(body)
	if err != nil {
		return protocol.Webhook{}, http.StatusBadRequest, err.Error()
	}
	return hook, http.StatusOK, ""
}

func (w *WebhookCounter) wake() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// count adds one event that arrived at now; the caller holds mu.
func (w *WebhookCounter) count(ev protocol.WebhookEvent, now time.Time) {
	var s *hookSubject
	switch ev.Name {
	case protocol.HookChannelOccupied, protocol.HookChannelVacated:
		s = w.channels[ev.Channel]
	case protocol.HookMemberAdded, protocol.HookMemberRemoved:
		s = w.members[hookMember{ev.Channel, ev.UserID}]
	default:
		return // client_event, cache_miss, subscription_count: not what a run counts
	}
	if s == nil {
		w.foreign++
		return
	}
	from, metric := s.joinedAt, MetricHookOccupied
	switch ev.Name {
	case protocol.HookChannelOccupied, protocol.HookMemberAdded:
		s.in++
		if ev.Name == protocol.HookMemberAdded {
			metric = MetricHookMemberAdded
		}
	default:
		s.out++
		from, metric = s.leftAt, MetricHookVacated
		if ev.Name == protocol.HookMemberRemoved {
			metric = MetricHookMemberRemoved
		}
	}
	if w.rec != nil && !from.IsZero() && now.After(from) {
		w.rec.Record(metric, now.Sub(from), int(s.joins))
	}
}

// hookQuiet is how long a balanced count must stay unchanged before settle trusts it: a second
// occupied still in flight (and the vacated it owes), or a late duplicate, would change it.
const hookQuiet = time.Second

// settle waits, up to d, until every webhook the run is owed has come and the count stayed so
// for hookQuiet (other users' events, which change nothing, may go on), and returns the count.
func (w *WebhookCounter) settle(ctx context.Context, d time.Duration) *reports.Webhooks {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var quiet <-chan time.Time
	var balanced []reports.WebhookKind
	for {
		w.mu.Lock()
		n, changed := w.tally(), w.changed
		w.mu.Unlock()
		switch {
		case lost(n) > 0:
			quiet, balanced = nil, nil
		case quiet == nil || !slices.Equal(balanced, n.Kinds):
			quiet, balanced = time.After(hookQuiet), n.Kinds
		}
		select {
		case <-changed:
			continue
		case <-quiet:
		case <-ctx.Done():
		}
		n.WaitedS = roundTenth(time.Since(start).Seconds())
		return n
	}
}

func roundTenth(s float64) float64 { return float64(int64(s*10+0.5)) / 10 }

func lost(n *reports.Webhooks) int64 {
	var l int64
	for _, k := range n.Kinds {
		l += k.Lost
	}
	return l
}

// tally counts what came against what was owed; the caller holds mu. A channel or member is owed
// at least one joining webhook and at most one per time the run's subscriptions of it went from
// none to one (a reconnection within the server's debounce rightly causes none), and one leaving
// webhook per joining one that came (at least one: every client closed by now). A leaving
// webhook beyond those is a duplicate, or stands for a joining one that was lost: a failure
// either way.
func (w *WebhookCounter) tally() *reports.Webhooks {
	n := &reports.Webhooks{URL: w.URL("{app_id}"), Requests: w.requests, Refused: w.refused, Foreign: w.foreign, OtherApps: w.otherApps}
	pair := func(in, out string, subjects func(yield func(*hookSubject) bool)) {
		a, b := reports.WebhookKind{Name: in}, reports.WebhookKind{Name: out}
		for s := range subjects {
			if s.unsure || s.joins == 0 {
				n.Unsure += btoi(s.unsure)
				continue
			}
			owed := min(max(s.in, 1), s.joins)
			a.Expected += owed
			a.Received += s.in
			if s.in == 0 {
				a.Lost++
			}
			a.Duplicates += max(0, s.in-s.joins)
			b.Expected += owed
			b.Received += s.out
			b.Lost += max(0, owed-s.out)
			b.Duplicates += max(0, s.out-owed)
		}
		n.Kinds = append(n.Kinds, a, b)
	}
	pair(protocol.HookChannelOccupied, protocol.HookChannelVacated, valuesOf(w.channels))
	pair(protocol.HookMemberAdded, protocol.HookMemberRemoved, valuesOf(w.members))
	return n
}

func btoi(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func valuesOf[K comparable](m map[K]*hookSubject) func(yield func(*hookSubject) bool) {
	return func(yield func(*hookSubject) bool) {
		for _, s := range m {
			if !yield(s) {
				return
			}
		}
	}
}

// webhookCheck judges a run's webhooks: every one owed came, none twice, none refused.
func webhookCheck(n *reports.Webhooks) reports.Check {
	var bad, parts []string
	for _, k := range n.Kinds {
		parts = append(parts, fmt.Sprintf("%s %d of %d", k.Name, k.Received-k.Duplicates, k.Expected))
		if k.Lost > 0 {
			bad = append(bad, fmt.Sprintf("%d %s lost", k.Lost, k.Name))
		}
		if k.Duplicates > 0 {
			bad = append(bad, fmt.Sprintf("%d %s duplicated", k.Duplicates, k.Name))
		}
	}
	if n.Refused > 0 {
		bad = append(bad, fmt.Sprintf("%d requests refused (wrong key or signature, or not a webhook body)", n.Refused))
	}
	detail := strings.Join(parts, ", ")
	if n.Requests == 0 {
		detail = "no webhook request came to " + n.URL + ": point the server's webhook URL for the app at it"
	}
	if n.Unsure > 0 {
		detail += fmt.Sprintf("; %d channels or members not judged (a subscription lost with its connection before the server answered)", n.Unsure)
	}
	if len(bad) > 0 {
		detail += "; " + strings.Join(bad, ", ")
	}
	c := reports.Check{Name: "webhooks", Pass: len(bad) == 0 && n.Requests > 0, Detail: detail}
	if c.Pass {
		c.Detail += fmt.Sprintf("; balanced, none duplicated, %d requests", n.Requests)
	}
	return c
}
