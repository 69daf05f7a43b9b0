package refserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushcert/pushcert/internal/clock"
	"github.com/pushcert/pushcert/internal/protocol"
)

// Faults make the server break the protocol on purpose. They exist to prove that the conformance
// suite fails a server that misbehaves; a zero Faults is a correct server.
type Faults struct {
	AcceptAnyChannelAuth   bool    // private, presence and encrypted subscriptions succeed without a valid signature
	EchoClientEvents       bool    // client events also go back to their sender
	DuplicateMemberAdded   bool    // member_added for every connection of a user, not only the first
	NoMemberRemoved        bool    // member_removed is never sent
	DropDeliveries         float64 // this fraction of deliveries is silently dropped
	IgnoreSocketExclusion  bool    // the socket_id of an HTTP publish is not excluded
	SkipTimestampWindow    bool    // the HTTP API accepts any auth_timestamp
	NoPong                 bool    // pusher:ping gets no pusher:pong
	NoIdleClose            bool    // a client that never answers the server's ping stays connected (no 4201)
	LeakPrivateEvents      bool    // events of private and presence channels reach every connection of the app
	NoClientEventLimit     bool    // client events are never rate limited
	SkipBodyMD5            bool    // the HTTP API does not check body_md5
	PublicClientEvents     bool    // client events are relayed on public channels too
	UnanchoredPrefixes     bool    // a reserved prefix anywhere in a name decides its kind ("my-private-room" needs auth)
	AckForeignUserChannel  bool    // any connection's subscribe to #server-to-user-<id> is acknowledged, but nothing is routed to it
	LeakUserChannel        bool    // any connection may subscribe to #server-to-user-<id> and receives the user's events
	HyphenlessPrefixes     bool    // "private", "presence" and "cache" without the hyphen decide a kind ("privatefoo" needs auth)
	LeakAllEvents          bool    // every published event reaches every connection of the app
	TypedUserIDs           bool    // the user_id 4242 and "4242" are two members
	RelayNonMemberEvents   bool    // a client event from a connection not subscribed to the channel is relayed
	RelayUnprefixedEvents  bool    // an event from a client without the client- prefix is relayed like a client event
	IgnoreClientEventsOff  bool    // an app's client events are relayed although disabled (after the 4301 error)
	StaleCache             bool    // a cache channel keeps its first event, not its last
	FirstChannelOnly       bool    // a publish to several channels reaches only the first
	NoSigninAfterTerminate bool    // a user whose connections were terminated can never sign in again
	RelayInvalidUTF8       bool    // text frames are not checked for UTF-8: a client event's bytes are relayed as they came
	// Webhook faults.
	UnsignedWebhooks         bool   // webhook requests carry no X-Pusher-Signature
	PerConnectionOccupancy   bool   // channel_occupied on every subscribe and channel_vacated on every leave, as a server counting connections
	PerConnectionMemberHooks bool   // member_added and member_removed webhooks for every connection of a user
	NoWebhookRetry           bool   // a batch not acknowledged is dropped, silently
	DropWebhook              string // webhooks of this event name are never sent
	MisroutedWebhooks        bool   // every app's webhooks go to the first app's URLs, signed with its own secret
	WebhookTimeSeconds       bool   // time_ms is in seconds
	NoWebhookDebounce        bool   // channel_vacated and member_removed are sent at once, never cancelled by a return
	// Cluster faults: the classic bugs of servers scaled out, each a part of the cluster's state
	// kept per node.
	PresencePerNode    bool   // member lists, member events and member counts are this node's only
	LocalMessages      string // messages of this kind (event, client_event, terminate) reach this node's clients only
	ExclusionOnOrigin  bool   // a publish's socket_id is excluded only on the node that took it
	LocalCounts        bool   // GET /channels, /channels/{name} and /users count this node's subscribers only
	LocalCache         bool   // a cache channel's last event is kept on the node that took it
	OccupancyPerNode   bool   // channel_occupied and channel_vacated at each node's first and last subscriber
	MemberHooksPerNode bool   // member_added and member_removed webhooks at each node's first and last connection of a user
	GhostMembers       bool   // a node that dies without a word keeps its members (and counts) in the cluster forever
	CountEventsPerNode bool   // pusher_internal:subscription_count tells each node's subscribers that node's count
	WatchlistPerNode   bool   // watchlist states and online/offline events know this node's users only
	QuotaPerNode       bool   // an app's connection quota counts this node's connections only
	// Delivery faults for validating load measurements: a fraction of deliveries held back by
	// exactly DelayBy, or queued twice.
	DelayDeliveries     float64
	DelayBy             time.Duration
	DuplicateDeliveries float64
}

