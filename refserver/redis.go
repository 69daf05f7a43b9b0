package refserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pushcert/pushcert/internal/protocol"
)

// Cluster timing defaults.
const (
	DefaultNodeDeadAfter = 5 * time.Second // a node silent this long is dead: the others remove its state
	MinNodeDeadAfter     = 3 * nodeHeartbeat
	nodeHeartbeat        = time.Second     // how often a node says it is alive, and looks for dead ones
	redisOpTimeout       = 2 * time.Second // one registry call
	hookHoldMargin       = time.Minute     // a held webhook's mark outlives its debounce by this much
)

// redisCluster is the Broker and the Registry of a cluster on one Redis server.
//
// Messages go through one pub/sub channel, <prefix>:msg. Redis delivers them to every node
// subscribed, in the order Redis received them: the messages of one publisher arrive in order
// everywhere. Pub/sub is at most once: a node that loses its Redis connection misses what is
// published until go-redis has subscribed again.
//
// State, per app A, channel C, user U and node N, changed only by the scripts below so that each
// transition is decided once:
//
//	<p>:nodes          sorted set N -> the Redis time of its last heartbeat (ms)
//	<p>:node:N         set of what N holds (JSON entries), removed by whoever reaps N
//	<p>:A:chans        set of the occupied channels
//	<p>:A:occ:C        hash N -> N's subscriber count of C
//	<p>:A:mem:C        hash U -> user_info: the cluster's members of presence channel C
//	<p>:A:ref:C:U      set of the nodes where U has a connection to C
//	<p>:A:ver:C        C's presence version, counted up by each member event
//	<p>:A:vac:C        a held channel_vacated is owed (cleared by a return within the debounce)
//	<p>:A:gone:C:U     a held member_removed is owed (cleared by the user's return)
//	<p>:A:cache:C      a cache channel's last event [event, data], expiring with the cache TTL
//	<p>:A:on:U         set of the nodes where U is signed in (watchlists)
//	<p>:A:uv:U         U's watch version, counted up by each online and offline
//
// A node dead for NodeDeadAfter (no heartbeat) is reaped by the first live node to see it: its
// subscriber counts and members are removed, member_removed is published for the users it was
// the last node of (and the new count of each channel others still hold, for the apps that
// count, and offline for the signed-in users it was the last node of), and the reaping node
// sends the webhooks.
type redisCluster struct {
	rdb      *redis.Client
	prefix   string
	node     string
	dead     time.Duration
	log      *slog.Logger
	debounce time.Duration // the webhook debounce: how long a held webhook's mark must last
	keepDead bool          // the ghost-members fault: dead nodes are never reaped
	onReaped func(app string, ev protocol.WebhookEvent)
	onResync func()                    // the server's resync, after Redis lost this node's state or missed some
	counted  func(app, ch string) bool // whether a channel's subscribers are told its count
	dirty    atomic.Bool

	ps        *redis.PubSub
	stop      chan struct{}
	done      sync.WaitGroup
	closed    sync.Once
	beats     int  // heartbeats taken by Redis; only beat() touches it
	resyncDue bool // the node's state must be put back; only beat() touches it
}

// quietRedis keeps go-redis's own log off the server's stderr: every failed call is reported
// by the caller, in the server's log, with what it meant.
var quietRedis sync.Once

type discardRedisLog struct{}

func (discardRedisLog) Printf(context.Context, string, ...any) {}

func newRedisCluster(url, prefix string, dead time.Duration, log *slog.Logger) (*redisCluster, error) {
	quietRedis.Do(func() { redis.SetLogger(discardRedisLog{}) })
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL %q: %w", url, err)
	}
	opt.ContextTimeoutEnabled = true // every call ends with its context: redisOpTimeout
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	r := &redisCluster{rdb: redis.NewClient(opt), prefix: prefix, node: hex.EncodeToString(id), dead: dead,
		log: log.With("node", hex.EncodeToString(id)), stop: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), redisOpTimeout)
	defer cancel()
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		_ = r.rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", opt.Addr, err)
	}
	return r, nil
}

