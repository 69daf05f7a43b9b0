package refserver

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pushcert/pushcert/internal/protocol"
)

// channel is one occupied channel: its subscribers and, for presence channels, its members.
// It exists while it has subscribers.
type channel struct {
	name    string
	kind    protocol.ChannelKind
	mu      sync.RWMutex
	subs    map[*conn]string   // subscriber -> its presence user id ("" on other kinds)
	members map[string]*member // presence only: user id -> member (this node's connections)
	// vers, in a cluster, is each presence subscriber's version of the member list it was sent:
	// a member event that list already shows (an earlier version) is not sent to it.
	vers  map[*conn]int64
	count counter // its subscription_count events, for an app that counts
}

func newChannel(name string) *channel {
	ch := &channel{name: name, kind: protocol.KindOf(name), subs: map[*conn]string{}}
	if ch.kind == protocol.Presence {
		ch.members = map[string]*member{}
	}
	return ch
}

// broadcast queues one prepared frame to every subscriber except the one whose socket id is
// except; it returns how many were queued. It never blocks and never allocates per delivery.
func (ch *channel) broadcast(s *Server, pm *prepared, except string) int {
	n := 0
	faulty := s.cfg.Faults.deliveryFaults()
	ch.mu.RLock()
	for c := range ch.subs {
		if c.socketID == except || (faulty && s.faultyDeliver(c, pm)) {
			continue
		}
		if c.enqueue(pm) {
			n++
		}
	}
	ch.mu.RUnlock()
	return n
}