// FaultStats counts what the delivery faults did, so a test can compare the load generator's
// counts with the truth.
type FaultStats struct {
	Dropped, Delayed, Duplicated int64
	// DelayLate is how much later than its deadline a delayed delivery was released, at most.
	DelayLate time.Duration
}

// faultState is the run-time side of the delivery faults.
type faultState struct {
	dropped, delayed, duplicated atomic.Int64
	seen                         atomic.Int64 // deliveries considered by delay-deliveries
	terminated                   sync.Map     // app id + "\x00" + user id, under NoSigninAfterTerminate
	line                         *delayLine
}

// FaultStats returns the delivery faults' counts so far.
func (s *Server) FaultStats() FaultStats {
	st := FaultStats{Dropped: s.faults.dropped.Load(), Delayed: s.faults.delayed.Load(), Duplicated: s.faults.duplicated.Load()}
	if s.faults.line != nil {
		st.DelayLate = time.Duration(s.faults.line.lateMax.Load())
	}
	return st
}

// deliveryFaults is false on a correct server: then one branch is all a delivery pays.
func (f Faults) deliveryFaults() bool {
	return f.DropDeliveries > 0 || f.DelayDeliveries > 0 || f.DuplicateDeliveries > 0
}

// faultyDeliver applies the delivery faults to one delivery; it reports whether it took care of
// the delivery (dropped or delayed) so the caller must not queue it.
func (s *Server) faultyDeliver(c *conn, pm *prepared) bool {
	f := s.cfg.Faults
	switch {
	case f.DropDeliveries > 0 && rand.Float64() < f.DropDeliveries:
		s.faults.dropped.Add(1)
		return true
	case f.DelayDeliveries > 0 && s.faults.seen.Add(1)%int64(1/f.DelayDeliveries+0.5) == 0:
		// Every n-th delivery, not a random draw: the delayed share is then exactly the fraction,
		// and a measurement can be checked against it to the percentile.
		s.faults.delayed.Add(1)
		s.faults.line.add(time.Now().Add(f.DelayBy), c, pm)
		return true
	case f.DuplicateDeliveries > 0 && rand.Float64() < f.DuplicateDeliveries:
		s.faults.duplicated.Add(1)
		c.enqueue(pm)
	}
	return false
}

// delayLine releases held deliveries at their exact time: one goroutine waits for the head's
// deadline with a clock.Waiter, so the added delay is exact to microseconds (a timer alone can
// be a millisecond late). The delay is constant, so arrival order is
// deadline order.
type delayLine struct {
	mu      sync.Mutex
	items   []delayed
	wake    chan struct{}
	lateMax atomic.Int64 // ns: the latest release after its deadline
}

type delayed struct {
	at time.Time
	c  *conn
	pm *prepared
}

func newDelayLine(stop <-chan struct{}) *delayLine {
	l := &delayLine{wake: make(chan struct{}, 1)}
	go l.run(stop)
	return l
}

func (l *delayLine) add(at time.Time, c *conn, pm *prepared) {
	l.mu.Lock()
	l.items = append(l.items, delayed{at, c, pm})
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *delayLine) run(stop <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	var wait clock.Waiter
	defer wait.Close()
	for {
		l.mu.Lock()
		var at time.Time
		if len(l.items) > 0 {
			at = l.items[0].at
		}
		l.mu.Unlock()
		if at.IsZero() {
			select {
			case <-l.wake:
				continue
			case <-stop:
				return
			}
		}
		if !wait.Until(ctx, at) {
			return
		}
		if late := int64(time.Since(at)); late > l.lateMax.Load() {
			l.lateMax.Store(late) // one writer: this goroutine
		}
		l.mu.Lock()
		item := l.items[0]
		l.items = l.items[1:]
		l.mu.Unlock()
		item.c.enqueue(item.pm)
	}
}

