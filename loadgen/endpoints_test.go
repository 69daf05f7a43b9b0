package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/refserver"
)

// TestTheApplicationsOwnEndpoint: with AuthEndpoint the clients authorize at the application's
// route, with its headers ({client} tells every client apart, arriving ones too, so no ghost is
// seen where two clients shared a user), on the channels the templates name.
func TestTheApplicationsOwnEndpoint(t *testing.T) {
	tg := embedded(t, refserver.Config{})
	var mu sync.Mutex
	users, channels := map[string]bool{}, map[string]bool{}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer load-")
		if r.Method != http.MethodPost || !ok || r.ParseForm() != nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		ch, sock := r.PostForm.Get("channel_name"), r.PostForm.Get("socket_id")
		mu.Lock()
		users[user], channels[ch] = true, true
		mu.Unlock()
		data := ""
		if protocol.KindOf(ch) == protocol.Presence {
			data = `{"user_id":"` + user + `","user_info":{}}`
		}
		json.NewEncoder(w).Encode(map[string]string{"auth": protocol.SignChannel(tg.Key, tg.Secret, sock, ch, data), "channel_data": data})
	}))
	t.Cleanup(app.Close)
	res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioSeats, ScenarioAvailability, ScenarioChurn},
		Clients: 20, Rooms: 2, Rate: 10, Duration: time.Second, Ramp: 200 * time.Millisecond, Drain: 2 * time.Second, Lifetime: 300 * time.Millisecond,
		AuthEndpoint: app.URL + "/broadcasting/auth", AuthHeader: http.Header{"Authorization": {"Bearer load-{client}"}},
		SeatsChannel: "presence-sale-{room}", AvailabilityChannel: "stock-{id}", PayloadBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	for _, c := range s.Checks {
		if !c.Pass {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// 20 planned clients and the arriving ones (10 a second in each of 2 rooms), each its own user.
	if len(users) < 30 || !channels["presence-sale-0"] || !channels["presence-sale-1"] || len(channels) != 2 {
		t.Errorf("the application saw %d users and channels %v; want 20 and the arriving ones, on presence-sale-0 and -1", len(users), channels)
	}
}

// TestChannelTemplatesRefused: templates that cannot work are refused before the run.
func TestChannelTemplatesRefused(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{SeatsChannel: "presence-sale", Rooms: 2}, "put {room} or {id} in it"},
		{Config{SeatsChannel: "private-sale-{room}", AuthEndpoint: "http://127.0.0.1:1/auth"}, "presence channels"},
		{Config{SeatsChannel: "presence-sale-{room}"}, "--auth-endpoint"},
		{Config{AvailabilityChannel: "stock {room}"}, "not a valid channel name"},
		{Config{AuthEndpoint: "127.0.0.1/auth"}, "want an http:// or https:// URL"},
		{Config{PayloadBytes: 20000}, "want 0 to 10240"},
		{Config{TargetMetrics: "ftp://127.0.0.1/metrics"}, "target metrics"},
		{Config{TargetMetrics: "http://127.0.0.1/metrics", Shards: 2}, "a run of one shard"},
		{Config{AuthHeader: http.Header{"Authorization": {"Bearer x"}}}, "give --auth-endpoint too"},
		{Config{Scenarios: []string{ScenarioSeats, ScenarioSilent}, Clients: 100, Rooms: 1, Rate: 5, Duration: 20 * time.Second}, "100 clients per room plus about 101 arriving"},
	} {
		cfg := tc.cfg.WithDefaults()
		if err := cfg.ValidatePlan(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestTargetMetrics: the target's own connection count must rise by what the ramp opened and
// fall back once the clients closed; a server whose count never falls (it forgets to count a
// close) is caught leaking.
func TestTargetMetrics(t *testing.T) {
	tg := embedded(t, refserver.Config{})
	real := serverCount{url: tg.APIURL + "/metrics", gauge: DefaultConnectionGauge, http: http.DefaultClient}
	var mu sync.Mutex
	var highest float64
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := real.read(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		mu.Lock()
		highest = max(highest, n)
		n = highest
		mu.Unlock()
		fmt.Fprintf(w, "# TYPE %s gauge\n%s{node=\"a\"} %g\n", DefaultConnectionGauge, DefaultConnectionGauge, n)
	}))
	t.Cleanup(leaky.Close)
	for _, tc := range []struct {
		name     string
		url      string
		released bool
	}{{"the reference server", tg.APIURL + "/metrics", true}, {"a server that never counts a close", leaky.URL, false}} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioAvailability},
				Clients: 20, Rooms: 1, Rate: 5, Duration: 500 * time.Millisecond, Ramp: 200 * time.Millisecond, Drain: time.Second,
				TargetMetrics: tc.url, ReleaseWait: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if c := checkOf(s, "server counts our connections"); !c.Pass {
				t.Errorf("%s: %s", c.Name, c.Detail)
			}
			if c := checkOf(s, "server released our connections"); c.Pass != tc.released {
				t.Errorf("%s: pass %v, want %v: %s", c.Name, c.Pass, tc.released, c.Detail)
			}
		})
	}
}

// TestSilentClients: clients that join the seat map and stop answering are found by the
// server's liveness check and taken out of the presence channels (a staying member sees them
// go); a server that never closes them leaves ghost members, and the check fails.
func TestSilentClients(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults refserver.Faults
		pass   bool
	}{{"correct server", refserver.Faults{}, true}, {"server that never closes an idle client", refserver.Faults{NoIdleClose: true}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := embedded(t, refserver.Config{ActivityTimeout: 500 * time.Millisecond, PongTimeout: 500 * time.Millisecond, Faults: tc.faults})
			res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioSeats, ScenarioSilent},
				Clients: 20, Rooms: 2, Rate: 2, Duration: time.Second, Ramp: 200 * time.Millisecond, Drain: time.Second,
				SilentWithin: 4 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			c := checkOf(s, "silent clients dropped")
			if c.Pass != tc.pass || !strings.Contains(c.Detail, "silent") {
				t.Errorf("%s: pass %v, want %v: %s", c.Name, c.Pass, tc.pass, c.Detail)
			}
			if m, ok := s.Metric(MetricSilentDrop); tc.pass && (!ok || m.Count == 0) {
				t.Errorf("no %s samples", MetricSilentDrop)
			}
			t.Log(c.Detail)
		})
	}
}

// TestStartAt: the steady phase begins at StartAt and says so; a ramp that overruns it fails
// the check "start at" instead of firing the events already due all at once.
func TestStartAt(t *testing.T) {
	tg := embedded(t, refserver.Config{})
	for _, tc := range []struct {
		name string
		in   time.Duration
		pass bool
	}{{"in time", 2 * time.Second, true}, {"overrun by the ramp", 10 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Now().Add(tc.in)
			res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioAvailability}, Clients: 10, Rooms: 1, Rate: 5,
				Duration: 500 * time.Millisecond, Ramp: 300 * time.Millisecond, Drain: 500 * time.Millisecond, StartAt: at})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			if c := checkOf(s, "start at"); c.Pass != tc.pass {
				t.Errorf("%s: pass %v, want %v: %s", c.Name, c.Pass, tc.pass, c.Detail)
			}
			if tc.pass && !s.SteadyAt.Equal(at) {
				t.Errorf("steady at %s, want %s", s.SteadyAt, at)
			}
		})
	}
}
