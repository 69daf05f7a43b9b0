package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
)

// Scenario names.
const (
	ScenarioSeats        = "seats"
	ScenarioAvailability = "availability"
	ScenarioChurn        = "churn"
	ScenarioPrivate      = "private"
	ScenarioSilent       = "silent"
)

// Scenarios lists what Run can do.
var Scenarios = []string{ScenarioSeats, ScenarioAvailability, ScenarioChurn, ScenarioPrivate, ScenarioSilent}

// Config shapes a run.
type Config struct {
	Target    *target.Target
	Scenarios []string
	Clients   int     // simulated clients in all shards
	Rooms     int     // events (rooms); client c is in room c % Rooms
	Rate      float64 // per room and second: seat changes, publishes, or churning and private clients
	// Lifetime is how long a churning client stays in its room before it disconnects.
	Lifetime time.Duration
	Duration time.Duration // steady phase
	Ramp     time.Duration // connecting the clients
	Drain    time.Duration // after the last send, waiting for deliveries
	Shard    int           // 0-based
	Shards   int           // 1 when not sharded
	// Proxy picks the HTTP proxy the clients' connections tunnel through (HTTP CONNECT) and the
	// HTTP API's requests go through; nil is http.ProxyFromEnvironment (HTTPS_PROXY for wss://,
	// HTTP_PROXY for ws://, NO_PROXY; never for loopback addresses). TLS settings and handshake
	// headers are the Target's.
	Proxy func(*http.Request) (*url.URL, error)
	// Sources are local addresses to spread client sockets over (127.0.0.1, 127.0.0.2, ...), past
	// the ~28k ephemeral ports of one source.
	Sources []net.IP
	// IntervalLog receives the HdrHistogram interval log; nil keeps none.
	IntervalLog io.Writer
	// OnSecond, when set, is called once a second with the run's progress.
	OnSecond func(Snapshot)
	// MaxInFlight bounds concurrent HTTP publishes; past it a publish is dropped and counted.
	MaxInFlight int
	// Restart, when set, is called RestartAt into the steady phase to restart the server, which
	// closes every connection with 4200: the clients reconnect at once, a reconnect storm.
	Restart   func() error
	RestartAt time.Duration
	// AuthEndpoint, when set, is the application's own channel authorization endpoint (Echo's
	// authEndpoint, e.g. https://tickets.example/broadcasting/auth): clients POST it socket_id
	// and channel_name with AuthHeader, as the seed's frontend does. Empty runs the seed
	// application on loopback, with a Bearer token per client.
	AuthEndpoint string
	// AuthHeader goes with every request to AuthEndpoint; "{client}" in a value becomes the
	// client's index, so an application can tell the simulated users apart.
	AuthHeader http.Header
	// SeatsChannel and AvailabilityChannel name each room's channels: "{room}" becomes the
	// room's index (from 0), "{id}" its event id. Empty: the seed's presence-event.{id}.seats
	// and event.{id}. A seats channel is a presence channel.
	SeatsChannel, AvailabilityChannel string
	// TargetMetrics, when set, is the target's Prometheus endpoint: its count of open
	// connections (the gauge ConnectionGauge, DefaultConnectionGauge when empty) must rise by
	// what the ramp opened and fall back once the clients have closed.
	TargetMetrics   string
	ConnectionGauge string
	// ReleaseWait is how long the target may take to count the closed connections out
	// (default 10 s).
	ReleaseWait time.Duration
	// SilentWithin bounds how long after the last silent client went silent the server may
	// take to drop them all (default 3 minutes: servers sweep for idle connections every 60 s
	// and wait for a pong besides).
	SilentWithin time.Duration
	// PayloadBytes, when set, grows every event's data to this many bytes (up to
	// MaxPayloadBytes) with a "pad" field after the fields the receivers read.
	PayloadBytes int
	// StartAt, when set, is when the steady phase's timetables begin, so that shards started
	// apart run their steady phases together; the ramp must be done by then. Zero starts the
	// steady phase once the ramp is done.
	StartAt time.Time
	// Webhooks, when set, counts the webhooks the server posts during the run (ListenWebhooks):
	// each channel and presence member the clients made must get its occupied and vacated,
	// member_added and member_removed, none twice. The server must post the app's webhooks to
	// it; one shard only, as a server posts to one URL.
	Webhooks *WebhookCounter
	// WebhookWait bounds how long after its clients closed the run waits for the webhooks still
	// owed (default 15 s: a 3 s debounce, batching, and a retry or two).
	WebhookWait time.Duration
}