// failed notes an error of a registry call: the node resyncs once Redis answers again.
func (r *redisCluster) failed(err error) error {
	if err != nil && !errors.Is(err, redis.Nil) {
		r.dirty.Store(true)
	}
	return err
}

func (r *redisCluster) key(parts ...string) string {
	k := r.prefix
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

func (r *redisCluster) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), redisOpTimeout)
}

// Start subscribes to the cluster's messages (before it returns, so nothing published after
// is missed), says this node is alive and starts the heartbeat and the reaper.
func (r *redisCluster) Start(deliver func(Message)) error {
	ctx, cancel := r.ctx()
	defer cancel()
	r.ps = r.rdb.Subscribe(ctx, r.key("msg"))
	if _, err := r.ps.Receive(ctx); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := r.beat(); err != nil {
		return err
	}
	r.done.Add(2)
	go r.receive(deliver)
	go r.heartbeat()
	return nil
}

func (r *redisCluster) receive(deliver func(Message)) {
	defer r.done.Done()
	for msg := range r.ps.Channel() {
		m, err := decodeMessage([]byte(msg.Payload))
		if err != nil {
			r.log.Warn("cluster message dropped: not a message", "error", err, "payload", truncate(msg.Payload, maxEcho))
			continue
		}
		deliver(m)
	}
}

// decodeMessage reads a cluster message: JSON of a known kind, for an app and a channel where the
// kind has one.
func decodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return m, err
	}
	switch {
	case m.AppID == "":
		return m, errors.New("no app")
	case m.Kind == MsgEvent && m.Event != "" && len(m.Channels) > 0 && !slices.Contains(m.Channels, ""),
		m.Kind == MsgClientEvent && m.Event != "" && m.Channel != "",
		(m.Kind == MsgMemberAdded || m.Kind == MsgMemberRemoved) && m.Channel != "" && m.UserID != "",
		m.Kind == MsgTerminate && m.UserID != "",
		m.Kind == MsgCount && m.Channel != "" && m.Count > 0,
		m.Kind == MsgWatch && m.UserID != "" && (m.Event == "online" || m.Event == "offline"):
		return m, nil
	}
	return m, fmt.Errorf("not a cluster message: kind %q", truncate(m.Kind, maxEcho))
}

func (r *redisCluster) Publish(m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := r.ctx()
	defer cancel()
	return r.failed(r.rdb.Publish(ctx, r.key("msg"), b).Err())
}

// Close says this node is gone (its state is removed as a dead node's would be, so nothing of
// it stays), and ends the subscription.
func (r *redisCluster) Close() error {
	var err error
	r.closed.Do(func() {
		close(r.stop)
		ctx, cancel := r.ctx()
		defer cancel()
		r.reapNode(ctx, r.node)
		err = r.ps.Close()
		r.done.Wait()
		err = errors.Join(err, r.rdb.Close())
	})
	return err
}

// abandon stops the node talking to Redis as a crash would: no heartbeat, no cleanup.
func (r *redisCluster) abandon() {
	r.closed.Do(func() {
		close(r.stop)
		_ = r.ps.Close()
		r.done.Wait()
		_ = r.rdb.Close()
	})
}

// connectionsScript sets this node's count of an app's connections (ARGV[4]) unless the other
// live nodes' counts and it would pass the quota (ARGV[5], 0 for none); KEYS[1] is the live
// nodes, each node's counts are in PREFIX:conns:NODE.
var connectionsScript = redis.NewScript(`
local n, max = tonumber(ARGV[4]), tonumber(ARGV[5])
if max > 0 then
  local total = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if id ~= ARGV[2] then total = total + tonumber(redis.call('HGET', ARGV[1] .. ':conns:' .. id, ARGV[3]) or '0') end
  end
  if total + n > max then return 0 end
end
redis.call('HSET', ARGV[1] .. ':conns:' .. ARGV[2], ARGV[3], n)
return 1`)

