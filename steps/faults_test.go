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

// TestFaultsAreCaught proves that the suite can fail: for every fault switch of the reference
// server, a run against the faulty server has at least one MUST or SHOULD case failing.
func TestFaultsAreCaught(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite once per fault")
	}
	for _, name := range refserver.FaultNames() {
		if slices.Contains(refserver.TimingFaults, name) {
			continue // a few milliseconds of delay is for the load generator to measure (loadgen tests)
		}
		if name == "duplicate-deliveries" {
			name += "=0.01"
		}
		t.Run(name, func(t *testing.T) {
			var cfg refserver.Config
			if err := refserver.ParseFault(&cfg.Faults, name); err != nil {
				t.Fatal(err)
			}
			tg, stop, err := target.StartEmbedded(cfg, refserver.App{})
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			results, err := Run(context.Background(), Options{Target: tg, Capabilities: AllCapabilities, Concurrency: 8, TimeoutFactor: testTimeoutFactor(), Output: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			var caught []string
			for _, r := range results {
				if r.Outcome == Fail || r.Outcome == NonStrict {
					caught = append(caught, r.Case.ID+"("+string(r.Outcome)+")")
					if os.Getenv("PUSHCERT_VERBOSE") != "" {
						t.Logf("%s: %s\n%s", r.Case.ID, r.Message, wire(r))
					}
				}
			}
			if len(caught) == 0 {
				t.Fatalf("fault %s: every case passed; the suite cannot see this fault", name)
			}
			slices.Sort(caught)
			t.Logf("fault %s caught by %v", name, caught)
		})
	}
}
