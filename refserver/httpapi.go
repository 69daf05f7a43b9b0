package refserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pushcert/pushcert/internal/protocol"
)

// apiError is an HTTP API failure: its status and the message of the JSON body {"error": ...}.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// apiHandler is one endpoint: it gets the verified request's app and body and returns the
// response value or an *apiError.
type apiHandler func(r *http.Request, app *appState, body []byte) (any, *apiError)

func (s *Server) httpRoutes(m *http.ServeMux) {
	m.Handle("POST /apps/{app}/events", s.api("events", s.postEvents))
	m.Handle("POST /apps/{app}/batch_events", s.api("batch_events", s.postBatchEvents))
	m.Handle("GET /apps/{app}/channels", s.api("channels", s.getChannels))
	m.Handle("GET /apps/{app}/channels/{channel}", s.api("channel", s.getChannel))
	m.Handle("GET /apps/{app}/channels/{channel}/users", s.api("users", s.getUsers))
	m.Handle("POST /apps/{app}/users/{user}/terminate_connections", s.api("terminate_connections", s.terminateUser))
}

// api wraps an endpoint with what every request needs: the app, a bounded body, the signature
// (key, ±600 s timestamp, body_md5, HMAC), and a JSON answer.
func (s *Server) api(endpoint string, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, aerr := s.serveAPI(r, h)
		status := http.StatusOK
		if aerr != nil {
			status, v = aerr.status, map[string]string{"error": aerr.msg}
		}
		appID := "unknown" // an id from the request's path: only the server's own make series
		if _, ok := s.byID[r.PathValue("app")]; ok {
			appID = r.PathValue("app")
		}
		s.metrics.httpRequests.WithLabelValues(appID, endpoint, fmt.Sprint(status)).Inc()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	})
}

func (s *Server) serveAPI(r *http.Request, h apiHandler) (any, *apiError) {
	app := s.byID[r.PathValue("app")]
	if app == nil {
		return nil, &apiError{http.StatusNotFound, fmt.Sprintf("Unknown app_id %q", r.PathValue("app"))}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxHTTPBody+1))
	if err != nil {
		return nil, badRequest("Cannot read the request body: %v", err)
	}
	if len(body) > DefaultMaxHTTPBody {
		return nil, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body is over %d bytes", DefaultMaxHTTPBody)}
	}
	check := protocol.RequestCheck{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body,
		Key: app.Key, Secret: app.Secret, Now: s.cfg.Now(), Window: s.cfg.TimestampWindow,
	}
	if s.cfg.Faults.SkipTimestampWindow {
		check.Window = -1
	}
	check.SkipBodyMD5 = s.cfg.Faults.SkipBodyMD5
	err = protocol.VerifyRequest(check)
	if err != nil {
		return nil, &apiError{http.StatusUnauthorized, authMessage(err)}
	}
	if app.Disabled {
		return nil, &apiError{http.StatusForbidden, "Application disabled: enable it in the server's configuration"}
	}
	if !utf8.Valid(body) && !s.cfg.Faults.RelayInvalidUTF8 {
		return nil, badRequest("Request body is not valid UTF-8: JSON text, its names and data included, must be UTF-8")
	}
	return h(r, app, body)
}

func authMessage(err error) string {
	switch {
	case errors.Is(err, protocol.ErrAuthTimestamp):
		return "Timestamp expired: " + strings.TrimPrefix(err.Error(), protocol.ErrAuthTimestamp.Error()+": ")
	case errors.Is(err, protocol.ErrAuthSignature):
		return "Invalid signature: the auth_signature does not match the request (method, path, sorted lowercased query)"
	default:
		return "Authentication failed: " + err.Error()
	}
}

// triggerBody is the body of POST /events and one item of POST /batch_events.
type triggerBody struct {
	Name     string          `json:"name"`
	Data     json.RawMessage `json:"data"`
	Channels []string        `json:"channels"`
	Channel  string          `json:"channel"`
	SocketID string          `json:"socket_id"`
	Info     string          `json:"info"`
}