func (c *Config) setDefaults() {
	if len(c.Scenarios) == 0 {
		c.Scenarios = []string{ScenarioSeats}
	}
	if c.Clients == 0 {
		c.Clients = 1000
	}
	if c.Rooms == 0 {
		c.Rooms = max(1, c.Clients/100)
	}
	if c.Rate == 0 {
		c.Rate = 5
	}
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	if c.Ramp == 0 {
		c.Ramp = time.Duration(max(1, c.Clients/2000)) * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Second
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.WebhookWait == 0 {
		c.WebhookWait = DefaultWebhookWait
	}
	if len(c.Sources) == 0 {
		c.Sources = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	if c.Lifetime == 0 {
		c.Lifetime = 2 * time.Second
	}
	if c.SilentWithin == 0 {
		c.SilentWithin = 3 * time.Minute
	}
	if c.ReleaseWait == 0 {
		c.ReleaseWait = 10 * time.Second
	}
	if c.ConnectionGauge == "" {
		c.ConnectionGauge = DefaultConnectionGauge
	}
	if c.Proxy == nil {
		c.Proxy = http.ProxyFromEnvironment
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 512
	}
}

// WithDefaults returns c with every zero setting at its default, as Run uses it.
func (c Config) WithDefaults() Config {
	c.setDefaults()
	return c
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	var errs []error
	if c.Target == nil {
		errs = append(errs, errors.New("no target"))
	}
	if c.Webhooks != nil && c.Shards > 1 {
		errs = append(errs, errors.New("webhooks are counted by one run: a server posts them to one URL, not to each shard"))
	}
	return errors.Join(append(errs, c.ValidatePlan())...)
}

// ValidatePlan reports a plan that cannot run, whatever the target: what a command can refuse
// before it starts anything.
func (c Config) ValidatePlan() error {
	var errs []error
	for _, s := range c.Scenarios {
		if !slices.Contains(Scenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (%s)", s, strings.Join(Scenarios, ", ")))
		}
	}
	if c.Clients < 2 || c.Rooms < 1 || c.Clients < c.Rooms*2 {
		errs = append(errs, fmt.Errorf("need at least 2 clients per room (clients %d, rooms %d)", c.Clients, c.Rooms))
	}
	if c.WebhookWait < 0 {
		errs = append(errs, fmt.Errorf("webhook wait %s: want a positive duration", c.WebhookWait))
	}
	if c.Rate <= 0 || c.Duration <= 0 {
		errs = append(errs, errors.New("rate and duration must be positive"))
	}
	if c.Shards < 1 || c.Shard < 0 || c.Shard >= c.Shards {
		errs = append(errs, fmt.Errorf("shard %d/%d: want 0 <= i < n", c.Shard, c.Shards))
	}
	if c.Rooms > 0 {
		// The seat map is a presence channel of at most 100 members: the room's clients (seats),
		// the arriving ones of churn and private during their lifetime, and every silent client,
		// which stays until the server drops it.
		members, arriving := 0, 0
		if slices.Contains(c.Scenarios, ScenarioSeats) {
			members = (c.Clients + c.Rooms - 1) / c.Rooms
		}
		if slices.Contains(c.Scenarios, ScenarioChurn) || slices.Contains(c.Scenarios, ScenarioPrivate) {
			arriving += int(c.Rate*c.Lifetime.Seconds()) + 1
		}
		if slices.Contains(c.Scenarios, ScenarioSilent) {
			arriving += int(c.Rate*c.Duration.Seconds()) + 1
		}
		if arriving > 0 && members+arriving > 100 {
			errs = append(errs, fmt.Errorf("arriving clients join the seat map, a presence channel of 100 members: "+
				"%d clients per room plus about %d arriving ones at once is too many (use more rooms, a lower rate, a shorter lifetime or duration)", members, arriving))
		}
	}
	errs = append(errs, c.validateChannels()...)
	if c.TargetMetrics != "" && c.Shards > 1 {
		errs = append(errs, errors.New("--target-metrics counts every shard's connections at once: give it to a run of one shard"))
	}
	if len(c.AuthHeader) > 0 && c.AuthEndpoint == "" {
		errs = append(errs, errors.New("auth headers go to the application's auth endpoint: give --auth-endpoint too"))
	}
	if c.PayloadBytes < 0 || c.PayloadBytes > MaxPayloadBytes {
		errs = append(errs, fmt.Errorf("payload of %d bytes: want 0 to %d (Pusher's limit of an event's data)", c.PayloadBytes, MaxPayloadBytes))
	}
	if (c.Restart != nil || c.RestartAt != 0) && (c.RestartAt < 0 || c.RestartAt >= c.Duration) {
		errs = append(errs, fmt.Errorf("restart at %s: want a time within the steady phase of %s", c.RestartAt, c.Duration))
	}
	for _, ip := range c.Sources {
		if !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("source %s is not a loopback address", ip))
		}
	}
	return errors.Join(errs...)
}