// remove takes c out of the channel; ch.mu must be held. The user's last connection leaving a
// presence channel tells the others with member_removed: here on a single node, through the
// cluster's message in a cluster.
func (ch *channel) remove(c *conn) {
	uid, ok := ch.subs[c]
	if !ok {
		return
	}
	delete(ch.subs, c)
	delete(ch.vers, c)
	c.app.metrics.subscriptions.Dec()
	if ch.kind != protocol.Presence {
		return
	}
	m := ch.members[uid]
	if m == nil {
		return
	}
	m.conns--
	f := &c.srv.cfg.Faults
	if f.PerConnectionMemberHooks && m.conns > 0 {
		c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
	}
	if m.conns > 0 {
		return
	}
	delete(ch.members, uid)
	if reg := c.srv.registry; reg != nil && !f.PresencePerNode {
		removed, err := reg.MemberDown(c.app.ID, ch.name, uid, c.app.hooks != nil)
		if err != nil {
			c.srv.cfg.Logger.Warn("cannot remove a member from the cluster's registry: it is told when Redis answers", "channel", ch.name, "error", err)
			c.srv.noteUnheard(unheard{c.app.ID, ch.name, uid})
		}
		switch {
		case removed:
			c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
		case f.MemberHooksPerNode:
			c.app.hooks.emitNow(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
		}
		return
	}
	c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
	if f.NoMemberRemoved {
		return
	}
	pm, err := prepare(protocol.EncodeMemberRemoved(ch.name, uid))
	if err != nil {
		return
	}
	for o := range ch.subs {
		o.enqueue(pm)
	}
}

// deliverMemberEvent tells this node's subscribers of a presence channel that a user joined or
// left the cluster; a subscriber whose member list already has it, and the user's own
// connections, are skipped.
func (s *Server) deliverMemberEvent(app *appState, m Message) {
	if m.Kind == MsgMemberRemoved && s.cfg.Faults.NoMemberRemoved {
		return
	}
	ch := app.lookup(m.Channel)
	if ch == nil || ch.kind != protocol.Presence {
		return
	}
	frame := protocol.EncodeMemberRemoved(m.Channel, m.UserID)
	if m.Kind == MsgMemberAdded {
		frame = protocol.EncodeMemberAdded(m.Channel, m.UserID, m.Info)
	}
	pm, err := prepare(frame)
	if err != nil {
		return
	}
	ch.mu.RLock()
	defer ch.mu.RUnlock()
	for o, uid := range ch.subs {
		if uid != m.UserID && ch.vers[o] < m.Version {
			o.enqueue(pm)
		}
	}
}

// deliverClientEvent relays a client event to this node's subscribers of its channel, never to
// its sender.
func (s *Server) deliverClientEvent(app *appState, m Message) {
	if ch := app.lookup(m.Channel); ch != nil {
		s.relay(app, ch, m)
	}
}

// relay queues a client event to ch's subscribers but its sender.
func (s *Server) relay(app *appState, ch *channel, m Message) {
	pm, err := prepare(protocol.EncodeRawEvent(m.Event, m.Channel, m.Raw, m.UserID))
	if err != nil {
		return
	}
	app.metrics.messagesOut.Add(float64(ch.broadcast(s, pm, m.SocketID)))
}

// subscribe handles pusher:subscribe: name rules, authorization, presence membership, then
// subscription_succeeded and, on cache channels, the cached event or pusher:cache_miss.
func (c *conn) subscribe(m protocol.Message) {
	d, err := protocol.ParseSubscribe(m)
	if err != nil {
		c.sendError(0, "Invalid subscribe: "+err.Error(), "")
		return
	}
	name := d.Channel
	if name == "" {
		c.sendError(0, "Invalid subscribe: data.channel is required", "")
		return
	}
	if !c.mayJoin(name) {
		return
	}
	kind := c.srv.kindOf(name)
	if kind == protocol.ServerToUser {
		c.subscribeServerToUser(name)
		return
	}
	if !protocol.ValidChannelName(name) {
		c.sendError(0, fmt.Sprintf("Invalid channel name %q: 1 to %d characters of A-Z a-z 0-9 _ - = @ , . ;",
			truncate(name, maxEcho), protocol.MaxChannelNameLength), truncate(name, maxEcho))
		return
	}
	var pres *protocol.PresenceMember
	if kind.NeedsAuth() && !c.srv.cfg.Faults.AcceptAnyChannelAuth {
		if !protocol.VerifyChannelAuth(c.app.Key, c.app.Secret, c.socketID, name, d.ChannelData, d.Auth) {
			c.sendError(protocol.CodeUnauthorized, fmt.Sprintf(
				"Invalid signature: Expected HMAC SHA256 hex digest of %s, but got %s",
				truncate(protocol.ChannelAuthString(c.socketID, name, d.ChannelData), maxEcho), truncate(d.Auth, maxEcho)), name)
			return
		}
	}
	if kind == protocol.Presence && d.ChannelData == "" {
		// pusher-js 7.1+ joins without channel_data when signed in: the member is the user.
		c.mu.Lock()
		user, info := c.userID, c.userInfo
		c.mu.Unlock()
		if user != "" {
			// The member is the signed-in user, held to the limits of every member.
			switch {
			case len(user) > protocol.MaxPresenceUserIDLength:
				c.sendError(0, fmt.Sprintf("Invalid presence member: the signed-in user id is longer than %d characters", protocol.MaxPresenceUserIDLength), name)
			case len(info) > c.app.MaxPresenceInfo:
				c.sendError(0, fmt.Sprintf("Presence user_info is %d bytes, over the limit of %d", len(info), c.app.MaxPresenceInfo), name)
			default:
				c.join(name, &protocol.PresenceMember{UserID: user, UserInfo: info})
			}
			return
		}
	}
	if kind == protocol.Presence {
		pm, err := protocol.ParseChannelData(d.ChannelData)
		if err != nil {
			c.sendError(0, "Invalid presence channel_data: "+err.Error(), name)
			return
		}
		if c.srv.cfg.Faults.TypedUserIDs && !strings.Contains(d.ChannelData, `"user_id":"`) {
			pm.UserID = "number:" + pm.UserID // a map keyed by the raw value: 4242 is not "4242"
		}
		if len(pm.UserInfo) > c.app.MaxPresenceInfo {
			c.sendError(0, fmt.Sprintf("Presence user_info is %d bytes, over the limit of %d", len(pm.UserInfo), c.app.MaxPresenceInfo), name)
			return
		}
		pres = &pm
	}
	c.join(name, pres)
}

// mayJoin applies the per-connection bounds of subscribing, before any authorization or lock of
// the app: a channel the connection is already subscribed to (answered cheaply, with no member
// list), its number of channels, and the subscribe rate.
func (c *conn) mayJoin(name string) bool {
	cfg := c.srv.cfg
	ch := c.app.lookup(name)
	c.mu.Lock()
	_, already := c.subs[ch]
	n := len(c.subs)
	c.mu.Unlock()
	switch {
	case ch != nil && already:
		c.sendError(0, "Existing subscription to channel "+truncate(name, maxEcho), name)
		return false
	case n >= cfg.MaxSubscriptions:
		c.sendError(0, fmt.Sprintf("Subscription limit reached: at most %d channels per connection; unsubscribe from one first", cfg.MaxSubscriptions), name)
		return false
	case !c.allowSubscribe():
		c.sendError(0, fmt.Sprintf("Too many subscribes: at most %d a second; subscribe later", cfg.SubscribeRate), name)
		return false
	}
	return true
}

// join adds c to the channel under the channel's lock, so that the member list, the success
// frame and member_added are consistent with every concurrent join and leave; the app's lock is
// held only until c is in the channel (finding or making it, and dropping a full channel's).
// In a cluster the registry is asked under both, so this node's transitions reach it in order.
func (c *conn) join(name string, pres *protocol.PresenceMember) {
	a := c.app
	a.mu.Lock()
	ch := a.channelLocked(name)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if _, already := ch.subs[c]; already { // mayJoin answers this first; kept for safety
		a.mu.Unlock()
		c.sendError(0, "Existing subscription to channel "+truncate(name, maxEcho), name)
		return
	}
	var (
		pd    *protocol.PresenceData
		added *member
		ok    bool
	)
	if c.srv.registry != nil && !(pres != nil && c.srv.cfg.Faults.PresencePerNode) {
		pd, ok = c.enterCluster(ch, pres)
	} else {
		added, ok = c.enter(ch, pres)
		pd = ch.presenceData()
	}
	// The channel has a subscriber now: nothing drops it from the app while ch.mu is held. The
	// app's lock goes; the member list is encoded and the frames queued under the channel's
	// alone, so that other channels' lookups do not wait for it.
	a.mu.Unlock()
	if !ok {
		return
	}
	c.app.metrics.subscriptions.Inc()
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[*channel]struct{}{}
	}
	c.subs[ch] = struct{}{}
	if ch.kind.NeedsAuth() {
		c.authed = true
	}
	c.mu.Unlock()
	c.enqueueFrame(protocol.EncodeSubscriptionSucceeded(name, pd))
	if c.srv.localCounted(a, ch) {
		ch.tellCountLocked(c.srv, a, len(ch.subs))
	}
	if added != nil {
		pm, err := prepare(protocol.EncodeMemberAdded(name, pres.UserID, added.info))
		if err == nil {
			for o, ouid := range ch.subs {
				if ouid != pres.UserID || (c.srv.cfg.Faults.DuplicateMemberAdded && o != c) {
					o.enqueue(pm)
				}
			}
		}
	}
	if c.srv.isCache(name) {
		c.sendCached(name)
	}
}

