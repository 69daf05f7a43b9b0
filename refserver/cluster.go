package refserver

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Registry is the occupancy and presence the nodes of a cluster share. A node keeps its own
// connections, channels and local member counts, and calls the registry at its local
// transitions (a channel's subscriber count changing, a user's first and last connection to a
// presence channel on this node); the registry answers with the cluster's: whether the channel
// became occupied or vacated anywhere, whether the user joined or left the cluster, the
// cluster's member list and counts. The single node has no registry: its own state is the
// cluster's.
//
// Webhooks follow the registry's transitions, so each goes out once per cluster, from the node
// that made it; a vacated or member_removed held for the debounce is sent only if Owed still
// says so when the debounce ends (no node came back with a subscriber or the user meanwhile).
type Registry interface {
	// Subscribed records that this node has n subscribers of ch now, one more than before.
	Subscribed(app, ch string, n int) (Occupancy, error)
	// Unsubscribed records that this node has n subscribers of ch now, one fewer; hold is how
	// long a vacated webhook is held (0: none is).
	Unsubscribed(app, ch string, n int, hold bool) (Occupancy, error)
	// MemberUp adds this node's first connection of user to presence channel ch, unless the
	// channel is full (max members); the answer has the cluster's member list.
	MemberUp(app, ch, user string, info json.RawMessage, max int) (Presence, error)
	// Members is the cluster's member list of ch, for another connection of a user already here.
	Members(app, ch string) (Presence, error)
	// MemberDown removes this node's last connection of user from ch; removed says the user has
	// no connection to ch left in the cluster.
	MemberDown(app, ch, user string, hold bool) (removed bool, err error)
	// Channels lists the cluster's occupied channels of app with their counts.
	Channels(app string) (map[string]ChannelCount, error)
	// Channel is one channel's counts in the cluster.
	Channel(app, ch string) (ChannelCount, error)
	// Cache keeps a cache channel's last event for ttl; Cached reads it, with the time left.
	Cache(app, ch, event, data string, ttl time.Duration) error
	Cached(app, ch string) (ev cachedEvent, ok bool, err error)
	// Held is what the registry holds of this node, per app: its channels and, on presence
	// channels, its members' ids; Restore puts an app's channels back as this node has them.
	// Together they resync a node after Redis lost its state or missed a change (Server.resync).
	Held() (map[string]map[string]Holding, error)
	Restore(app string, hs []Holding) error
	// Gone announces a leave the registry did not hear of (its call failed): a member of ch
	// (user), or the channel's last subscriber (user ""), when no node has them now; it reports
	// whether it was announced, with member_removed to every node's subscribers.
	Gone(app, ch, user string) (bool, error)
	// Owed reports whether a held vacated or member_removed webhook is still to be sent.
	Owed(app string, ev protocol.WebhookEvent) bool
	// Connections records that this node has n connections of app now; with max > 0 it refuses
	// (false, recording nothing) when the cluster's live nodes would then hold more than max.
	// The count is absolute, so a later call puts back what Redis lost.
	Connections(app string, n, max int) (bool, error)
	UserRegistry
}

// UserRegistry is the cluster's signed-in users, for watchlists. A node calls UserUp at its
// first connection of a user and UserDown after its last; at the user's first connection in
// the cluster, and after its last, the registry sends every node a watch message (online,
// offline) that each node delivers to its watchers of the user.
type UserRegistry interface {
	UserUp(app, user string) error
	UserDown(app, user string) error
	// Online is the state of each of users: whether it has a connection on some node, at which
	// version (the watch messages up to it are in the state).
	Online(app string, users []string) ([]UserState, error)
	// HeldUsers is the users the registry holds of this node, per app; RestoreUsers puts an
	// app's back as this node has them, without an event (a resync, as Held and Restore are for
	// channels).
	HeldUsers() (map[string][]string, error)
	RestoreUsers(app string, users []string) error
}

// ErrNotHeld is a leave the registry has no record of: Redis lost what the node told it (a
// restart without persistence) and the node has not put it back yet. The leave is told at
// the node's resync.
var ErrNotHeld = errors.New("the registry does not hold it: Redis lost it")