// Connections is the cluster's connection quota: see Registry.
func (r *redisCluster) Connections(app string, n, max int) (bool, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	ok, err := connectionsScript.Run(ctx, r.rdb, []string{r.key("nodes")}, r.prefix, r.node, app, n, max).Int()
	if err != nil {
		r.dirty.Store(true)
		return false, fmt.Errorf("connection count: %w", err)
	}
	return ok == 1, nil
}

var heartbeatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local new = redis.call('ZADD', KEYS[1], now, ARGV[1])
local out = {tostring(new)}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))) do out[#out + 1] = n end
return out`)

func (r *redisCluster) beat() error {
	ctx, cancel := r.ctx()
	defer cancel()
	v, err := heartbeatScript.Run(ctx, r.rdb, []string{r.key("nodes")}, r.node, r.dead.Milliseconds()).StringSlice()
	if err != nil || len(v) == 0 {
		r.dirty.Store(true)
		return fmt.Errorf("heartbeat: %w", err)
	}
	if v[0] == "1" && r.beats > 0 {
		r.log.Warn("this node was missing from the cluster (Redis lost its data, or the others found the node silent): its state is put back")
		r.resyncDue = true
	}
	r.beats++
	if r.dirty.Swap(false) {
		r.resyncDue = true
	}
	if r.resyncDue && r.onResync != nil && r.allListening(ctx) {
		r.resyncDue = false
		r.onResync()
	}
	for _, n := range v[1:] {
		if !r.keepDead {
			r.reapNode(ctx, n)
		}
	}
	return nil
}

// allListening reports whether every live node is subscribed to the cluster's messages again
// (after Redis came back, each node's pub/sub reconnects on its own): a resync's member_removed
// published before would be missed by the nodes not listening yet.
func (r *redisCluster) allListening(ctx context.Context) bool {
	subs, err := r.rdb.PubSubNumSub(ctx, r.key("msg")).Result()
	if err != nil {
		return false
	}
	nodes, err := r.rdb.ZCard(ctx, r.key("nodes")).Result()
	return err == nil && subs[r.key("msg")] >= nodes
}

// heartbeat says every nodeHeartbeat that this node is alive, and reaps the nodes that did not.
func (r *redisCluster) heartbeat() {
	defer r.done.Done()
	t := time.NewTicker(nodeHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if err := r.beat(); err != nil {
				r.log.Warn("cluster heartbeat failed", "error", err)
			}
		}
	}
}

// luaBump counts a channel's presence version up, and never below the Redis time in
// microseconds: versions keep growing across a Redis restart that lost the counter, so a
// subscriber's list version never hides a later event. '%d' keeps all the digits.
const luaBump = `
local function bump(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local v = redis.call('INCR', key)
  if v < now then
    v = now
    redis.call('SET', key, string.format('%d', now))
  end
  return string.format('%d', v)
end
`

var reapScript = redis.NewScript(luaBump + `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 and ARGV[4] == '0' then return {} end
local out = {}
for _, e in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local x = cjson.decode(e)
  local base = ARGV[2] .. ':' .. x.a
  if x.k == 'o' then
    local occ = base .. ':occ:' .. x.c
    if redis.call('HDEL', occ, ARGV[1]) == 1 then
      if redis.call('HLEN', occ) == 0 then
        redis.call('SREM', base .. ':chans', x.c)
        out[#out + 1] = e
      else
        local total = 0
        for _, v in ipairs(redis.call('HVALS', occ)) do total = total + tonumber(v) end
        redis.call('PUBLISH', ARGV[3], cjson.encode({k = 'count', a = x.a, c = x.c, n = total}))
      end
    end
  elseif x.k == 'u' then
    local on = base .. ':on:' .. x.u
    if redis.call('SREM', on, ARGV[1]) == 1 and redis.call('SCARD', on) == 0 then
      local m = cjson.encode({k = 'watch', a = x.a, u = x.u, e = 'offline'})
      redis.call('PUBLISH', ARGV[3], string.sub(m, 1, -2) .. ',"v":' .. bump(base .. ':uv:' .. x.u) .. '}')
    end
  else
    local ref = base .. ':ref:' .. x.c .. ':' .. x.u
    if redis.call('SREM', ref, ARGV[1]) == 1 and redis.call('SCARD', ref) == 0 and redis.call('HDEL', base .. ':mem:' .. x.c, x.u) == 1 then
      local v = bump(base .. ':ver:' .. x.c)
      local m = cjson.encode({k = 'member_removed', a = x.a, c = x.c, u = x.u})
      redis.call('PUBLISH', ARGV[3], string.sub(m, 1, -2) .. ',"v":' .. v .. '}')
      out[#out + 1] = e
    end
  end
end
redis.call('DEL', KEYS[2])
return out`)

// heldEntry is one thing a node holds, as its node set keeps it for reaping.
type heldEntry struct {
	Kind    string `json:"k"` // "o": subscribers of a channel; "p": a presence member; "u": a signed-in user
	App     string `json:"a"`
	Channel string `json:"c"`
	User    string `json:"u,omitempty"`
}

func (e heldEntry) String() string { b, _ := json.Marshal(e); return string(b) }

// reapNode removes what node holds; the webhooks of what that ends are sent from here. self
// (this node's own Close) reaps even after the node left the sorted set.
func (r *redisCluster) reapNode(ctx context.Context, node string) {
	self := "0"
	if node == r.node {
		self = "1"
	}
	gone, err := reapScript.Run(ctx, r.rdb, []string{r.key("nodes"), r.key("node", node)}, node, r.prefix, r.key("msg"), self).StringSlice()
	if err == nil {
		err = r.rdb.Del(ctx, r.key("conns", node)).Err() // its connections count against no quota
	}
	if err != nil {
		r.log.Warn("cannot remove a dead node's state", "dead", node, "error", err)
		return
	}
	if node == r.node || r.onReaped == nil {
		return // this node's own Close: its clients are gone, and so are its webhooks
	}
	r.log.Warn("dead node reaped", "dead", node, "ended", len(gone))
	for _, s := range gone {
		var e heldEntry
		if json.Unmarshal([]byte(s), &e) != nil {
			continue
		}
		if e.Kind == "o" {
			r.onReaped(e.App, protocol.WebhookEvent{Name: protocol.HookChannelVacated, Channel: e.Channel})
		} else {
			r.onReaped(e.App, protocol.WebhookEvent{Name: protocol.HookMemberRemoved, Channel: e.Channel, UserID: e.User})
		}
	}
}

func holdMs(hold bool, debounce time.Duration) int64 {
	if !hold || debounce <= 0 {
		return 0
	}
	return (debounce + hookHoldMargin).Milliseconds()
}

var subscribedScript = redis.NewScript(`
local before = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[4])
local first, hook = 0, 0
if before == 0 then
  first = 1
  redis.call('SADD', KEYS[2], ARGV[3])
  if redis.call('DEL', KEYS[4]) == 0 then hook = 1 end
end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
if ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6] .. total .. '}') end
return {first, hook, total}`)

// countMessage is the count message of a channel whose subscribers are told its count, with
// the count left for the script to close ("" for any other channel): the script publishes it
// with the count it reached, so the counts reach every node in the order Redis reached them.
func (r *redisCluster) countMessage(app, ch string) string {
	if r.counted == nil || !r.counted(app, ch) {
		return ""
	}
	return openEnded(Message{Kind: MsgCount, AppID: app, Channel: ch}, "n")
}

func (r *redisCluster) occKeys(app, ch string) []string {
	return []string{r.key(app, "occ", ch), r.key(app, "chans"), r.key("node", r.node), r.key(app, "vac", ch)}
}

func (r *redisCluster) Subscribed(app, ch string, n int) (Occupancy, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	v, err := subscribedScript.Run(ctx, r.rdb, r.occKeys(app, ch), r.node, n, ch, heldEntry{"o", app, ch, ""}.String(),
		r.key("msg"), r.countMessage(app, ch)).Int64Slice()
	if err != nil {
		return Occupancy{}, r.failed(err)
	}
	return Occupancy{First: v[0] == 1, Hook: v[1] == 1, Count: int(v[2])}, nil
}

var unsubscribedScript = redis.NewScript(`
local last = 0
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  redis.call('SREM', KEYS[3], ARGV[4])
  local had = redis.call('HDEL', KEYS[1], ARGV[1])
  if had == 0 then return {-1, 0} end
  if redis.call('HLEN', KEYS[1]) == 0 then
    last = 1
    redis.call('SREM', KEYS[2], ARGV[3])
    if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[5]) end
  end
