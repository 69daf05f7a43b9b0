package refserver

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// appState is everything one app owns at run time. Lock order: appState.mu, then channel.mu,
// then conn.mu. Broadcasts take appState.mu only to find the channel.
type appState struct {
	App
	connCount atomic.Int64

	mu       sync.RWMutex
	conns    map[*conn]struct{}
	channels map[string]*channel
	users    map[string]map[*conn]struct{} // signed-in user id -> its connections
	watchers map[string]map[*conn]struct{} // user id -> connections watching it

	cacheMu sync.Mutex
	cache   map[string]cachedEvent // last HTTP API event of each cache channel

	hooks   *hooks // nil without webhooks
	metrics *appMetrics
	// closedWire is the bytes of the app's connections that are gone; a.mu guards moving a
	// connection's counts here, so the sums never go back.
	closedWire wireBytes
}

// wireBytes are bytes written to and read from WebSocket connections.
type wireBytes struct{ sent, received uint64 }

// add counts a connection's bytes in.
func (w *wireBytes) add(c *conn) {
	if c.raw != nil {
		w.sent += c.raw.sent.Load()
		w.received += c.raw.received.Load()
	}
}

// wire is every byte written to and read from the app's connections, open and gone.
func (a *appState) wire() wireBytes {
	a.mu.RLock()
	defer a.mu.RUnlock()
	w := a.closedWire
	for c := range a.conns {
		w.add(c)
	}
	return w
}

type cachedEvent struct {
	event, data string
	expires     time.Time
}

func newAppState(a App) *appState {
	return &appState{
		App:      a,
		conns:    map[*conn]struct{}{},
		channels: map[string]*channel{},
		users:    map[string]map[*conn]struct{}{},
		watchers: map[string]map[*conn]struct{}{},
		cache:    map[string]cachedEvent{},
	}
}

func (a *appState) activityTimeout(cfg Config) time.Duration {
	if a.ActivityTimeout > 0 {
		return time.Duration(a.ActivityTimeout)
	}
	return cfg.ActivityTimeout
}

// addConn registers a connection unless the app is at its connection quota: this node's, or
// in a cluster (reg not nil) the cluster's. While the registry cannot answer, the node admits
// within its own count (it keeps serving; the count is put back at the next call or resync).
func (a *appState) addConn(c *conn, reg Registry) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.MaxConnections > 0 && len(a.conns) >= a.MaxConnections {
		return false
	}
	if a.MaxConnections > 0 && reg != nil {
		if ok, err := reg.Connections(a.ID, len(a.conns)+1, a.MaxConnections); err == nil && !ok {
			return false
		}
	}
	a.conns[c] = struct{}{}
	a.connCount.Store(int64(len(a.conns)))
	return true
}

// countConnsLocked tells the registry this node's count of the app's connections, when the app
// has a quota; the caller holds mu. A failed call is put right by the next one.
func (a *appState) countConnsLocked(reg Registry) {
	if a.MaxConnections > 0 && reg != nil {
		_, _ = reg.Connections(a.ID, len(a.conns), 0)
	}
}

func (a *appState) allConns() []*conn {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*conn, 0, len(a.conns))
	for c := range a.conns {
		out = append(out, c)
	}
	return out
}

// removeConn forgets a closed connection: its subscriptions (with member_removed where it was a
// user's last), its sign-in (with offline watchlist events) and its watches.
func (a *appState) removeConn(c *conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.conns[c]; !ok {
		return
	}
	delete(a.conns, c)
	a.closedWire.add(c)
	a.connCount.Store(int64(len(a.conns)))
	a.countConnsLocked(c.srv.registry)
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	user := c.userID
	c.mu.Unlock()
	for ch := range subs {
		a.leaveLocked(ch, c)
	}
	if user != "" {
		a.signOutLocked(c, user)
	}
}

// channelLocked returns the channel, creating it; a.mu must be held for writing.
func (a *appState) channelLocked(name string) *channel {
	ch := a.channels[name]
	if ch == nil {
		ch = newChannel(name)
		a.channels[name] = ch
	}
	return ch
}

