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
	members map[string]*member // presence only: user id -> member
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
// presence channel tells the others with member_removed.
func (ch *channel) remove(c *conn) {
	uid, ok := ch.subs[c]
	if !ok {
		return
	}
	delete(ch.subs, c)
	c.srv.metrics.subscriptions.Dec()
	if ch.kind != protocol.Presence {
		return
	}
	m := ch.members[uid]
	if m == nil {
		return
	}
	m.conns--
	if c.srv.cfg.Faults.PerConnectionMemberHooks && m.conns > 0 {
		c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
	}
	if m.conns > 0 {
		return
	}
	delete(ch.members, uid)
	c.app.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: ch.name, UserID: uid})
	if c.srv.cfg.Faults.NoMemberRemoved {
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
	uid := ""
	var added *member
	if pres != nil {
		uid = pres.UserID
		m := ch.members[uid]
		if m == nil {
			if len(ch.members) >= a.MaxPresenceMembers {
				if len(ch.subs) == 0 {
					delete(a.channels, name)
				}
				a.mu.Unlock()
				c.sendError(protocol.CodeOverCapacity, fmt.Sprintf("Presence channel is full: %d members", a.MaxPresenceMembers), name)
				return
			}
			m = &member{info: pres.UserInfo}
			ch.members[uid] = m
			added = m
		} else if c.srv.cfg.Faults.DuplicateMemberAdded {
			added = m
		}
		m.conns++
	}
	ch.subs[c] = uid
	if len(ch.subs) == 1 || c.srv.cfg.Faults.PerConnectionOccupancy {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookChannelOccupied, Channel: name})
	}
	if added != nil || (pres != nil && c.srv.cfg.Faults.PerConnectionMemberHooks) {
		a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookMemberAdded, Channel: name, UserID: uid})
	}
	a.countHook(ch, len(ch.subs))
	// The channel has a subscriber now: nothing drops it from the app while ch.mu is held. The
	// app's lock goes; the member list is encoded and the frames queued under the channel's
	// alone, so that other channels' lookups do not wait for it.
	a.mu.Unlock()
	c.srv.metrics.subscriptions.Inc()
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[*channel]struct{}{}
	}
	c.subs[ch] = struct{}{}
	if ch.kind.NeedsAuth() {
		c.authed = true
	}
	c.mu.Unlock()
	c.enqueueFrame(protocol.EncodeSubscriptionSucceeded(name, ch.presenceData()))
	if added != nil {
		pm, err := prepare(protocol.EncodeMemberAdded(name, uid, added.info))
		if err == nil {
			for o, ouid := range ch.subs {
				if ouid != uid || (c.srv.cfg.Faults.DuplicateMemberAdded && o != c) {
					o.enqueue(pm)
				}
			}
		}
	}
	if c.srv.isCache(name) {
		if ev, ok := a.cached(name, c.srv.cfg.Now()); ok {
			c.enqueueFrame(protocol.EncodeEvent(ev.event, name, ev.data, ""))
		} else {
			c.enqueueFrame(protocol.EncodeCacheMiss(name))
			a.hooks.emit(protocol.WebhookEvent{Name: protocol.HookCacheMiss, Channel: name})
		}
	}
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
	pm, err := prepare(protocol.EncodeRawEvent(m.Event, name, m.Data, uid))
	if err != nil {
		return
	}
	except := c.socketID
	if c.srv.cfg.Faults.EchoClientEvents {
		except = ""
	}
	n := ch.broadcast(c.srv, pm, except)
	c.srv.metrics.messagesOut.Add(float64(n))
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
	d := &protocol.PresenceData{IDs: make([]string, 0, len(ch.members)), Hash: make(map[string]json.RawMessage, len(ch.members))}
	for id, m := range ch.members {
		d.IDs = append(d.IDs, id)
		info := m.info
		if info == nil {
			info = json.RawMessage("null")
		}
		d.Hash[id] = info
	}
	d.Count = len(d.IDs)
	return d
}

// isReserved reports names clients may not use as events.
func isReserved(event string) bool {
	return strings.HasPrefix(event, protocol.PusherPrefix) || strings.HasPrefix(event, protocol.InternalPrefix)
}