// trigger is a validated triggerBody.
type trigger struct {
	name, data, socketID string
	channels             []string
	info                 []string
}

func decodeJSON(body []byte, v any) *apiError {
	if len(body) == 0 {
		return badRequest("Request body is empty: a JSON object is required")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Request body is not valid JSON: %s", protocol.DescribeJSON(err))
	}
	return nil
}

func (s *Server) validateTrigger(b triggerBody, batch bool) (trigger, *apiError) {
	t := trigger{name: b.Name, socketID: b.SocketID}
	switch {
	case b.Name == "":
		return t, badRequest("name is required")
	case len(b.Name) > protocol.MaxEventNameLength:
		return t, badRequest("name is %d characters, over the limit of %d", len(b.Name), protocol.MaxEventNameLength)
	case len(b.Data) == 0 || string(b.Data) == "null":
		return t, badRequest("data is required")
	case b.Data[0] != '"':
		return t, badRequest("data must be a string (JSON-encode objects before sending)")
	}
	if err := json.Unmarshal(b.Data, &t.data); err != nil {
		return t, badRequest("data: %s", protocol.DescribeJSON(err))
	}
	if len(t.data) > s.cfg.MaxEventData {
		return t, &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("data is %d bytes, over the limit of %d", len(t.data), s.cfg.MaxEventData)}
	}
	t.channels = b.Channels
	if b.Channel != "" {
		if len(b.Channels) > 0 {
			return t, badRequest("give either channel or channels, not both")
		}
		t.channels = []string{b.Channel}
	}
	if batch && len(b.Channels) > 0 {
		return t, badRequest("a batch event takes one channel, not channels")
	}
	switch {
	case len(t.channels) == 0:
		return t, badRequest("channels is required: 1 to %d channel names", DefaultMaxChannelsPerPub)
	case len(t.channels) > DefaultMaxChannelsPerPub:
		return t, badRequest("%d channels, over the limit of %d", len(t.channels), DefaultMaxChannelsPerPub)
	}
	t.channels = unique(t.channels) // a channel named twice is delivered once
	for _, ch := range t.channels {
		if !protocol.ValidServerChannelName(ch) {
			return t, badRequest("Invalid channel name %q: 1 to %d characters of A-Z a-z 0-9 _ - = @ , . ;", truncate(ch, maxEcho), protocol.MaxChannelNameLength)
		}
		if protocol.KindOf(ch) == protocol.Encrypted && len(t.channels) > 1 {
			return t, badRequest("an encrypted channel (%s) must be triggered alone", ch)
		}
	}
	if b.SocketID != "" && !protocol.ValidSocketID(b.SocketID) {
		return t, badRequest("Invalid socket_id %q", truncate(b.SocketID, 100))
	}
	if b.Info != "" {
		for _, attr := range strings.Split(b.Info, ",") {
			if attr != "user_count" && attr != "subscription_count" {
				return t, badRequest("info: unknown attribute %q (user_count, subscription_count)", attr)
			}
			t.info = append(t.info, attr)
		}
	}
	return t, nil
}