// validateChannels checks the channel templates: each room must have channels of its own, of
// valid names, seats on a presence channel; the seed application on loopback authorizes only
// the seed's names, so other private and presence names need the application's endpoint.
func (c Config) validateChannels() []error {
	var errs []error
	for _, t := range []struct{ flag, tmpl string }{{"seats", c.SeatsChannel}, {"availability", c.AvailabilityChannel}} {
		if t.tmpl == "" {
			continue
		}
		name := roomChannel(t.tmpl, 0, 900_000_000)
		switch {
		case !protocol.ValidChannelName(name):
			errs = append(errs, fmt.Errorf("%s channel %q: %q is not a valid channel name", t.flag, t.tmpl, name))
		case c.Rooms > 1 && !strings.Contains(t.tmpl, "{room}") && !strings.Contains(t.tmpl, "{id}"):
			errs = append(errs, fmt.Errorf("%s channel %q: every room needs a channel of its own: put {room} or {id} in it", t.flag, t.tmpl))
		case t.flag == "seats" && protocol.KindOf(name) != protocol.Presence:
			errs = append(errs, fmt.Errorf("seats channel %q: seat maps are presence channels: start it with presence-", t.tmpl))
		case protocol.KindOf(name).NeedsAuth() && c.AuthEndpoint == "":
			errs = append(errs, fmt.Errorf("%s channel %q: the built-in application authorizes only the seed's channel names: give your application's --auth-endpoint", t.flag, t.tmpl))
		}
	}
	for _, e := range []struct{ what, url string }{{"auth endpoint", c.AuthEndpoint}, {"target metrics", c.TargetMetrics}} {
		if e.url == "" {
			continue
		}
		if u, err := url.Parse(e.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: want an http:// or https:// URL", e.what, e.url))
		}
	}
	return errs
}

// roomChannel expands a channel template for room index i with event id.
func roomChannel(tmpl string, i, id int) string {
	return strings.NewReplacer("{room}", strconv.Itoa(i), "{id}", strconv.Itoa(id)).Replace(tmpl)
}

// Snapshot is one second of a run, for progress displays.
type Snapshot struct {
	T           int     // seconds since the start
	Phase       string  // ramp, steady, drain
	Connections int64   // open
	Clients     int     // this shard's
	Sent        int64   // in the last second
	Received    int64   // in the last second
	P99US       float64 // delivery p99 of the last second
	Errors      int64   // in the last second
	SteadyDone  float64 // seconds of the steady phase behind us
	Steady      float64 // seconds of the steady phase in all
}