// UserState is a user's state in the cluster, for watchlists.
type UserState struct {
	Online  bool
	Version int64 // the user's watch version: the watch messages up to it are in Online
}

// Occupancy is a channel's cluster-wide state after a node's subscriber count changed.
type Occupancy struct {
	First bool // the channel became occupied in the cluster
	Last  bool // the channel became vacated in the cluster
	Hook  bool // a channel_occupied webhook is owed (not a return within a held vacated)
	Count int  // subscriptions in the cluster
}

// Presence is a presence channel's cluster-wide members after a node's join.
type Presence struct {
	Added   bool  // the user had no connection to the channel anywhere before
	Hook    bool  // a member_added webhook is owed (not a return within a held member_removed)
	Full    bool  // refused: the channel has its maximum of members
	Version int64 // the channel's presence version: member events up to it are in Members
	Members map[string]json.RawMessage
}

// Holding is one channel as a node holds it: its subscriber count and, on a presence channel,
// its members (user id -> user_info; Held gives the ids only).
type Holding struct {
	Channel string
	Count   int
	Members map[string]json.RawMessage
}

// ChannelCount is a channel's counts in the cluster.
type ChannelCount struct {
	Subscriptions int
	Users         int
}

// data is the member list of subscription_succeeded.
func (p Presence) data() *protocol.PresenceData {
	return presenceOf(p.Members, func(info json.RawMessage) json.RawMessage { return info })
}

// resync makes the registry hold exactly this node's state again, after Redis lost it (a
// restart without persistence, or the others took the node for dead) or may have missed part of
// it (calls that failed while Redis was away). What the registry holds of this node that the
// node no longer has is removed as a leave would be, with member_removed and the webhooks; what
// the node has is put back without an event, for no client saw anything change. Each app is
// resynced under its lock, so that no join or leave of the node comes in between.
func (s *Server) resync() {
	held, err := s.registry.Held()
	if err != nil {
		s.cfg.Logger.Warn("cluster resync: cannot read what the registry holds of this node", "error", err)
		return
	}
	heldUsers, err := s.registry.HeldUsers()
	if err != nil {
		s.cfg.Logger.Warn("cluster resync: cannot read the users the registry holds of this node", "error", err)
		return
	}
	unheard := s.takeUnheard()
	for _, a := range s.byID {
		a.mu.Lock()
		hs := a.holdings(s.cfg.Faults.PresencePerNode)
		have := make(map[string]*Holding, len(hs))
		for i := range hs {
			have[hs[i].Channel] = &hs[i]
		}
		for name, h := range held[a.ID] {
			a.forget(s.registry, name, h, have[name])
		}
		if err := s.registry.Restore(a.ID, hs); err != nil {
			s.cfg.Logger.Warn("cluster resync: cannot put this node's channels back", "app", a.ID, "error", err)
		}
		a.countConnsLocked(s.registry)
		if !s.cfg.Faults.WatchlistPerNode {
			a.resyncUsersLocked(s.registry, heldUsers[a.ID], unheard)
		}
		for _, u := range unheard {
			if u.app == a.ID && u.channel != "" && !held[a.ID][u.channel].has(u.user) && !a.hasLocked(u.channel, u.user) {
				a.announceGone(s.registry, u)
			}
		}
		a.mu.Unlock()
	}
}

// resyncUsersLocked makes the registry hold this node's signed-in users of the app, as the
// channels are resynced: a user it holds (or whose sign-out it did not hear of) that is gone from
// the node is signed out, offline to every watcher when no node has it; a user it does not hold
// is signed in again, online to the watchers when it is the cluster's first (after Redis came
// back empty the watchers hear online for users they knew online: once more rather than
// never); the rest is put back without an event. a.mu is held.
func (a *appState) resyncUsersLocked(reg Registry, held []string, unheard []unheard) {
	had := make(map[string]bool, len(held))
	for _, u := range held {
		had[u] = true
	}
	gone := slices.Clone(held)
	for _, u := range unheard {
		if u.app == a.ID && u.channel == "" {
			gone = append(gone, u.user)
		}
	}
	for _, u := range gone {
		if len(a.users[u]) == 0 {
			if err := reg.UserDown(a.ID, u); err != nil {
				return // the registry is marked: the next resync tries again
			}
		}
	}
	users := make([]string, 0, len(a.users))
	for u := range a.users {
		if !had[u] {
			if err := reg.UserUp(a.ID, u); err != nil {
				return
			}
		}
		users = append(users, u)
	}
	_ = reg.RestoreUsers(a.ID, users) // a failure marks the registry for the next resync
}