// enter puts c in ch on a single node, with the webhooks of what that changes; added is a new
// member, whom the others are told of. a.mu and ch.mu are held.
func (c *conn) enter(ch *channel, pres *protocol.PresenceMember) (added *member, ok bool) {
	a, f := c.app, &c.srv.cfg.Faults
	uid := ""
	if pres != nil {
		uid = pres.UserID
		m := ch.members[uid]
		if m == nil {
			if len(ch.members) >= a.MaxPresenceMembers {
				c.refuseFull(ch)
				return nil, false
			}
			m = &member{info: pres.UserInfo}
			ch.members[uid] = m
			added = m
		} else if f.DuplicateMemberAdded {
			added = m
		}
		m.conns++
	}
	ch.subs[c] = uid
	if len(ch.subs) == 1 || f.PerConnectionOccupancy {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelOccupied, Channel: ch.name})
	}
	if added != nil || (pres != nil && f.PerConnectionMemberHooks) {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberAdded, Channel: ch.name, UserID: uid})
	}
	a.countHook(ch, len(ch.subs))
	return added, true
}

// enterCluster puts c in ch on a node of a cluster: the registry says what changed in the
// cluster (the webhooks owed) and gives the cluster's member list. A new member's
// member_added reaches every node's subscribers as a cluster message. a.mu and ch.mu are held.
func (c *conn) enterCluster(ch *channel, pres *protocol.PresenceMember) (*protocol.PresenceData, bool) {
	a, reg := c.app, c.srv.registry
	var snap Presence
	if pres != nil {
		uid := pres.UserID
		m := ch.members[uid]
		var err error
		if m == nil {
			snap, err = reg.MemberUp(a.ID, ch.name, uid, pres.UserInfo, a.MaxPresenceMembers)
		} else {
			snap, err = reg.Members(a.ID, ch.name)
		}
		switch {
		case err != nil:
			c.refuseCluster(ch, err)
			return nil, false
		case snap.Full:
			c.refuseFull(ch)
			return nil, false
		}
		first := m == nil
		if first {
			m = &member{info: pres.UserInfo}
			ch.members[uid] = m
		}
		m.conns++
		if snap.Hook || (first && c.srv.cfg.Faults.MemberHooksPerNode) {
			a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberAdded, Channel: ch.name, UserID: uid})
		}
		if ch.vers == nil {
			ch.vers = map[*conn]int64{}
		}
		ch.vers[c] = snap.Version
		ch.subs[c] = uid
	} else {
		ch.subs[c] = ""
	}
	occ, err := reg.Subscribed(a.ID, ch.name, len(ch.subs))
	if err != nil {
		c.app.metrics.subscriptions.Inc() // remove counts the subscription out
		ch.remove(c)                      // and undoes the membership
		if len(ch.subs) == 0 {
			if _, err := reg.Unsubscribed(a.ID, ch.name, 0, false); err != nil {
				c.srv.cfg.Logger.Debug("cannot undo a refused subscription", "error", err)
			}
		}
		c.refuseCluster(ch, err)
		return nil, false
	}
	if (occ.First && occ.Hook) || (len(ch.subs) == 1 && c.srv.cfg.Faults.OccupancyPerNode) {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelOccupied, Channel: ch.name})
	}
	a.countHook(ch, occ.Count)
	if pres == nil {
		return nil, true
	}
	return snap.data(), true
}