end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
if ARGV[7] ~= '' and total > 0 then redis.call('PUBLISH', ARGV[6], ARGV[7] .. total .. '}') end
return {last, total}`)

func (r *redisCluster) Unsubscribed(app, ch string, n int, hold bool) (Occupancy, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	v, err := unsubscribedScript.Run(ctx, r.rdb, r.occKeys(app, ch), r.node, n, ch, heldEntry{"o", app, ch, ""}.String(),
		holdMs(hold, r.debounce), r.key("msg"), r.countMessage(app, ch)).Int64Slice()
	if err != nil {
		return Occupancy{}, r.failed(err)
	}
	if v[0] == -1 {
		return Occupancy{}, r.failed(ErrNotHeld)
	}
	return Occupancy{Last: v[0] == 1, Count: int(v[1])}, nil
}

var memberUpScript = redis.NewScript(luaBump + `
local known = redis.call('HEXISTS', KEYS[1], ARGV[2])
if known == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return {0, 0, 0, 1} end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[4])
local added, hook = 0, 0
if known == 0 then
  added = 1
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  if redis.call('DEL', KEYS[4]) == 0 then hook = 1 end
  redis.call('PERSIST', KEYS[5])
  redis.call('PUBLISH', ARGV[6], ARGV[7] .. bump(KEYS[5]) .. '}')
