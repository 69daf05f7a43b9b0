package refserver

import (
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Subscription counting (an app's SubscriptionCount): the subscribers of a public or private
// channel are told its count, pusher_internal:subscription_count, after every subscribe and
// unsubscribe. A channel of more than countEveryAbove subscribers is told at most once per
// countEvery, the count as it is at the end of the interval, so that a crowd joining does not
// cost each of its members a frame per arrival.
const (
	countEveryAbove = 100
	countEvery      = 5 * time.Second
)

// counter is a channel's subscription_count events on this node; ch.mu guards it.
type counter struct {
	n     int         // the count to tell
	sent  time.Time   // when the last count went out
	timer *time.Timer // the end of the interval, while a count waits for it
}

// counted reports whether a channel's subscribers are told its count.
func (a *appState) counted(ch *channel) bool { return a.countsKind(ch.kind) }

// countsKind reports whether the app tells the subscribers of channels of this kind their count:
// it counts, and presence channels have member events instead.
func (a *appState) countsKind(k protocol.ChannelKind) bool {
	return a.SubscriptionCount && k != protocol.Presence
}

// clusterCounted reports whether the subscribers of a channel are told the cluster's count of
// it, through the registry (under the count-events-per-node fault, each node tells its own).
func (s *Server) clusterCounted(app, ch string) bool {
	a := s.byID[app]
	return a != nil && a.countsKind(protocol.KindOf(ch)) && !s.cfg.Faults.CountEventsPerNode
}

// localCounted reports whether this node tells ch's subscribers its own count: on a single
// node, or in a cluster under the count-events-per-node fault.
func (s *Server) localCounted(a *appState, ch *channel) bool {
	return a.counted(ch) && (s.registry == nil || s.cfg.Faults.CountEventsPerNode)
}

// tellCountLocked tells this node's subscribers of ch that the channel has n subscribers, now
// or at the end of the interval; ch.mu is held for writing.
func (ch *channel) tellCountLocked(s *Server, a *appState, n int) {
	cn := &ch.count
	cn.n = n
	now := s.cfg.Now()
	if n <= countEveryAbove || now.Sub(cn.sent) >= countEvery {
		if cn.timer != nil {
			cn.timer.Stop()
			cn.timer = nil
		}
		cn.sent = now
		ch.sendCountLocked(a, n)
		return
	}
	if cn.timer != nil {
		return // the count waiting goes out with n
	}
	var t *time.Timer
	t = time.AfterFunc(countEvery-now.Sub(cn.sent), func() {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		if cn.timer != t {
			return // stopped, or replaced, after it fired
		}
		cn.timer, cn.sent = nil, s.cfg.Now()
		ch.sendCountLocked(a, cn.n)
	})
	cn.timer = t
}

// sendCountLocked queues the count to every subscriber of ch on this node; ch.mu is held.
func (ch *channel) sendCountLocked(a *appState, n int) {
	if len(ch.subs) == 0 {
		return
	}
	pm, err := prepare(protocol.EncodeSubscriptionCount(ch.name, n))
	if err != nil {
		return
	}
	sent := 0
	for c := range ch.subs {
		if c.enqueue(pm) {
			sent++
		}
	}
	a.metrics.messagesOut.Add(float64(sent))
}

// deliverCount tells this node's subscribers of a channel the cluster's count of it.
func (s *Server) deliverCount(app *appState, m Message) {
	ch := app.lookup(m.Channel)
	if ch == nil || !app.counted(ch) {
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.tellCountLocked(s, app, m.Count)
}