// unheard is a leave of this node the registry did not hear of: a member (user) of a channel,
// a channel's last subscriber (user ""), or a signed-in user's last connection (channel "").
type unheard struct{ app, channel, user string }

// noteUnheard keeps a leave whose registry call failed, for the next resync.
func (s *Server) noteUnheard(u unheard) {
	s.unheardMu.Lock()
	if len(s.unheard) < maxUnheard {
		s.unheard = append(s.unheard, u)
	}
	s.unheardMu.Unlock()
}

// maxUnheard bounds the leaves a node keeps while Redis is away; past it, the others' clients
// may keep a member that left until they resubscribe (logged at the resync).
const maxUnheard = 100000

func (s *Server) takeUnheard() []unheard {
	s.unheardMu.Lock()
	defer s.unheardMu.Unlock()
	out := s.unheard
	s.unheard = nil
	return out
}

// has reports whether a Holding of the registry names user ("": the channel itself).
func (h Holding) has(user string) bool {
	if user == "" {
		return h.Channel != ""
	}
	_, ok := h.Members[user]
	return ok
}

// hasLocked reports whether this node has the channel now, or the user on it; a.mu is held.
func (a *appState) hasLocked(name, user string) bool {
	ch := a.channels[name]
	if ch == nil || user == "" {
		return ch != nil
	}
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	return ch.members[user] != nil
}

// announceGone tells the cluster of a leave it did not hear of, with its webhook.
func (a *appState) announceGone(reg Registry, u unheard) {
	gone, err := reg.Gone(a.ID, u.channel, u.user)
	switch {
	case err != nil || !gone:
	case u.user == "":
		a.hooks.emitNow(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: u.channel})
	default:
		a.hooks.emitNow(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: u.channel, UserID: u.user})
	}
}

// holdings is what this node has of the app: each channel's subscriber count and local
// members; a.mu is held.
func (a *appState) holdings(perNode bool) []Holding {
	out := make([]Holding, 0, len(a.channels))
	for name, ch := range a.channels {
		ch.mu.Lock()
		h := Holding{Channel: name, Count: len(ch.subs)}
		if ch.kind == protocol.Presence && !perNode {
			h.Members = make(map[string]json.RawMessage, len(ch.members))
			for uid, m := range ch.members {
				h.Members[uid] = m.info
			}
		}
		ch.mu.Unlock()
		out = append(out, h)
	}
	return out
}

// forget removes from the registry what it holds of this node's channel name (h) that the node
// no longer has (now, nil when the channel is gone): a channel left, or members gone, while
// Redis was away.
func (a *appState) forget(reg Registry, name string, h Holding, now *Holding) {
	for uid := range h.Members {
		if now != nil {
			if _, ok := now.Members[uid]; ok {
				continue
			}
		}
		if removed, err := reg.MemberDown(a.ID, name, uid, a.hooks != nil); err == nil && removed {
			a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: name, UserID: uid})
		}
	}
	if now == nil {
		if occ, err := reg.Unsubscribed(a.ID, name, 0, a.hooks != nil); err == nil && occ.Last {
			a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: name})
		}
	}
}

// usersRegistry is where a node tells of its signed-in users: nil on a single node (and under
// the watchlist-per-node fault), where the node's own users are the server's.
func (s *Server) usersRegistry() UserRegistry {
	if s.registry == nil || s.cfg.Faults.WatchlistPerNode {
		return nil
	}
	return s.registry
}

// quotaRegistry is where a node checks an app's connection quota: nil on a single node (and
// under the quota-per-node fault), where the node's own count is the server's.
func (s *Server) quotaRegistry() Registry {
	if s.cfg.Faults.QuotaPerNode {
		return nil
	}
	return s.registry
}