end
local out = {added, hook, redis.call('GET', KEYS[5]) or '0', 0}
for _, x in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = x end
return out`)

func (r *redisCluster) memberKeys(app, ch, user string) []string {
	return []string{r.key(app, "mem", ch), r.key(app, "ref", ch, user), r.key("node", r.node),
		r.key(app, "gone", ch, user), r.key(app, "ver", ch)}
}

// versioned is m encoded with its "v" left open for the script to close with the version.
func versioned(m Message) string { return openEnded(m, "v") }

// openEnded is m encoded with a last field, a number, left open for a script to close.
func openEnded(m Message, field string) string {
	b, _ := json.Marshal(m)
	return string(b[:len(b)-1]) + `,"` + field + `":`
}

func (r *redisCluster) MemberUp(app, ch, user string, info json.RawMessage, max int) (Presence, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	msg := versioned(Message{Kind: MsgMemberAdded, AppID: app, Channel: ch, UserID: user, Info: info})
	v, err := memberUpScript.Run(ctx, r.rdb, r.memberKeys(app, ch, user), r.node, user, string(info),
		heldEntry{"p", app, ch, user}.String(), max, r.key("msg"), msg).Slice()
	if err != nil {
		return Presence{}, r.failed(err)
	}
	return presenceReply(v)
}

var membersScript = redis.NewScript(`
local out = {redis.call('GET', KEYS[2]) or '0'}
for _, x in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = x end
return out`)

func (r *redisCluster) Members(app, ch string) (Presence, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	v, err := membersScript.Run(ctx, r.rdb, []string{r.key(app, "mem", ch), r.key(app, "ver", ch)}).Slice()
	if err != nil {
		return Presence{}, r.failed(err)
	}
	if len(v) == 0 {
		return Presence{}, errors.New("registry answered nothing")
	}
	return presenceReply(append([]any{int64(0), int64(0), v[0], int64(0)}, v[1:]...))
}

// presenceReply reads {added, hook, version, full, user, info, user, info ...}.
func presenceReply(v []any) (Presence, error) {
	const head = 4
	if len(v) < head || (len(v)-head)%2 != 0 {
		return Presence{}, fmt.Errorf("registry answered %d values", len(v))
	}
	num := func(x any) int64 {
		switch v := x.(type) {
		case int64:
			return v
		case string:
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
		return 0
	}
	p := Presence{Added: num(v[0]) == 1, Hook: num(v[1]) == 1, Version: num(v[2]), Full: num(v[3]) == 1,
		Members: make(map[string]json.RawMessage, (len(v)-head)/2)}
	for i := head; i+1 < len(v); i += 2 {
		id, _ := v[i].(string)
		info, _ := v[i+1].(string)
		p.Members[id] = json.RawMessage(info)
	}
	return p, nil
}

var memberDownScript = redis.NewScript(luaBump + `
local had = redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[3])
if had == 0 then return -1 end
if redis.call('SCARD', KEYS[2]) == 0 and redis.call('HDEL', KEYS[1], ARGV[2]) == 1 then
  local v = bump(KEYS[5])
  if redis.call('HLEN', KEYS[1]) == 0 then redis.call('PEXPIRE', KEYS[5], 86400000) end
  redis.call('PUBLISH', ARGV[5], ARGV[6] .. v .. '}')
  if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[4]) end
  return 1