// unique drops the repeats of names, keeping the first of each in order.
func unique(names []string) []string {
	if len(names) < 2 { // the common publish: nothing to drop, nothing to allocate
		return names
	}
	seen := make(map[string]bool, len(names))
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func (s *Server) publish(app *appState, t trigger) *apiError {
	if s.cfg.Faults.FirstChannelOnly {
		t.channels = t.channels[:1]
	}
	if s.registry != nil && !s.cfg.Faults.LocalCache {
		for _, ch := range t.channels {
			if !protocol.IsCache(ch) {
				continue
			}
			if err := s.registry.Cache(app.ID, ch, t.name, t.data, s.cfg.CacheTTL); err != nil {
				return &apiError{http.StatusServiceUnavailable, "Cannot publish: the cluster's cache is unavailable: " + err.Error()}
			}
		}
	}
	err := s.send(Message{Kind: MsgEvent, AppID: app.ID, Channels: t.channels, Event: t.name, Data: t.data, SocketID: t.socketID, Origin: s.Node()})
	if err != nil {
		return &apiError{http.StatusServiceUnavailable, "Cannot publish: nothing was delivered: " + err.Error()}
	}
	app.metrics.httpEvents.Add(float64(len(t.channels)))
	return nil
}

// deliver takes a message of the cluster (or of this single node) to this node's clients.
func (s *Server) deliver(m Message) {
	app := s.byID[m.AppID]
	if app == nil {
		return
	}
	switch m.Kind {
	case MsgEvent:
		s.deliverEvent(app, m)
	case MsgClientEvent:
		s.deliverClientEvent(app, m)
	case MsgMemberAdded, MsgMemberRemoved:
		s.deliverMemberEvent(app, m)
	case MsgCount:
		s.deliverCount(app, m)
	case MsgWatch:
		app.deliverWatch(m)
	case MsgTerminate:
		for _, c := range app.userConns(m.UserID) {
			c.kill(TerminateCloseCode, "Connection terminated by the application")
		}
	}
}

// deliverEvent delivers an HTTP API publish to this node's subscribers of each of its channels.
func (s *Server) deliverEvent(app *appState, m Message) {
	for _, ch := range m.Channels {
		p := m
		p.Channel = ch
		s.deliverOne(app, p)
	}
}

// deliverOne delivers an event to this node's subscribers of its channel, encoded once.
func (s *Server) deliverOne(app *appState, p Message) {
	f := &s.cfg.Faults
	if protocol.IsCache(p.Channel) && !(f.StaleCache && app.holds(p.Channel, s.cfg.Now())) && !(f.LocalCache && p.Origin != s.Node()) {
		app.store(p.Channel, p.Event, p.Data, s.cfg.Now().Add(s.cfg.CacheTTL))
	}
	except := p.SocketID
	if s.cfg.Faults.IgnoreSocketExclusion || (s.cfg.Faults.ExclusionOnOrigin && p.Origin != s.Node()) {
		except = ""
	}
	pm, err := prepare(protocol.EncodeEvent(p.Event, p.Channel, p.Data, ""))
	if err != nil {
		return
	}
	if s.cfg.Faults.LeakAllEvents || (s.cfg.Faults.LeakPrivateEvents && protocol.KindOf(p.Channel).NeedsAuth()) {
		for _, c := range app.allConns() {
			if c.socketID != except {
				c.enqueue(pm)
			}
		}
		return
	}
	ch := app.lookup(p.Channel)
	if ch == nil {
		return
	}
	app.metrics.messagesOut.Add(float64(ch.broadcast(s, pm, except)))
}

// channelCount is a channel's counts: this node's on a single node, the registry's in a
// cluster.
func (s *Server) channelCount(app *appState, name string) (ChannelCount, *apiError) {
	if s.registry != nil && !s.cfg.Faults.LocalCounts {
		n, err := s.registry.Channel(app.ID, name)
		if err != nil {
			return n, clusterUnavailable(err)
		}
		return n, nil
	}
	var n ChannelCount
	if ch := app.lookup(name); ch != nil {
		ch.mu.RLock()
		n = ChannelCount{Subscriptions: len(ch.subs), Users: len(ch.members)}
		ch.mu.RUnlock()
	}
	return n, nil
}

func clusterUnavailable(err error) *apiError {
	return &apiError{http.StatusServiceUnavailable, "The cluster's registry is unavailable: " + err.Error()}
}

// channelInfo answers the info attributes of one channel; attributes that do not apply to the
// channel's kind are left out.
func channelInfo(n ChannelCount, name string, attrs []string) map[string]any {
	out := map[string]any{}
	for _, a := range attrs {
		switch {
		case a == "user_count" && protocol.KindOf(name) == protocol.Presence:
			out[a] = n.Users
		case a == "subscription_count":
			out[a] = n.Subscriptions
		}
	}
	return out
}

// infoOf is channelInfo of a channel whose counts are read now.
func (s *Server) infoOf(app *appState, name string, attrs []string) (map[string]any, *apiError) {
	n, aerr := s.channelCount(app, name)
	if aerr != nil {
		return nil, aerr
	}
	return channelInfo(n, name, attrs), nil
}

func (s *Server) postEvents(_ *http.Request, app *appState, body []byte) (any, *apiError) {
	var b triggerBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	t, aerr := s.validateTrigger(b, false)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.publish(app, t); aerr != nil {
		return nil, aerr
	}
	if len(t.info) == 0 {
		return struct{}{}, nil
	}
	chans := map[string]any{}
	for _, ch := range t.channels {
		info, aerr := s.infoOf(app, ch, t.info)
		if aerr != nil {
			return nil, aerr
		}
		chans[ch] = info
	}
	return map[string]any{"channels": chans}, nil
}

func (s *Server) postBatchEvents(_ *http.Request, app *appState, body []byte) (any, *apiError) {
	var b struct {
		Batch []triggerBody `json:"batch"`
	}
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	switch {
	case len(b.Batch) == 0:
		return nil, badRequest("batch is required: 1 to %d events", DefaultMaxBatchEvents)
	case len(b.Batch) > DefaultMaxBatchEvents:
		return nil, badRequest("Cannot batch-send more than %d events at once (got %d)", DefaultMaxBatchEvents, len(b.Batch))
	}
	ts := make([]trigger, len(b.Batch))
	withInfo := false
	for i, item := range b.Batch {
		t, aerr := s.validateTrigger(item, true)
		if aerr != nil {
			aerr.msg = fmt.Sprintf("batch[%d]: %s", i, aerr.msg)
			return nil, aerr
		}
		ts[i] = t
		withInfo = withInfo || len(t.info) > 0
	}
	for _, t := range ts {
		if aerr := s.publish(app, t); aerr != nil {
			return nil, aerr
		}
	}
	if !withInfo {
		return struct{}{}, nil
	}
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		info, aerr := s.infoOf(app, t.channels[0], t.info)
		if aerr != nil {
			return nil, aerr
		}
		out[i] = info
	}
	return map[string]any{"batch": out}, nil
}