// leaveLocked removes c from ch and drops ch when it is empty, with channel_vacated (in a
// cluster, when the registry says no node has a subscriber left); a.mu must be held for writing.
func (a *appState) leaveLocked(ch *channel, c *conn) {
	ch.mu.Lock()
	_, was := ch.subs[c]
	ch.remove(c)
	left := len(ch.subs)
	ch.mu.Unlock()
	empty := left == 0
	if empty {
		delete(a.channels, ch.name)
	}
	if !was {
		return
	}
	f := &c.srv.cfg.Faults
	if reg := c.srv.registry; reg != nil && !(ch.kind == protocol.Presence && f.PresencePerNode) {
		occ, err := reg.Unsubscribed(a.ID, ch.name, left, a.hooks != nil)
		if err != nil {
			c.srv.cfg.Logger.Warn("cannot count a subscriber out of the cluster's registry: it is told when Redis answers", "channel", ch.name, "error", err)
			if empty {
				c.srv.noteUnheard(unheard{a.ID, ch.name, ""})
			}
			return
		}
		switch {
		case occ.Last:
			a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: ch.name})
		case empty && f.OccupancyPerNode:
			a.hooks.emitNow(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: ch.name})
		case occ.Count > 0:
			a.countHook(ch, occ.Count)
		}
		a.tellCount(c.srv, ch)
		return
	}
	if empty || f.PerConnectionOccupancy {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: ch.name})
	}
	if !empty {
		a.countHook(ch, left)
	}
	a.tellCount(c.srv, ch)
}

// tellCount tells ch's remaining subscribers on this node its count after a leave, where this
// node tells its own (localCounted); a.mu is held.
func (a *appState) tellCount(s *Server, ch *channel) {
	if !s.localCounted(a, ch) {
		return
	}
	ch.mu.Lock()
	ch.tellCountLocked(s, a, len(ch.subs))
	ch.mu.Unlock()
}

// countHook sends a channel's subscription count n, for an app that opted in (not on presence
// channels, which have member webhooks); a.mu is held, so counts are emitted in the order they
// were reached.
func (a *appState) countHook(ch *channel, n int) {
	if !a.SubscriptionCount || ch.kind == protocol.Presence {
		return
	}
	a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookSubscriptionCount, Channel: ch.name, SubscriptionCount: &n})
}

// lookup finds a channel for a broadcast.
func (a *appState) lookup(name string) *channel {
	a.mu.RLock()
	ch := a.channels[name]
	a.mu.RUnlock()
	return ch
}

// cached returns the live cached event of a cache channel.
func (a *appState) cached(name string, now time.Time) (cachedEvent, bool) {
	a.cacheMu.Lock()
	defer a.cacheMu.Unlock()
	ev, ok := a.cache[name]
	if ok && now.After(ev.expires) {
		delete(a.cache, name)
		return cachedEvent{}, false
	}
	return ev, ok
}

// dropExpired forgets the cached events that expired by now, channel subscribed or not.
func (a *appState) dropExpired(now time.Time) {
	a.cacheMu.Lock()
	defer a.cacheMu.Unlock()
	for name, ev := range a.cache {
		if now.After(ev.expires) {
			delete(a.cache, name)
		}
	}
}

// holds reports whether a cache channel has an unexpired event.
func (a *appState) holds(name string, now time.Time) bool {
	_, ok := a.cached(name, now)
	return ok
}

func (a *appState) store(name, event, data string, expires time.Time) {
	a.cacheMu.Lock()
	a.cache[name] = cachedEvent{event: event, data: data, expires: expires}
	a.cacheMu.Unlock()
}

// signInLocked binds a user to a connection and tells watchers when the user comes online; a.mu
// is held.
func (a *appState) signInLocked(c *conn, user string) {
	set := a.users[user]
	if set == nil {
		set = map[*conn]struct{}{}
		a.users[user] = set
	}
	set[c] = struct{}{}
	if len(set) == 1 {
		a.userChangedLocked(c.srv, user, "online")
	}
}