end
return 0`)

func (r *redisCluster) MemberDown(app, ch, user string, hold bool) (bool, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	msg := versioned(Message{Kind: MsgMemberRemoved, AppID: app, Channel: ch, UserID: user})
	n, err := memberDownScript.Run(ctx, r.rdb, r.memberKeys(app, ch, user), r.node, user,
		heldEntry{"p", app, ch, user}.String(), holdMs(hold, r.debounce), r.key("msg"), msg).Int64()
	if err == nil && n == -1 {
		err = r.failed(ErrNotHeld)
	}
	return n == 1, r.failed(err)
}

func (r *redisCluster) Channel(app, ch string) (ChannelCount, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	counts, err := r.counts(ctx, app, []string{ch})
	return counts[ch], err
}

func (r *redisCluster) Channels(app string) (map[string]ChannelCount, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	names, err := r.rdb.SMembers(ctx, r.key(app, "chans")).Result()
	if err != nil {
		return nil, err
	}
	return r.counts(ctx, app, names)
}

// counts reads the subscriber counts and member counts of channels in one round trip.
func (r *redisCluster) counts(ctx context.Context, app string, names []string) (map[string]ChannelCount, error) {
	pipe := r.rdb.Pipeline()
	subs := make([]*redis.StringSliceCmd, len(names))
	users := make([]*redis.IntCmd, len(names))
	for i, ch := range names {
		subs[i] = pipe.HVals(ctx, r.key(app, "occ", ch))
		users[i] = pipe.HLen(ctx, r.key(app, "mem", ch))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string]ChannelCount, len(names))
	for i, ch := range names {
		c := ChannelCount{Users: int(users[i].Val())}
		for _, s := range subs[i].Val() {
			n, _ := strconv.Atoi(s)
			c.Subscriptions += n
		}
		if c.Subscriptions > 0 {
			out[ch] = c
		}
	}
	return out, nil
}

func (r *redisCluster) Cache(app, ch, event, data string, ttl time.Duration) error {
	b, _ := json.Marshal([2]string{event, data})
	ctx, cancel := r.ctx()
	defer cancel()
	return r.rdb.Set(ctx, r.key(app, "cache", ch), b, ttl).Err()
}

func (r *redisCluster) Cached(app, ch string) (cachedEvent, bool, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	pipe := r.rdb.Pipeline()
	get := pipe.Get(ctx, r.key(app, "cache", ch))
	ttl := pipe.PTTL(ctx, r.key(app, "cache", ch))
	if _, err := pipe.Exec(ctx); errors.Is(err, redis.Nil) {
		return cachedEvent{}, false, nil
	} else if err != nil {
		return cachedEvent{}, false, err
	}
	var ev [2]string
	if json.Unmarshal([]byte(get.Val()), &ev) != nil || ttl.Val() <= 0 {
		return cachedEvent{}, false, nil
	}
	return cachedEvent{event: ev[0], data: ev[1], expires: time.Now().Add(ttl.Val())}, true, nil
}

// held reads what the registry holds of this node: its node set's entries.
func (r *redisCluster) held() ([]heldEntry, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	entries, err := r.rdb.SMembers(ctx, r.key("node", r.node)).Result()
	if err != nil {
		return nil, r.failed(err)
	}
	out := make([]heldEntry, 0, len(entries))
	for _, s := range entries {
		var e heldEntry
		if json.Unmarshal([]byte(s), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

func (r *redisCluster) Held() (map[string]map[string]Holding, error) {
	entries, err := r.held()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]Holding{}
	for _, e := range entries {
		if e.Kind == "u" {
			continue // users: HeldUsers
		}
		if out[e.App] == nil {
			out[e.App] = map[string]Holding{}
		}
		h := out[e.App][e.Channel]
		h.Channel = e.Channel
		if e.Kind == "p" {
			if h.Members == nil {
				h.Members = map[string]json.RawMessage{}
			}
			h.Members[e.User] = nil
		}
		out[e.App][e.Channel] = h
	}
	return out, nil
}

var restoreScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
for i = 6, #ARGV, 3 do
  redis.call('SADD', ARGV[5] .. ARGV[i], ARGV[1])
  redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 1])
  redis.call('SADD', KEYS[3], ARGV[i + 2])
end
return 1`)

