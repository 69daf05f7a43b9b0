package refserver

import (
	"encoding/json"
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
	// Owed reports whether a held vacated or member_removed webhook is still to be sent.
	Owed(app string, ev protocol.WebhookEvent) bool
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

// ChannelCount is a channel's counts in the cluster.
type ChannelCount struct {
	Subscriptions int
	Users         int
}

// data is the member list of subscription_succeeded.
func (p Presence) data() *protocol.PresenceData {
	d := &protocol.PresenceData{IDs: make([]string, 0, len(p.Members)), Hash: make(map[string]json.RawMessage, len(p.Members))}
	for id, info := range p.Members {
		d.IDs = append(d.IDs, id)
		if len(info) == 0 {
			info = json.RawMessage("null")
		}
		d.Hash[id] = info
	}
	d.Count = len(d.IDs)
	return d
}
