package ticketing

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Defaults of the seed's WebSocketRateLimiter: 100 requests a minute per user or IP.
const (
	DefaultAuthRateLimit  = 100
	DefaultAuthRateWindow = time.Minute
)

// DefaultAuthLogSize is how many decisions an AuthLog keeps when AuthConfig.LogSize is 0.
const DefaultAuthLogSize = 10000

// maxAuthBody bounds the body of an auth request; pusher-js sends two short form fields.
const maxAuthBody = 64 << 10

// Endpoints of the AuthHandler, as recorded in AuthRecord.Endpoint.
const (
	EndpointChannelAuth = "/broadcasting/auth"
	EndpointUserAuth    = "/broadcasting/user-auth"
)

// AuthConfig configures an AuthHandler.
type AuthConfig struct {
	Key, Secret string     // the app's credentials, which sign every answer
	Directory   *Directory // users, tokens and the records the channel rules read
	// RateLimit is how many requests a user (or, unauthenticated, an IP) may make per RateWindow;
	// 0 is DefaultAuthRateLimit, negative disables limiting.
	RateLimit int
	// RateWindow is 0 for DefaultAuthRateWindow.
	RateWindow time.Duration
	// LogSize is how many recent decisions the log keeps; 0 is DefaultAuthLogSize.
	LogSize int
	// Now is the clock of the rate limiter and the log; nil is time.Now.
	Now func() time.Time
}

// AuthHandler is the seed's auth endpoint, Laravel's Broadcast::auth behind auth:sanctum, with
// the WebSocketRateLimiter in front:
//
//	POST /broadcasting/auth       channel authorization (pusher-js / Echo authEndpoint)
//	POST /broadcasting/user-auth  user sign-in (pusher-js signin())
//
// Both also answer under /api (the seed registers the route in routes/api.php, so its Echo uses
// /api/broadcasting/auth). The body is form-encoded, as pusher-js sends it, or JSON.
//
// Checks, in order; each refusal is a JSON {"error": ...} with the status:
//
//  1. rate limit, keyed by the user of a valid token, else by the client IP: 429
//     {"error":"Too many requests"} (see AuthConfig.RateLimit for the window);
//  2. Authorization: Bearer <token> of a known customer: 401 {"error":"Unauthenticated."};
//  3. socket_id of the form digits.digits, a valid channel_name: 400;
//  4. the channel rules (Directory.Authorize): 403;
//
// then 200 {"auth":"key:sig"}, with "channel_data" for presence channels and "user_data" for
// sign-in. Public channels are signed too, as Laravel does when asked.
//
// Laravel itself answers 500 for a malformed socket_id (pusher-php-server throws) and 403 for a
// missing channel_name; here both are 400, since they are malformed requests.
//
// Every POST to one of the endpoints is recorded in Log, whatever the answer.
type AuthHandler struct {
	key, secret string
	dir         *Directory
	now         func() time.Time
	limiter     *fixedWindow
	log         *AuthLog
}

// NewAuthHandler returns the handler; it needs the Directory and the app's key and secret.
func NewAuthHandler(cfg AuthConfig) (*AuthHandler, error) {
	if cfg.Directory == nil {
		return nil, errors.New("auth handler: no Directory")
	}
	if cfg.Key == "" || cfg.Secret == "" {
		return nil, errors.New("auth handler: app key and secret are required")
	}
	h := &AuthHandler{key: cfg.Key, secret: cfg.Secret, dir: cfg.Directory, now: cfg.Now}
	if h.now == nil {
		h.now = time.Now
	}
	if cfg.RateLimit >= 0 {
		limit, window := cfg.RateLimit, cfg.RateWindow
		if limit == 0 {
			limit = DefaultAuthRateLimit
		}
		if window <= 0 {
			window = DefaultAuthRateWindow
		}
		h.limiter = &fixedWindow{limit: limit, window: window, keys: map[string]*windowCount{}}
	}
	size := cfg.LogSize
	if size <= 0 {
		size = DefaultAuthLogSize
	}
	h.log = &AuthLog{max: size}
	return h, nil
}

// Log is the record of every request the handler answered.
func (h *AuthHandler) Log() *AuthLog { return h.log }

type authRequest struct {
	SocketID    string `json:"socket_id"`
	ChannelName string `json:"channel_name"`
}