// Restore puts an app's channels back as this node holds them, in one script per channel: its
// count, its members (the first info of a member another node put back stays), and what it
// holds for reaping. No event goes out: nothing changed for any client.
func (r *redisCluster) Restore(app string, hs []Holding) error {
	ctx, cancel := r.ctx()
	defer cancel()
	for _, h := range hs {
		args := []any{r.node, h.Count, h.Channel, heldEntry{"o", app, h.Channel, ""}.String(), r.key(app, "ref", h.Channel) + ":"}
		for uid, info := range h.Members {
			args = append(args, uid, string(info), heldEntry{"p", app, h.Channel, uid}.String())
		}
		keys := []string{r.key(app, "occ", h.Channel), r.key(app, "chans"), r.key("node", r.node), r.key(app, "mem", h.Channel)}
		if err := restoreScript.Run(ctx, r.rdb, keys, args...).Err(); err != nil {
			return r.failed(err)
		}
	}
	return nil
}

var goneScript = redis.NewScript(luaBump + `
if ARGV[1] == '' then
  if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
  redis.call('SREM', KEYS[4], ARGV[3])
  return 1
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 or redis.call('SCARD', KEYS[3]) > 0 then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[4] .. bump(KEYS[5]) .. '}')
return 1`)

func (r *redisCluster) Gone(app, ch, user string) (bool, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	keys := []string{r.key(app, "occ", ch), r.key(app, "mem", ch), r.key(app, "ref", ch, user), r.key(app, "chans"), r.key(app, "ver", ch)}
	msg := versioned(Message{Kind: MsgMemberRemoved, AppID: app, Channel: ch, UserID: user})
	n, err := goneScript.Run(ctx, r.rdb, keys, user, r.key("msg"), ch, msg).Int64()
	return n == 1, r.failed(err)
}