// refuseFull answers a join to a presence channel at its maximum of members; a.mu and ch.mu
// are held.
func (c *conn) refuseFull(ch *channel) {
	if len(ch.subs) == 0 {
		delete(c.app.channels, ch.name)
	}
	c.sendError(protocol.CodeOverCapacity, fmt.Sprintf("Presence channel is full: %d members", c.app.MaxPresenceMembers), ch.name)
}

// refuseCluster answers a join the cluster's registry could not take; a.mu and ch.mu are held.
func (c *conn) refuseCluster(ch *channel, err error) {
	if len(ch.subs) == 0 {
		delete(c.app.channels, ch.name)
	}
	c.srv.cfg.Logger.Warn("subscription refused: the cluster's registry failed", "channel", ch.name, "error", err)
	c.sendError(0, "Cannot subscribe: the cluster is unavailable; subscribe again later", ch.name)
}

// sendCached sends a cache channel's last event to c, or pusher:cache_miss (and its webhook).
// In a cluster the event may have been published before this node had a subscriber: the
// registry keeps it.
func (c *conn) sendCached(name string) {
	a := c.app
	ev, ok := a.cached(name, c.srv.cfg.Now())
	if !ok && c.srv.registry != nil && !c.srv.cfg.Faults.LocalCache {
		var err error
		if ev, ok, err = c.srv.registry.Cached(a.ID, name); err != nil {
			c.srv.cfg.Logger.Warn("cannot read the cluster's cache", "channel", name, "error", err)
		}
	}
	if ok {
		c.enqueueFrame(protocol.EncodeEvent(ev.event, name, ev.data, ""))
		return
	}
	c.enqueueFrame(protocol.EncodeCacheMiss(name))
	a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookCacheMiss, Channel: name})
}

// unsubscribe handles pusher:unsubscribe; no acknowledgement is sent, as the protocol says.
func (c *conn) unsubscribe(m protocol.Message) {
	d, err := protocol.ParseSubscribe(m)
	if err != nil || d.Channel == "" {
		c.sendError(0, "Invalid unsubscribe: data.channel is required", "")
		return
	}
	a := c.app
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.channels[d.Channel]
	if ch == nil {
		return
	}
	c.mu.Lock()
	delete(c.subs, ch)
	c.mu.Unlock()
	a.leaveLocked(ch, c)
}

