package steps

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/pushcert/pushcert/internal/faultproxy"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// truthCase is one misbehaviour of a server and what the suite must make of it: the cases that
// must flag it (FAIL or NON-STRICT, or, for INFO cases, an observation containing a text), and
// the cases about other properties that must still pass on that server (no false flag).
type truthCase struct {
	proxy  string // a faultproxy fault between the suite and a correct server
	server string // or a refserver fault
	flag   []string
	pass   []string
	info   map[string]string // INFO case -> text its observation must contain
	actual map[string]string // flagged case -> text its actual value must contain
}

var truthCases = []truthCase{
	{proxy: "close-after-refusal",
		flag: []string{"PRIV-008"},
		pass: []string{"USER-002", "PRIV-002", "PRIV-003", "PRIV-004", "PRIV-005", "PRIV-006", "PRES-006", "PRES-007", "ENC-001", "USER-008"}},
	{proxy: "crash-on-refusal", flag: []string{"PRIV-002", "PRIV-004", "USER-002"}, pass: []string{"PRIV-001", "USER-001"}},
	{proxy: "no-batch-events", flag: []string{"API-011"}, pass: []string{"PUB-011"}},
	{proxy: "hash-omits-infoless-members",
		flag: []string{"PRES-012"},
		pass: []string{"TABS-002", "RECON-003", "RECON-005", "PRES-001", "PRES-002"}},
	{proxy: "errors-in-body",
		flag:   []string{"API-002", "API-005"},
		pass:   []string{"API-001"},
		actual: map[string]string{"API-002": "refused in the body, code 401, but HTTP 200"}},
	{proxy: "close-on-bad-input",
		flag: []string{"CONN-008", "CONN-009", "CONN-010"},
		pass: []string{"CONN-007"},
		info: map[string]string{"CONN-015": "close code 4200", "CONN-016": "close code 4200", "CONN-017": "close code 4200"}},
	{proxy: "no-singular-channel", flag: []string{"API-023"}, pass: []string{"API-001", "PUB-002"}},
	{server: "unanchored-prefixes",
		flag: []string{"PUB-009", "PUB-012", "PUB-013", "PUB-014", "PUB-015", "PUB-016", "PUB-017"},
		pass: []string{"PUB-001", "PRIV-001", "PRES-001", "CACHE-001"}},
	{server: "ack-foreign-user-channel", flag: []string{"USER-008"}, pass: []string{"USER-004", "USER-003"}},
	{server: "leak-user-channel", flag: []string{"USER-004", "USER-008"}, pass: []string{"USER-003"}},
	{server: "relay-invalid-utf8", flag: []string{"CONN-018", "CEV-009", "API-024"}, pass: []string{"CEV-001", "CONN-007"}},
}

// TestSuiteTruth proves each verdict true in both directions: for every misbehaviour a real
// server was seen to have, the case about it flags it, and the cases about other properties do
// not (a close after a refusal, a missing optional endpoint, an incomplete hash must not fail
// cases that are not about them).
func TestSuiteTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parts of the suite once per misbehaviour")
	}
	for _, tc := range truthCases {
		name := tc.proxy + tc.server
		t.Run(name, func(t *testing.T) {
			tg := truthTarget(t, tc)
			include := slices.Concat(tc.flag, tc.pass, mapKeys(tc.info))
			results, err := Run(context.Background(), Options{Target: tg, Capabilities: AllCapabilities, Include: include,
				Concurrency: 8, TimeoutFactor: testTimeoutFactor(), Output: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			byID := map[string]Result{}
			for _, r := range results {
				byID[r.Case.ID] = r
			}
			for _, id := range tc.flag {
				r := byID[id]
				if !flaggedAtSubject(r) {
					t.Errorf("%s: %s at step %q, want it flagged at its subject (%s)\n%s", id, r.Outcome, failedStep(r).Text, r.Message, wire(r))
				}
				if want := tc.actual[id]; want != "" && !strings.Contains(r.Actual, want) {
					t.Errorf("%s: actual %q, want it to say %q", id, r.Actual, want)
				}
			}
			for _, id := range tc.pass {
				if r := byID[id]; r.Outcome != Pass {
					t.Errorf("%s: %s on a server whose only fault is %s, want PASS: %s\n%s", id, r.Outcome, name, r.Message, wire(r))
				}
			}
			for id, want := range tc.info {
				r := byID[id]
				if r.Outcome != Info || !strings.Contains(strings.Join(r.Notes, "\n"), want) {
					t.Errorf("%s: %s recording %q, want INFO recording %q", id, r.Outcome, r.Notes, want)
				}
			}
		})
	}
}

// truthTarget is the reference server with the case's server fault, or a correct one behind
// the case's proxy fault.
func truthTarget(t *testing.T, tc truthCase) *target.Target {
	t.Helper()
	var cfg refserver.Config
	if tc.server != "" {
		if err := refserver.ParseFault(&cfg.Faults, tc.server); err != nil {
			t.Fatal(err)
		}
	}
	tg, stop, err := target.StartEmbedded(cfg, refserver.App{SubscriptionCount: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if tc.proxy == "" {
		return tg
	}
	return viaFault(t, tg, tc.proxy)
}

func mapKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// viaFault puts the proxy fault named spec in front of tg for the test's duration.
func viaFault(t *testing.T, tg *target.Target, spec string) *target.Target {
	t.Helper()
	f, err := faultproxy.Lookup(spec)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := faultproxy.Front(tg.APIURL, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg.Via(addr)
}