// ServeHTTP answers one auth request.
func (h *AuthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := strings.TrimPrefix(r.URL.Path, "/api")
	if endpoint != EndpointChannelAuth && endpoint != EndpointUserAuth {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not found."})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "Method not allowed."})
		return
	}
	now := h.now()
	rec := AuthRecord{At: now, Endpoint: endpoint, RemoteIP: clientIP(r)}
	// Parse first, so that even refused requests are logged with what they asked for.
	req, parseErr := parseAuthRequest(w, r)
	rec.SocketID, rec.Channel = req.SocketID, req.ChannelName

	user, authed := h.authenticate(r)
	if authed {
		rec.CustomerID = user.ID
	}
	key := "ip:" + rec.RemoteIP
	if authed {
		key = "user:" + strconv.Itoa(user.ID)
	}
	if h.limiter != nil {
		if ok, retry := h.limiter.allow(key, now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			h.refuse(w, rec, http.StatusTooManyRequests, "Too many requests", "rate limit of "+key)
			return
		}
	}
	if !authed {
		h.refuse(w, rec, http.StatusUnauthorized, "Unauthenticated.", "no valid bearer token")
		return
	}
	if parseErr != nil {
		h.refuse(w, rec, http.StatusBadRequest, "Invalid request.", parseErr.Error())
		return
	}
	if !protocol.ValidSocketID(req.SocketID) {
		h.refuse(w, rec, http.StatusBadRequest, "Invalid socket_id.", fmt.Sprintf("socket_id %q is not digits.digits", req.SocketID))
		return
	}
	if endpoint == EndpointUserAuth {
		h.signIn(w, rec, user)
		return
	}
	if !protocol.ValidChannelName(req.ChannelName) {
		h.refuse(w, rec, http.StatusBadRequest, "Invalid channel_name.", fmt.Sprintf("channel_name %q is not a valid channel name", req.ChannelName))
		return
	}
	dec, err := h.dir.Authorize(&user, req.ChannelName)
	rec.Rule = dec.Rule
	if err != nil || !dec.Allowed {
		reason := dec.Reason
		if err != nil {
			reason = err.Error()
		}
		h.refuse(w, rec, http.StatusForbidden, "Forbidden.", reason)
		return
	}
	rec.Status, rec.Reason = http.StatusOK, dec.Reason
	body := map[string]string{}
	if dec.Member != nil {
		rec.ChannelData = dec.Member.ChannelData()
		body["channel_data"] = rec.ChannelData
	}
	rec.Auth = protocol.SignChannel(h.key, h.secret, req.SocketID, req.ChannelName, rec.ChannelData)
	body["auth"] = rec.Auth
	h.log.add(rec)
	writeJSON(w, http.StatusOK, body)
}

// signIn answers /broadcasting/user-auth with the user data the seed's presence rules also use:
// {"id":"5","user_info":{"name":<full_name>}}. The plan does not show
// Broadcast::resolveAuthenticatedUserUsing, so this shape is chosen: the id as the Pusher spec
// requires (a string), the name as virtual-event presence shows it.
func (h *AuthHandler) signIn(w http.ResponseWriter, rec AuthRecord, user Customer) {
	rec.UserData = UserData(user)
	rec.Auth = protocol.SignUser(h.key, h.secret, rec.SocketID, rec.UserData)
	rec.Status, rec.Reason = http.StatusOK, "signed in"
	h.log.add(rec)
	writeJSON(w, http.StatusOK, map[string]string{"auth": rec.Auth, "user_data": rec.UserData})
}

// UserData is the user_data a customer signs in with: {"id":"5","user_info":{"name":"Ana Lopez"}}.
func UserData(c Customer) string {
	type info struct {
		Name string `json:"name"`
	}
	return marshal(struct {
		ID       string `json:"id"`
		UserInfo info   `json:"user_info"`
	}{strconv.Itoa(c.ID), info{c.FullName}})
}

func (h *AuthHandler) refuse(w http.ResponseWriter, rec AuthRecord, status int, msg, reason string) {
	rec.Status, rec.Reason = status, reason
	h.log.add(rec)
	writeJSON(w, status, map[string]string{"error": msg})
}