// watchLocked makes c a watcher of the users of its watchlist and sends it their states; a.mu
// is held.
func (a *appState) watchLocked(c *conn, watchlist []string) {
	for _, id := range watchlist {
		w := a.watchers[id]
		if w == nil {
			w = map[*conn]struct{}{}
			a.watchers[id] = w
		}
		w[c] = struct{}{}
	}
	// The states are read after c watches: a change in between reaches c as an event too.
	var online, offline []string
	states, vers := a.onlineLocked(c.srv, watchlist)
	for i, on := range states {
		if on {
			online = append(online, watchlist[i])
		} else {
			offline = append(offline, watchlist[i])
		}
	}
	if vers != nil {
		c.mu.Lock()
		c.watchVers = make(map[string]int64, len(watchlist))
		for i, id := range watchlist {
			c.watchVers[id] = vers[i]
		}
		c.mu.Unlock()
	}
	var evs []protocol.WatchlistEvent
	if len(online) > 0 {
		evs = append(evs, protocol.WatchlistEvent{Name: "online", UserIDs: online})
	}
	if len(offline) > 0 {
		evs = append(evs, protocol.WatchlistEvent{Name: "offline", UserIDs: offline})
	}
	if len(evs) > 0 {
		c.enqueueFrame(protocol.EncodeWatchlist(evs))
	}
}

func (a *appState) signOutLocked(c *conn, user string) {
	set := a.users[user]
	delete(set, c)
	if len(set) == 0 {
		delete(a.users, user)
		a.userChangedLocked(c.srv, user, "offline")
	}
	for _, id := range c.watchlist {
		w := a.watchers[id]
		delete(w, c)
		if len(w) == 0 {
			delete(a.watchers, id)
		}
	}
}

// userChangedLocked tells the watchers of user that it is online (its first connection here) or
// offline (its last here gone): this node's watchers on a single node; in a cluster, the
// registry tells every node's when it is the user's first or last connection in the cluster.
// a.mu is held.
func (a *appState) userChangedLocked(s *Server, user, state string) {
	reg := s.usersRegistry()
	if reg == nil {
		a.notifyWatchersLocked(user, state)
		return
	}
	up := reg.UserUp
	if state == "offline" {
		up = reg.UserDown
	}
	if err := up(a.ID, user); err != nil {
		s.cfg.Logger.Warn("cannot tell the cluster's registry of a user: its watchers are told at the resync", "state", state, "error", err)
		if state == "offline" {
			s.noteUnheard(unheard{app: a.ID, user: user})
		}
	}
}

// onlineLocked reports whether each of users is online: signed in on this node, or in a
// cluster on any node, with the versions of those states (this node's view, and no versions,
// while the registry cannot answer); a.mu is held.
func (a *appState) onlineLocked(s *Server, users []string) (on []bool, vers []int64) {
	on = make([]bool, len(users))
	if reg := s.usersRegistry(); reg != nil && len(users) > 0 {
		states, err := reg.Online(a.ID, users)
		if err == nil {
			vers = make([]int64, len(users))
			for i, st := range states {
				on[i], vers[i] = st.Online, st.Version
			}
			return on, vers
		}
		s.cfg.Logger.Warn("cannot read the cluster's online users: a watchlist gets this node's", "error", err)
	}
	for i, u := range users {
		on[i] = len(a.users[u]) > 0
	}
	return on, nil
}

// deliverWatch tells this node's watchers of a user its state in the cluster, but those whose
// watchlist state already shows it (told at a later version).
func (a *appState) deliverWatch(m Message) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	var frame []byte
	for c := range a.watchers[m.UserID] {
		c.mu.Lock()
		seen := c.watchVers != nil && c.watchVers[m.UserID] >= m.Version
		if !seen && c.watchVers != nil {
			c.watchVers[m.UserID] = m.Version
		}
		c.mu.Unlock()
		if seen {
			continue
		}
		if frame == nil {
			frame = protocol.EncodeWatchlist([]protocol.WatchlistEvent{{Name: m.Event, UserIDs: []string{m.UserID}}})
		}
		c.enqueueFrame(frame)
	}
}

// notifyWatchersLocked sends this node's watchers of user its new state; a.mu is held (a read
// lock is enough).
func (a *appState) notifyWatchersLocked(user, name string) {
	w := a.watchers[user]
	if len(w) == 0 {
		return
	}
	frame := protocol.EncodeWatchlist([]protocol.WatchlistEvent{{Name: name, UserIDs: []string{user}}})
	for c := range w {
		c.enqueueFrame(frame)
	}
}

// userConns returns the connections signed in as user.
func (a *appState) userConns(user string) []*conn {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*conn, 0, len(a.users[user]))
	for c := range a.users[user] {
		out = append(out, c)
	}
	return out
}