// faultNames maps the names of `pushcert serve --fault` to the switches.
var faultNames = map[string]func(*Faults, string) error{
	"accept-any-channel-auth": func(f *Faults, _ string) error { f.AcceptAnyChannelAuth = true; return nil },
	"echo-client-events":      func(f *Faults, _ string) error { f.EchoClientEvents = true; return nil },
	"duplicate-member-added":  func(f *Faults, _ string) error { f.DuplicateMemberAdded = true; return nil },
	"no-member-removed":       func(f *Faults, _ string) error { f.NoMemberRemoved = true; return nil },
	"drop-deliveries": func(f *Faults, v string) error {
		if v == "" {
			v = "0.01"
		}
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p <= 0 || p > 1 {
			return fmt.Errorf("drop-deliveries=%s: want a fraction in (0, 1]", v)
		}
		f.DropDeliveries = p
		return nil
	},
	"ignore-socket-exclusion":   func(f *Faults, _ string) error { f.IgnoreSocketExclusion = true; return nil },
	"skip-timestamp-window":     func(f *Faults, _ string) error { f.SkipTimestampWindow = true; return nil },
	"no-pong":                   func(f *Faults, _ string) error { f.NoPong = true; return nil },
	"no-idle-close":             func(f *Faults, _ string) error { f.NoIdleClose = true; return nil },
	"leak-private-events":       func(f *Faults, _ string) error { f.LeakPrivateEvents = true; return nil },
	"no-client-event-limit":     func(f *Faults, _ string) error { f.NoClientEventLimit = true; return nil },
	"skip-body-md5":             func(f *Faults, _ string) error { f.SkipBodyMD5 = true; return nil },
	"public-client-events":      func(f *Faults, _ string) error { f.PublicClientEvents = true; return nil },
	"unanchored-prefixes":       func(f *Faults, _ string) error { f.UnanchoredPrefixes = true; return nil },
	"ack-foreign-user-channel":  func(f *Faults, _ string) error { f.AckForeignUserChannel = true; return nil },
	"leak-user-channel":         func(f *Faults, _ string) error { f.LeakUserChannel = true; return nil },
	"hyphenless-prefixes":       func(f *Faults, _ string) error { f.HyphenlessPrefixes = true; return nil },
	"leak-all-events":           func(f *Faults, _ string) error { f.LeakAllEvents = true; return nil },
	"typed-user-ids":            func(f *Faults, _ string) error { f.TypedUserIDs = true; return nil },
	"relay-non-member-events":   func(f *Faults, _ string) error { f.RelayNonMemberEvents = true; return nil },
	"relay-unprefixed-events":   func(f *Faults, _ string) error { f.RelayUnprefixedEvents = true; return nil },
	"ignore-client-events-off":  func(f *Faults, _ string) error { f.IgnoreClientEventsOff = true; return nil },
	"stale-cache":               func(f *Faults, _ string) error { f.StaleCache = true; return nil },
	"first-channel-only":        func(f *Faults, _ string) error { f.FirstChannelOnly = true; return nil },
	"no-signin-after-terminate": func(f *Faults, _ string) error { f.NoSigninAfterTerminate = true; return nil },
	"relay-invalid-utf8":        func(f *Faults, _ string) error { f.RelayInvalidUTF8 = true; return nil },
	"unsigned-webhooks":         func(f *Faults, _ string) error { f.UnsignedWebhooks = true; return nil },
	"per-connection-occupancy":  func(f *Faults, _ string) error { f.PerConnectionOccupancy = true; return nil },
	"per-connection-members":    func(f *Faults, _ string) error { f.PerConnectionMemberHooks = true; return nil },
	"no-webhook-retry":          func(f *Faults, _ string) error { f.NoWebhookRetry = true; return nil },
	"misrouted-webhooks":        func(f *Faults, _ string) error { f.MisroutedWebhooks = true; return nil },
	"webhook-time-seconds":      func(f *Faults, _ string) error { f.WebhookTimeSeconds = true; return nil },
	"no-webhook-debounce":       func(f *Faults, _ string) error { f.NoWebhookDebounce = true; return nil },
	"presence-per-node":         func(f *Faults, _ string) error { f.PresencePerNode = true; return nil },
	"exclusion-on-origin":       func(f *Faults, _ string) error { f.ExclusionOnOrigin = true; return nil },
	"local-counts":              func(f *Faults, _ string) error { f.LocalCounts = true; return nil },
	"local-cache":               func(f *Faults, _ string) error { f.LocalCache = true; return nil },
	"occupancy-per-node":        func(f *Faults, _ string) error { f.OccupancyPerNode = true; return nil },
	"ghost-members":             func(f *Faults, _ string) error { f.GhostMembers = true; return nil },
	"count-events-per-node":     func(f *Faults, _ string) error { f.CountEventsPerNode = true; return nil },
	"watchlist-per-node":        func(f *Faults, _ string) error { f.WatchlistPerNode = true; return nil },
	"quota-per-node":            func(f *Faults, _ string) error { f.QuotaPerNode = true; return nil },
	"member-hooks-per-node": func(f *Faults, _ string) error {
		f.MemberHooksPerNode = true
		return nil
	},
	"local-messages": func(f *Faults, v string) error {
		if !slices.Contains([]string{MsgEvent, MsgClientEvent, MsgTerminate}, v) {
			return fmt.Errorf("local-messages=%s: want %s, %s or %s", v, MsgEvent, MsgClientEvent, MsgTerminate)
		}
		f.LocalMessages = v
		return nil
	},
	"drop-webhook": func(f *Faults, v string) error {
		if !slices.Contains(protocol.HookNames, v) {
			return fmt.Errorf("drop-webhook=%s: want a webhook event name (%s)", v, strings.Join(protocol.HookNames, ", "))
		}
		f.DropWebhook = v
		return nil
	},
	"delay-deliveries": func(f *Faults, v string) error {
		frac, by, ok := strings.Cut(v, ":")
		p, err1 := strconv.ParseFloat(frac, 64)
		d, err2 := time.ParseDuration(by)
		if !ok || err1 != nil || err2 != nil || p <= 0 || p > 1 || d <= 0 {
			return fmt.Errorf("delay-deliveries=%s: want FRACTION:DURATION, e.g. 0.02:5ms", v)
		}
		f.DelayDeliveries, f.DelayBy = p, d
		return nil
	},
	"duplicate-deliveries": func(f *Faults, v string) error {
		if v == "" {
			v = "0.01"
		}
		p, err := strconv.ParseFloat(v, 64)
		if err != nil || p <= 0 || p > 1 {
			return fmt.Errorf("duplicate-deliveries=%s: want a fraction in (0, 1]", v)
		}
		f.DuplicateDeliveries = p
		return nil
	},
}