// authenticate resolves "Authorization: Bearer <token>" (scheme case-insensitive) to a customer.
func (h *AuthHandler) authenticate(r *http.Request) (Customer, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Customer{}, false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return Customer{}, false
	}
	return h.dir.CustomerByToken(Token(tok))
}

// parseAuthRequest reads socket_id and channel_name from a JSON body (Content-Type
// application/json) or a form (body, then query, as Laravel's $request->input reads them).
func parseAuthRequest(w http.ResponseWriter, r *http.Request) (authRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var req authRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return authRequest{}, fmt.Errorf("JSON body: %w", err)
		}
		return req, nil
	}
	if err := r.ParseForm(); err != nil {
		return authRequest{}, fmt.Errorf("form body: %w", err)
	}
	return authRequest{SocketID: r.Form.Get("socket_id"), ChannelName: r.Form.Get("channel_name")}, nil
}

// clientIP is the peer's address. Forwarding headers are not trusted: the suite talks to the
// handler directly.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(marshal(v)))
}

// fixedWindow is Laravel's RateLimiter as the seed's middleware uses it
// (tooManyAttempts(key, limit), then hit(key, window)): a key's window opens at its first counted
// request and lasts window; within it the first limit requests pass and later ones are refused
// without being counted; when it ends, counting starts over. So at most limit requests pass in
// any window, and a burst straddling two windows may pass up to 2*limit in a short time.
type fixedWindow struct {
	limit  int
	window time.Duration

	mu        sync.Mutex
	keys      map[string]*windowCount
	lastSweep time.Time
}

type windowCount struct {
	n     int
	until time.Time
}

// allow counts one request of key at now; when refused it tells how long until the window ends.
func (f *fixedWindow) allow(key string, now time.Time) (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.lastSweep) >= f.window {
		// Forget closed windows, so one-off keys (IPs) do not pile up.
		for k, c := range f.keys {
			if !now.Before(c.until) {
				delete(f.keys, k)
			}
		}
		f.lastSweep = now
	}
	c := f.keys[key]
	if c == nil || !now.Before(c.until) {
		c = &windowCount{until: now.Add(f.window)}
		f.keys[key] = c
	}
	if c.n >= f.limit {
		return false, c.until.Sub(now)
	}
	c.n++
	return true, 0
}

// AuthRecord is one answered auth request.
type AuthRecord struct {
	At         time.Time
	Endpoint   string // EndpointChannelAuth or EndpointUserAuth
	RemoteIP   string
	CustomerID int // 0 without a valid token
	SocketID   string
	Channel    string // "" for sign-in
	Status     int    // the HTTP status answered
	Rule       string // the channel rule that matched, if any
	Reason     string // why it was allowed or refused
	// What a 200 answered.
	Auth, ChannelData, UserData string
}

// AuthLog records an AuthHandler's decisions, newest last, keeping the most recent ones. It is
// safe for concurrent use.
type AuthLog struct {
	mu      sync.Mutex
	max     int
	records []AuthRecord
	total   int
}

func (l *AuthLog) add(r AuthRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	l.records = append(l.records, r)
	if len(l.records) >= 2*l.max {
		// Trim in bulk, so adding stays amortized O(1).
		l.records = append([]AuthRecord(nil), l.records[len(l.records)-l.max:]...)
	}
}

// Records returns a copy of the recent records, oldest first.
func (l *AuthLog) Records() []AuthRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	rs := l.records
	if len(rs) > l.max {
		rs = rs[len(rs)-l.max:]
	}
	return append([]AuthRecord(nil), rs...)
}

// Filter returns the recent records for which keep is true, oldest first.
func (l *AuthLog) Filter(keep func(AuthRecord) bool) []AuthRecord {
	var out []AuthRecord
	for _, r := range l.Records() {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// ForChannel returns the recent records of channel, oldest first.
func (l *AuthLog) ForChannel(channel string) []AuthRecord {
	return l.Filter(func(r AuthRecord) bool { return r.Channel == channel })
}

// Last returns the most recent record that matches (nil matches any).
func (l *AuthLog) Last(match func(AuthRecord) bool) (AuthRecord, bool) {
	rs := l.Records()
	for i := len(rs) - 1; i >= 0; i-- {
		if match == nil || match(rs[i]) {
			return rs[i], true
		}
	}
	return AuthRecord{}, false
}

// Total is how many requests were recorded since the start, including those no longer kept.
func (l *AuthLog) Total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}
