package ticketing

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/pushcert/pushcert/internal/protocol"
)

// EndpointWebhook is the path of the application's webhook endpoint, where the server posts the
// app's webhooks.
const EndpointWebhook = "/pusher/webhook"

// MaxWebhookBody is the largest webhook body the endpoint reads; a longer one is answered 413.
const MaxWebhookBody = 1 << 20

// WebhookHandler is the application's webhook endpoint, as a Laravel app has one: it refuses a
// request whose X-Pusher-Key is not the app's or whose X-Pusher-Signature is not the body's
// HMAC-SHA256 with the app secret (401), a body that is not a webhook (400), and keeps from the
// member events who is on each presence channel, so the app knows who is selecting seats without
// asking the server.
//
// A webhook may come twice (the server retries what it could not deliver) and late (a retried
// batch after a newer one): applying a member event is idempotent, and an event older than the
// last one applied for the same member is ignored, so a late retry never undoes a newer event.
// At the same time_ms (a server counting in seconds puts everything there) a removal wins: a
// member_added that comes after a member_removed of the same moment is a retry, since a server
// cancels a leave and a return that close together.
type WebhookHandler struct {
	key, secret string

	mu      sync.Mutex
	members map[string]map[string]bool // channel → user id → present
	applied map[memberKey]applied      // the last member event applied
	refused int
	changed chan struct{} // closed and replaced at each accepted request
}

type memberKey struct{ channel, user string }

type applied struct {
	timeMs  int64
	removed bool
}

// NewWebhookHandler is the endpoint of the app with this key and secret.
func NewWebhookHandler(key, secret string) *WebhookHandler {
	return &WebhookHandler{key: key, secret: secret, members: map[string]map[string]bool{},
		applied: map[memberKey]applied{}, changed: make(chan struct{})}
}

// ServeHTTP answers one webhook request.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method not allowed."})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	switch {
	case err != nil:
		h.refuse(w, http.StatusBadRequest, "Could not read the body.")
		return
	case len(body) > MaxWebhookBody:
		h.refuse(w, http.StatusRequestEntityTooLarge, "Body too large.")
		return
	case r.Header.Get("X-Pusher-Key") != h.key:
		h.refuse(w, http.StatusUnauthorized, "Invalid key")
		return
	case !protocol.VerifyWebhook(h.secret, body, r.Header.Get("X-Pusher-Signature")):
		h.refuse(w, http.StatusUnauthorized, "Invalid signature")
		return
	}
	hook, err := protocol.ParseWebhook(body)
	if err != nil {
		h.refuse(w, http.StatusBadRequest, err.Error())
		return
	}
	h.apply(hook)
	writeJSON(w, http.StatusOK, map[string]string{})
}

func (h *WebhookHandler) refuse(w http.ResponseWriter, status int, msg string) {
	h.mu.Lock()
	h.refused++
	h.mu.Unlock()
	writeJSON(w, status, map[string]string{"error": msg})
}

// apply records the member events of one verified body.
func (h *WebhookHandler) apply(hook protocol.Webhook) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range hook.Events {
		if ev.Name != protocol.HookMemberAdded && ev.Name != protocol.HookMemberRemoved {
			continue
		}
		k, removed := memberKey{ev.Channel, ev.UserID}, ev.Name == protocol.HookMemberRemoved
		if last, ok := h.applied[k]; ok && (hook.TimeMs < last.timeMs || hook.TimeMs == last.timeMs && last.removed && !removed) {
			continue
		}
		h.applied[k] = applied{hook.TimeMs, removed}
		set := h.members[ev.Channel]
		switch {
		case !removed && set == nil:
			h.members[ev.Channel] = map[string]bool{ev.UserID: true}
		case !removed:
			set[ev.UserID] = true
		default:
			delete(set, ev.UserID)
			if len(set) == 0 {
				delete(h.members, ev.Channel)
			}
		}
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// Members are the user ids on a presence channel as the webhooks told it, sorted.
func (h *WebhookHandler) Members(channel string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.membersLocked(channel)
}

func (h *WebhookHandler) membersLocked(channel string) []string {
	out := make([]string, 0, len(h.members[channel]))
	for id := range h.members[channel] {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Refused is how many requests the endpoint refused.
func (h *WebhookHandler) Refused() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}

// WaitMembers calls done with the channel's members, again after each accepted request, until it
// returns true or ctx ends; it returns the members it saw last and whether done accepted them.
func (h *WebhookHandler) WaitMembers(ctx context.Context, channel string, done func([]string) bool) ([]string, bool) {
	for {
		h.mu.Lock()
		members, changed := h.membersLocked(channel), h.changed
		h.mu.Unlock()
		if done(members) {
			return members, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return members, false
		}
	}
}
