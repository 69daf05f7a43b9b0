package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/target"
)

// Scenario names.
const (
	ScenarioSeats        = "seats"
	ScenarioAvailability = "availability"
	ScenarioChurn        = "churn"
	ScenarioPrivate      = "private"
)

// Scenarios lists what Run can do.
var Scenarios = []string{ScenarioSeats, ScenarioAvailability, ScenarioChurn, ScenarioPrivate}

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
	// StartAt, when set, is when the steady phase's timetables begin, so that shards started
	// apart run their steady phases together; the ramp must be done by then. Zero starts the
	// steady phase once the ramp is done.
	StartAt time.Time
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
	if len(c.Sources) == 0 {
		c.Sources = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	if c.Lifetime == 0 {
		c.Lifetime = 2 * time.Second
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
	if c.Rate <= 0 || c.Duration <= 0 {
		errs = append(errs, errors.New("rate and duration must be positive"))
	}
	if c.Shards < 1 || c.Shard < 0 || c.Shard >= c.Shards {
		errs = append(errs, fmt.Errorf("shard %d/%d: want 0 <= i < n", c.Shard, c.Shards))
	}
	churning := slices.Contains(c.Scenarios, ScenarioChurn) || slices.Contains(c.Scenarios, ScenarioPrivate)
	if churning && slices.Contains(c.Scenarios, ScenarioSeats) && c.Rooms > 0 {
		// Arriving clients join the seat map, a presence channel of at most 100 members.
		perRoom := (c.Clients + c.Rooms - 1) / c.Rooms
		arriving := int(c.Rate*c.Lifetime.Seconds()) + 1
		if perRoom+arriving > 100 {
			errs = append(errs, fmt.Errorf("churn and private clients join the seat map, a presence channel of 100 members: "+
				"%d clients per room plus about %d arriving ones is too many (use more rooms, a lower rate or a shorter lifetime)", perRoom, arriving))
		}
	}
	if c.Restart != nil && (c.RestartAt < 0 || c.RestartAt >= c.Duration) {
		errs = append(errs, fmt.Errorf("restart at %s: want a time within the steady phase of %s", c.RestartAt, c.Duration))
	}
	for _, ip := range c.Sources {
		if !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("source %s is not a loopback address", ip))
		}
	}
	return errors.Join(errs...)
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
