package steps

import (
	"context"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// caughtBy names, for every fault, the case written to catch it; others may fail too.
var caughtBy = map[string]string{
	"accept-any-channel-auth":  "PRIV-002",
	"echo-client-events":       "CEV-001",
	"duplicate-member-added":   "TABS-002",
	"no-member-removed":        "PRES-004",
	"drop-deliveries":          "PUB-011",
	"duplicate-deliveries":     "PUB-011",
	"ignore-socket-exclusion":  "API-012",
	"skip-timestamp-window":    "API-003",
	"no-pong":                  "CONN-007",
	"leak-private-events":      "PRIV-006",
	"no-client-event-limit":    "RATE-001",
	"skip-body-md5":            "API-005",
	"public-client-events":     "CEV-004",
	"unanchored-prefixes":      "PUB-012",
	"ack-foreign-user-channel": "USER-008",
	"leak-user-channel":        "USER-004",
}

// TestFaultsAreCaught proves that the suite can fail: for every fault switch of the reference
// server, a run against the faulty server fails the MUST or SHOULD case written for it. It runs
// that case alone; PUSHCERT_KILL_MATRIX=1 runs the whole suite per fault and logs every case
// each fault fails.
func TestFaultsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite once per fault")
	}
	whole := os.Getenv("PUSHCERT_KILL_MATRIX") != ""
	for _, name := range refserver.FaultNames() {
		if slices.Contains(refserver.TimingFaults, name) {
			continue // a few milliseconds of delay is for the load generator to measure (loadgen tests)
		}
		want, ok := caughtBy[name]
		if !ok {
			t.Errorf("fault %s: no case named to catch it in caughtBy", name)
			continue
		}
		spec := name
		if name == "duplicate-deliveries" {
			spec += "=0.01"
		}
		t.Run(name, func(t *testing.T) {
			var cfg refserver.Config
			if err := refserver.ParseFault(&cfg.Faults, spec); err != nil {
				t.Fatal(err)
			}
			tg, stop, err := target.StartEmbedded(cfg, refserver.App{})
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			opts := Options{Target: tg, Capabilities: AllCapabilities, Concurrency: 8, TimeoutFactor: testTimeoutFactor(), Output: io.Discard}
			if !whole {
				opts.Include = []string{want}
			}
			results, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			var caught []string
			hit := false
			for _, r := range results {
				if r.Outcome == Fail || r.Outcome == NonStrict {
					hit = hit || r.Case.ID == want
					caught = append(caught, r.Case.ID+"("+string(r.Outcome)+")")
					if os.Getenv("PUSHCERT_VERBOSE") != "" {
						t.Logf("%s: %s\n%s", r.Case.ID, r.Message, wire(r))
					}
				}
			}
			if !hit {
				t.Fatalf("fault %s: %s passed; the suite cannot see this fault (failed: %v)", name, want, caught)
			}
			slices.Sort(caught)
			t.Logf("fault %s caught by %v", name, caught)
		})
	}
}