func infoAttrs(r *http.Request) []string {
	v := r.URL.Query().Get("info")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (s *Server) getChannels(r *http.Request, app *appState, _ []byte) (any, *apiError) {
	prefix := r.URL.Query().Get("filter_by_prefix")
	attrs := infoAttrs(r)
	for _, a := range attrs {
		switch a {
		case "user_count":
			if !strings.HasPrefix(prefix, protocol.PrefixPresence) {
				return nil, badRequest("info=user_count needs filter_by_prefix=presence-")
			}
		case "subscription_count":
		default:
			return nil, badRequest("info: unknown attribute %q (user_count, subscription_count)", a)
		}
	}
	counts, aerr := s.allChannels(app)
	if aerr != nil {
		return nil, aerr
	}
	chans := make(map[string]any, len(counts))
	for name, n := range counts {
		if strings.HasPrefix(name, prefix) && protocol.KindOf(name) != protocol.ServerToUser {
			chans[name] = channelInfo(n, name, attrs)
		}
	}
	return map[string]any{"channels": chans}, nil
}

func (s *Server) getChannel(r *http.Request, app *appState, _ []byte) (any, *apiError) {
	name := r.PathValue("channel")
	if !protocol.ValidServerChannelName(name) {
		return nil, badRequest("Invalid channel name %q", truncate(name, maxEcho))
	}
	attrs := infoAttrs(r)
	out := map[string]any{}
	for _, a := range attrs {
		switch a {
		case "user_count":
			if protocol.KindOf(name) != protocol.Presence {
				return nil, badRequest("info=user_count is only for presence channels")
			}
		case "subscription_count":
		case "cache":
			if !protocol.IsCache(name) {
				return nil, badRequest("info=cache is only for cache channels")
			}
			ev, ok := app.cached(name, s.cfg.Now())
			if !ok && s.registry != nil && !s.cfg.Faults.LocalCache {
				var err error
				if ev, ok, err = s.registry.Cached(app.ID, name); err != nil {
					return nil, clusterUnavailable(err)
				}
			}
			if ok {
				out["cache"] = map[string]any{"data": ev.data, "ttl": int(ev.expires.Sub(s.cfg.Now()).Seconds())}
			} else {
				out["cache"] = nil
			}
		default:
			return nil, badRequest("info: unknown attribute %q (user_count, subscription_count, cache)", a)
		}
	}
	n, aerr := s.channelCount(app, name)
	if aerr != nil {
		return nil, aerr
	}
	for k, v := range channelInfo(n, name, attrs) {
		out[k] = v
	}
	out["occupied"] = n.Subscriptions > 0
	return out, nil
}

func (s *Server) getUsers(r *http.Request, app *appState, _ []byte) (any, *apiError) {
	name := r.PathValue("channel")
	if protocol.KindOf(name) != protocol.Presence || !protocol.ValidChannelName(name) {
		return nil, badRequest("users are only listed for presence channels")
	}
	type user struct {
		ID string `json:"id"`
	}
	users := []user{}
	if s.registry != nil && !s.cfg.Faults.LocalCounts {
		p, err := s.registry.Members(app.ID, name)
		if err != nil {
			return nil, clusterUnavailable(err)
		}
		for id := range p.Members {
			users = append(users, user{id})
		}
	} else if ch := app.lookup(name); ch != nil {
		ch.mu.RLock()
		for id := range ch.members {
			users = append(users, user{id})
		}
		ch.mu.RUnlock()
	}
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	return map[string]any{"users": users}, nil
}

// allChannels is every occupied channel's counts: this node's, or the cluster's.
func (s *Server) allChannels(app *appState) (map[string]ChannelCount, *apiError) {
	if s.registry != nil && !s.cfg.Faults.LocalCounts {
		counts, err := s.registry.Channels(app.ID)
		if err != nil {
			return nil, clusterUnavailable(err)
		}
		return counts, nil
	}
	app.mu.RLock()
	names := make([]string, 0, len(app.channels))
	for name := range app.channels {
		names = append(names, name)
	}
	app.mu.RUnlock()
	out := make(map[string]ChannelCount, len(names))
	for _, name := range names {
		n, _ := s.channelCount(app, name)
		if n.Subscriptions > 0 {
			out[name] = n
		}
	}
	return out, nil
}

// reaped sends the webhooks of a dead node's channels and members, reaped by this node.
func (s *Server) reaped(appID string, ev protocol.WebhookEvent) {
	if app := s.byID[appID]; app != nil {
		app.hooks.emitNow(ev)
	}
}

// TerminateCloseCode is the close code of connections ended by terminate_connections: 4009,
// "connection is unauthorized", so clients do not reconnect unchanged.
const TerminateCloseCode = protocol.CodeUnauthorized

func (s *Server) terminateUser(r *http.Request, app *appState, _ []byte) (any, *apiError) {
	user := r.PathValue("user")
	if s.cfg.Faults.NoSigninAfterTerminate {
		s.faults.terminated.Store(app.ID+"\x00"+user, true)
	}
	if err := s.send(Message{Kind: MsgTerminate, AppID: app.ID, UserID: user}); err != nil {
		return nil, &apiError{http.StatusServiceUnavailable, "Cannot terminate the connections: " + err.Error()}
	}
	return struct{}{}, nil
}