// clientEvent applies the rules of client events in the protocol's order: enabled for the app,
// private or presence channel, sender subscribed, data size, rate limit; then relays the event to
// the other subscribers, never back to the sender, with user_id on presence channels.
func (c *conn) clientEvent(m protocol.Message) {
	name := m.Channel
	switch {
	case !c.app.ClientEventsEnabled():
		c.sendError(protocol.CodeClientEventLimit, "Client events are not enabled for this app", name)
		if !c.srv.cfg.Faults.IgnoreClientEventsOff {
			return
		}
	}
	switch {
	case name == "":
		c.sendError(0, "Client event "+truncate(m.Event, maxEcho)+" has no channel: give the private or presence channel it is for", "")
		return
	case len(m.Event) > protocol.MaxEventNameLength:
		c.sendError(0, fmt.Sprintf("Event name is longer than %d characters", protocol.MaxEventNameLength), name)
		return
	case !protocol.KindOf(name).AcceptsClientEvents() && !c.srv.cfg.Faults.PublicClientEvents:
		c.sendError(0, "Client events are only accepted on private and presence channels", truncate(name, maxEcho))
		return
	}
	ch := c.app.lookup(name)
	uid, member := "", false
	if ch != nil {
		ch.mu.RLock()
		uid, member = ch.subs[c]
		ch.mu.RUnlock()
	}
	if !member && (ch == nil || !c.srv.cfg.Faults.RelayNonMemberEvents) {
		c.sendError(protocol.CodeUnauthorized, "The client is not subscribed to "+truncate(name, maxEcho)+": subscribe before sending client events on it", name)
		return
	}
	if len(m.Data) > c.srv.cfg.MaxEventData {
		c.sendError(0, fmt.Sprintf("Client event data is %d bytes, over the limit of %d", len(m.Data), c.srv.cfg.MaxEventData), name)
		return
	}
	if !c.srv.cfg.Faults.NoClientEventLimit && !c.allowClientEvent() {
		c.sendError(protocol.CodeClientEventLimit, fmt.Sprintf("Client event rejected due to rate limit: at most %d per second", c.app.ClientEventRate), name)
		return
	}
	except := c.socketID
	if c.srv.cfg.Faults.EchoClientEvents {
		except = ""
	}
	msg := Message{Kind: MsgClientEvent, AppID: c.app.ID, Channel: name, Event: m.Event, Raw: m.Data, SocketID: except, UserID: uid}
	if c.srv.registry == nil {
		c.srv.relay(c.app, ch, msg) // a single node: the channel is at hand, no second lookup
	} else if err := c.srv.send(msg); err != nil {
		c.sendError(0, "Client event not delivered: the cluster is unavailable; send it again later", name)
		return
	}
	c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookClientEvent, Channel: name, Event: m.Event,
		Data: hookData(m), SocketID: c.socketID, UserID: uid})
}

// hookData is a client event's data as a webhook carries it: a string, the JSON text of an
// object the client sent.
func hookData(m protocol.Message) string {
	if m.DataIsString() {
		var s string
		if json.Unmarshal(m.Data, &s) == nil {
			return s
		}
	}
	return string(m.Data)
}

// maxEcho bounds how much of a client's input an error quotes back: a client must not make
// the server hold, or send, more than it was sent.
const maxEcho = 200

// truncate cuts s to n bytes, on a character boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) { // never a part of a character: the frame must stay UTF-8
		n--
	}
	return s[:n] + "..."
}

// presenceData builds the presence payload of subscription_succeeded; nil on other kinds.
func (ch *channel) presenceData() *protocol.PresenceData {
	if ch.kind != protocol.Presence {
		return nil
	}
	return presenceOf(ch.members, func(m *member) json.RawMessage { return m.info })
}

// presenceOf is the member list of subscription_succeeded from members, this node's or the
// cluster's: each member's user_info, null when it has none.
func presenceOf[M any](members map[string]M, info func(M) json.RawMessage) *protocol.PresenceData {
	d := &protocol.PresenceData{IDs: make([]string, 0, len(members)), Hash: make(map[string]json.RawMessage, len(members))}
	for id, m := range members {
		d.IDs = append(d.IDs, id)
		i := info(m)
		if len(i) == 0 {
			i = json.RawMessage("null")
		}
		d.Hash[id] = i
	}
	d.Count = len(d.IDs)
	return d
}

// isReserved reports names clients may not use as events.
func isReserved(event string) bool {
	return strings.HasPrefix(event, protocol.PusherPrefix) || strings.HasPrefix(event, protocol.InternalPrefix)
}