// ClusterFaults are faults that only a cluster shows: on one node they change nothing.
var ClusterFaults = []string{"presence-per-node", "exclusion-on-origin", "local-counts", "local-cache",
	"occupancy-per-node", "member-hooks-per-node", "local-messages", "ghost-members", "count-events-per-node",
	"watchlist-per-node", "quota-per-node"}

// send hands a message to the cluster, or, under LocalMessages, to this node's clients only.
func (s *Server) send(m Message) error {
	if m.Kind == s.cfg.Faults.LocalMessages {
		s.deliver(m)
		return nil
	}
	return s.broker.Publish(m)
}

// TimingFaults are faults that only a load measurement sees: no conformance case waits precisely
// enough to notice a few milliseconds.
var TimingFaults = []string{"delay-deliveries"}

// FaultNames lists the names ParseFault accepts.
func FaultNames() []string {
	out := make([]string, 0, len(faultNames))
	for n := range faultNames {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ParseFault turns on the fault "name" or "name=value" in f.
func ParseFault(f *Faults, spec string) error {
	name, value, _ := strings.Cut(spec, "=")
	set, ok := faultNames[name]
	if !ok {
		return fmt.Errorf("unknown fault %q (known: %s)", name, strings.Join(FaultNames(), ", "))
	}
	return set(f, value)
}

// kindOf is protocol.KindOf, or, under UnanchoredPrefixes, the kind of the first reserved
// prefix found anywhere in the name, as a server matching prefixes with an unanchored pattern does.
func (s *Server) kindOf(name string) protocol.ChannelKind {
	if s.cfg.Faults.UnanchoredPrefixes {
		for _, p := range [...]string{protocol.PrefixEncrypted, protocol.PrefixPrivate, protocol.PrefixPresence} {
			if i := strings.Index(name, p); i > 0 {
				return protocol.KindOf(name[i:])
			}
		}
	}
	if s.cfg.Faults.HyphenlessPrefixes {
		for p, k := range map[string]protocol.ChannelKind{"private": protocol.Private, "presence": protocol.Presence} {
			if strings.HasPrefix(name, p) && !strings.HasPrefix(name, p+"-") {
				return k
			}
		}
	}
	return protocol.KindOf(name)
}

// isCache is protocol.IsCache, or, under UnanchoredPrefixes, true for "cache-" anywhere.
func (s *Server) isCache(name string) bool {
	return protocol.IsCache(name) || (s.cfg.Faults.UnanchoredPrefixes && strings.Contains(name, protocol.PrefixCache)) ||
		(s.cfg.Faults.HyphenlessPrefixes && strings.HasPrefix(name, "cache"))
}