// Owed takes the mark of a held webhook: true if no return cleared it. On a Redis error the
// webhook is sent (an extra webhook rather than a lost one).
func (r *redisCluster) Owed(app string, ev protocol.WebhookEvent) bool {
	k := r.key(app, "vac", ev.Channel)
	if ev.Name == protocol.HookMemberRemoved {
		k = r.key(app, "gone", ev.Channel, ev.UserID)
	}
	ctx, cancel := r.ctx()
	defer cancel()
	n, err := r.rdb.Del(ctx, k).Result()
	if err != nil {
		r.log.Warn("cannot read a held webhook's mark: sending it", "event", ev.Name, "channel", ev.Channel, "error", err)
		return true
	}
	return n == 1
}

// The cluster's signed-in users: <p>:A:on:U is the set of the nodes where user U has a
// connection; the node set holds a "u" entry for each, for reaping.
var userUpScript = redis.NewScript(luaBump + `
local before = redis.call('SCARD', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if before == 0 then redis.call('PUBLISH', ARGV[3], ARGV[4] .. bump(KEYS[3]) .. '}') end
return 1`)

// userDownScript says offline when no node has the user left, also when Redis had lost this
// node's entry (a restart without persistence): the watchers are told rather than kept waiting.
var userDownScript = redis.NewScript(luaBump + `
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('PUBLISH', ARGV[3], ARGV[4] .. bump(KEYS[3]) .. '}') end
return 1`)

func (r *redisCluster) userKeys(app, user string) []string {
	return []string{r.key(app, "on", user), r.key("node", r.node), r.key(app, "uv", user)}
}

// watchMessage is a watch message with its version left for the script to close: each change
// of a user's state counts the user's version up, so a watcher that read the state at a version
// skips the changes it already shows.
func (r *redisCluster) watchMessage(app, user, state string) string {
	return versioned(Message{Kind: MsgWatch, AppID: app, UserID: user, Event: state})
}

func (r *redisCluster) UserUp(app, user string) error {
	ctx, cancel := r.ctx()
	defer cancel()
	return r.failed(userUpScript.Run(ctx, r.rdb, r.userKeys(app, user), r.node, heldEntry{"u", app, "", user}.String(),
		r.key("msg"), r.watchMessage(app, user, "online")).Err())
}

func (r *redisCluster) UserDown(app, user string) error {
	ctx, cancel := r.ctx()
	defer cancel()
	return r.failed(userDownScript.Run(ctx, r.rdb, r.userKeys(app, user), r.node, heldEntry{"u", app, "", user}.String(),
		r.key("msg"), r.watchMessage(app, user, "offline")).Err())
}

func (r *redisCluster) Online(app string, users []string) ([]UserState, error) {
	ctx, cancel := r.ctx()
	defer cancel()
	pipe := r.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(users))
	vers := make([]*redis.StringCmd, len(users))
	for i, u := range users {
		cards[i] = pipe.SCard(ctx, r.key(app, "on", u))
		vers[i] = pipe.Get(ctx, r.key(app, "uv", u))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, r.failed(err)
	}
	out := make([]UserState, len(users))
	for i := range users {
		v, _ := strconv.ParseInt(vers[i].Val(), 10, 64)
		out[i] = UserState{Online: cards[i].Val() > 0, Version: v}
	}
	return out, nil
}

func (r *redisCluster) HeldUsers() (map[string][]string, error) {
	entries, err := r.held()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, e := range entries {
		if e.Kind == "u" {
			out[e.App] = append(out[e.App], e.User)
		}
	}
	return out, nil
}

func (r *redisCluster) RestoreUsers(app string, users []string) error {
	if len(users) == 0 {
		return nil
	}
	ctx, cancel := r.ctx()
	defer cancel()
	pipe := r.rdb.TxPipeline()
	for _, u := range users {
		pipe.SAdd(ctx, r.key(app, "on", u), r.node)
		pipe.SAdd(ctx, r.key("node", r.node), heldEntry{"u", app, "", u}.String())
	}
	_, err := pipe.Exec(ctx)
	return r.failed(err)
}
