package steps

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/internal/faultproxy"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/webhook"
	"github.com/pushcert/pushcert/refserver"
)

// killMatrix names, for every fault, the MUST and SHOULD cases it must make fail. A fault is
// "server:NAME", a switch of the reference server (refserver.Faults), for what no proxy sees, or
// "proxy:NAME", a faultproxy fault between the suite and a correct server, for what is visible
// on the wire, or "cluster:NAME", a switch of every node of a 3-node cluster on a real Redis. Every MUST and SHOULD case of the catalogue is in at least one row, and every
// fault of both kinds has a row.
var killMatrix = map[string][]string{
	"server:accept-any-channel-auth":       {"PRIV-002", "PRIV-003", "PRIV-004", "PRIV-005", "PRES-007", "ENC-001"},
	"server:echo-client-events":            {"CEV-001"},
	"server:duplicate-member-added":        {"TABS-002"},
	"server:no-member-removed":             {"PRES-004", "PRES-005", "TABS-003", "RECON-003", "RECON-005"},
	"server:drop-deliveries":               {"PUB-011"},
	"server:duplicate-deliveries":          {"PUB-011"},
	"server:ignore-socket-exclusion":       {"API-012", "SHOP-006"},
	"server:skip-timestamp-window":         {"API-003", "API-004"},
	"server:no-pong":                       {"CONN-007"},
	"server:no-idle-close":                 {"CONN-011"},
	"server:leak-private-events":           {"PRIV-006"},
	"server:no-client-event-limit":         {"RATE-001"},
	"server:skip-body-md5":                 {"API-005"},
	"server:public-client-events":          {"CEV-004"},
	"server:unanchored-prefixes":           {"PUB-009", "PUB-012", "PUB-013", "PUB-014", "PUB-015", "PUB-016", "PUB-017"},
	"server:ack-foreign-user-channel":      {"USER-008"},
	"server:leak-user-channel":             {"USER-004", "USER-008"},
	"server:hyphenless-prefixes":           {"PRIV-007"},
	"server:leak-all-events":               {"PUB-005", "SHOP-003", "SHOP-008", "SHOP-010"},
	"server:typed-user-ids":                {"PRES-010"},
	"server:relay-non-member-events":       {"CEV-003"},
	"server:relay-unprefixed-events":       {"CEV-005"},
	"server:ignore-client-events-off":      {"CEV-008"},
	"server:stale-cache":                   {"CACHE-002"},
	"server:no-signin-after-terminate":     {"RECON-004"},
	"server:first-channel-only":            {"PUB-010"},
	"server:relay-invalid-utf8":            {"CONN-018", "CEV-009", "API-024"},
	"server:drop-webhook=channel_occupied": {"HOOK-001"},
	"server:drop-webhook=channel_vacated":  {"HOOK-002"},
	"server:drop-webhook=member_added":     {"HOOK-004", "SHOP-013"},
	"server:drop-webhook=member_removed":   {"HOOK-005", "SHOP-013"},
	"server:drop-webhook=client_event":     {"HOOK-006"},
	"server:drop-webhook=cache_miss":       {"HOOK-007"},
	"server:per-connection-occupancy":      {"HOOK-001", "HOOK-003"},
	"server:per-connection-members":        {"HOOK-004", "HOOK-005"},
	"server:unsigned-webhooks":             {"HOOK-008", "SHOP-013"},
	"server:webhook-time-seconds":          {"HOOK-009"},
	"server:no-webhook-retry":              {"HOOK-010"},
	"server:misrouted-webhooks":            {"HOOK-011"},
	"server:no-webhook-debounce":           {"HOOK-012"},

	"cluster:presence-per-node":           {"CLUS-003", "CLUS-004", "CLUS-006"},
	"cluster:exclusion-on-origin":         {"CLUS-002"},
	"cluster:local-counts":                {"CLUS-005", "CLUS-006"},
	"cluster:local-cache":                 {"CLUS-010"},
	"cluster:occupancy-per-node":          {"CLUS-011"},
	"cluster:member-hooks-per-node":       {"CLUS-012"},
	"cluster:ghost-members":               {"CLUS-013"},
	"cluster:count-events-per-node":       {"CLUS-014"},
	"cluster:watchlist-per-node":          {"CLUS-015"},
	"cluster:quota-per-node":              {"CLUS-016"},
	"cluster:local-messages=event":        {"CLUS-001", "CLUS-008"},
	"cluster:local-messages=client_event": {"CLUS-007"},
	"cluster:local-messages=terminate":    {"CLUS-009"},

	"proxy:established-data-object":                           {"CONN-001"},
	"proxy:same-socket-id":                                    {"CONN-002", "RECON-002"},
	"proxy:wrong-close-codes":                                 {"CONN-003", "CONN-004", "CONN-005", "CONN-006", "CONN-011", "CONN-013", "RECON-001", "USER-007"},
	"proxy:drop-client-pong":                                  {"CONN-012"},
	"proxy:close-on-bad-input":                                {"CONN-008", "CONN-009", "CONN-010"},
	"proxy:drop-event=pusher_internal:subscription_succeeded": {"PUB-001", "PRIV-001"},
	"proxy:refuse-long-names":                                 {"PUB-006"},
	"proxy:accept-bad-names":                                  {"PUB-007", "PUB-008"},
	"proxy:drop-channel-events":                               {"PUB-002", "USER-003", "TABS-001", "TABS-004", "SHOP-001", "SHOP-002", "SHOP-004", "SHOP-009", "SHOP-012"},
	"proxy:rewrite-data":                                      {"PUB-003", "ENC-002", "SHOP-001"},
	"proxy:drop-unsubscribe":                                  {"PUB-004"},
	"proxy:refuse-private":                                    {"PRIV-001"},
	"proxy:crash-on-refusal":                                  {"PRIV-002", "USER-002"},
	"proxy:close-after-refusal":                               {"PRIV-008"},
	"proxy:empty-member-list":                                 {"PRES-001", "PRES-002", "PRES-011", "RECON-006"},
	"proxy:drop-event=pusher_internal:member_added":           {"PRES-002", "SHOP-007"},
	"proxy:own-member-added":                                  {"PRES-003"},
	"proxy:ack-presence-without-data":                         {"PRES-006", "PRES-011"},
	"proxy:drop-event=pusher:error":                           {"PRES-008", "PRES-009", "CEV-006", "USER-006", "PUB-007"},
	"proxy:hash-omits-infoless-members":                       {"PRES-012"},
	"proxy:strip-user-id":                                     {"CEV-002"},
	"proxy:limit-forever":                                     {"RATE-002"},
	"proxy:drop-event=pusher:cache_miss":                      {"CACHE-001"},
	"proxy:strip-info":                                        {"CACHE-003", "API-013", "API-015", "API-020", "API-022"},
	"proxy:accept-encrypted-multi":                            {"ENC-003"},
	"proxy:rewrite-signin-user":                               {"USER-001"},
	"proxy:fake-signin":                                       {"USER-002"},
	"proxy:drop-event=pusher_internal:watchlist_events":       {"USER-005"},
	"proxy:drop-event=pusher_internal:subscription_count":     {"PUB-018"},
	"proxy:refuse-publish":                                    {"API-001", "API-008"},
	"proxy:ok-true-body":                                      {"API-021"},
	"proxy:errors-in-body":                                    {"API-002", "API-007", "API-009", "API-010", "API-014", "API-017", "API-018", "API-019"},
	"proxy:uppercase-keys-refused":                            {"API-006"},
	"proxy:limit-10000":                                       {"API-008"},
	"proxy:no-batch-events":                                   {"API-011"},
	"proxy:duplicate-users":                                   {"API-016"},
	"proxy:no-singular-channel":                               {"API-023"},
}

// TestKillMatrix proves that the suite can fail, case by case: every MUST and SHOULD case fails
// (FAIL or NON-STRICT) under at least one fault, shown by running it under that fault. The
// cases that need control of the server run too: on the apps of deploy/profile, which the
// faulty server is started with, and restarting it in place. It prints the matrix.
func TestKillMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cases once per fault")
	}
	cases, err := Catalogue()
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string]string{}
	for _, c := range cases {
		levels[c.ID] = c.Level
	}
	killed := map[string][]string{} // case -> faults that killed it
	faults := slices.Sorted(func(yield func(string) bool) {
		for f := range killMatrix {
			if !yield(f) {
				return
			}
		}
	})
	// The rows run killRowsAtOnce at a time: a row mostly waits (for what a faulty server does
	// not send), so rows side by side take little more than one, and a few leave a busy
	// machine room for the waits that are bounded.
	var (
		killedMu sync.Mutex
		rows     sync.WaitGroup
	)
	slots := make(chan struct{}, killRowsAtOnce)
	for _, spec := range faults {
		slots <- struct{}{}
		rows.Add(1)
		go func() { // t.Run from several goroutines, not t.Parallel: -parallel is not the bound
			defer func() { <-slots; rows.Done() }()
			t.Run(spec, func(t *testing.T) {
				killRow(t, spec, killMatrix[spec], func(id string) {
					killedMu.Lock()
					killed[id] = append(killed[id], spec)
					killedMu.Unlock()
				})
			})
		}()
	}
	rows.Wait()
	var unknown, survivors []string
	for _, ids := range killMatrix {
		for _, id := range ids {
			if levels[id] == "" || levels[id] == "info" {
				unknown = append(unknown, id)
			}
		}
	}
	for _, c := range cases {
		if c.Level != "info" && len(killed[c.ID]) == 0 {
			survivors = append(survivors, c.ID)
		}
	}
	if len(unknown) > 0 {
		t.Errorf("the matrix names cases that are not MUST or SHOULD cases of the catalogue: %v", unknown)
	}
	if len(survivors) > 0 {
		t.Errorf("no fault kills these MUST and SHOULD cases: %v", survivors)
	}
	for _, name := range refserver.FaultNames() {
		kind := "server:"
		if slices.Contains(refserver.ClusterFaults, name) {
			kind = "cluster:"
		}
		rows := slices.ContainsFunc(slices.Collect(maps.Keys(killMatrix)), func(k string) bool {
			return k == kind+name || strings.HasPrefix(k, kind+name+"=")
		})
		if !slices.Contains(refserver.TimingFaults, name) && !rows {
			t.Errorf("server fault %s has no row in the kill matrix", name)
		}
	}
	for name := range faultproxy.Faults() {
		if killMatrix["proxy:"+name] == nil {
			t.Errorf("proxy fault %s has no row in the kill matrix", name)
		}
	}
	t.Log(matrixText(cases, killed, len(faults)))
}

// killRowsAtOnce is how many rows of the matrix run side by side.
const killRowsAtOnce = 3

// killRow runs the cases of one row under its fault and tells each that the fault killed.
func killRow(t *testing.T, spec string, ids []string, kill func(id string)) {
	tg, profile, rcv := killTarget(t, spec)
	results, err := Run(context.Background(), Options{Target: tg, Profile: profile, Webhooks: rcv, Capabilities: AllCapabilities, Include: ids,
		Concurrency: 8, TimeoutFactor: testTimeoutFactor(), Output: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !slices.Contains(ids, r.Case.ID) {
			continue
		}
		if flaggedAtSubject(r) {
			kill(r.Case.ID)
			continue
		}
		t.Errorf("%s not killed by %s at its subject: %s %s (failed step: %q)", r.Case.ID, spec, r.Outcome, r.Message, failedStep(r).Text)
	}
}

func matrixText(cases []features.Case, killed map[string][]string, faults int) string {
	var b strings.Builder
	must, should, mustK, shouldK := 0, 0, 0, 0
	for _, c := range cases {
		switch c.Level {
		case "must":
			must++
			if len(killed[c.ID]) > 0 {
				mustK++
			}
		case "should":
			should++
			if len(killed[c.ID]) > 0 {
				shouldK++
			}
		}
	}
	fmt.Fprintf(&b, "kill matrix: %d faults; MUST cases killed %d of %d, SHOULD cases killed %d of %d\n", faults, mustK, must, shouldK, should)
	ids := make([]string, 0, len(killed))
	for id := range killed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, "  %-10s FAILED under %s\n", id, strings.Join(slices.Sorted(slices.Values(killed[id])), ", "))
	}
	return b.String()
}

// killTarget starts the reference server with the apps of deploy/profile/serve.json, each
// posting its webhooks to a receiver, and the spec's server fault, or correct behind the spec's
// proxy fault, and returns it with the profile describing its extra apps and the receiver.
func killTarget(t *testing.T, spec string) (*target.Target, *target.Profile, *webhook.Receiver) {
	t.Helper()
	rcv, err := webhook.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	deploy := filepath.Join("..", "deploy", "profile")
	fc, err := refserver.LoadFile(filepath.Join(deploy, "serve.json"))
	if err != nil {
		t.Fatal(err)
	}
	profile, err := target.LoadProfile(filepath.Join(deploy, "profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	profile.RestartCmd = "" // the run restarts the server it started, in place
	cfg := refserver.Config{Apps: fc.Apps, ActivityTimeout: time.Duration(fc.ActivityTimeout), PongTimeout: time.Duration(fc.PongTimeout)}
	for i := range cfg.Apps {
		cfg.Apps[i].Webhooks = []refserver.Webhook{{URL: rcv.URL(cfg.Apps[i].ID)}}
	}
	kind, name, _ := strings.Cut(spec, ":")
	if kind == "server" || kind == "cluster" {
		if err := refserver.ParseFault(&cfg.Faults, name); err != nil {
			t.Fatal(err)
		}
	}
	start := func(cfg refserver.Config) (*target.Target, func(), error) {
		return target.StartServer("127.0.0.1:0", cfg)
	}
	if kind == "cluster" {
		start = func(cfg refserver.Config) (*target.Target, func(), error) { return target.StartCluster(3, cfg) }
	}
	tg, stop, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if kind != "proxy" {
		return tg, profile, rcv
	}
	return viaFault(t, tg, name), profile, rcv
}

// flaggedAtSubject reports whether a case failed (FAIL or NON-STRICT) at a step of its subject,
// a When or Then step: a case that breaks while its Given steps set the scene has not shown
// that it can see the fault it is about.
func flaggedAtSubject(r Result) bool {
	return (r.Outcome == Fail || r.Outcome == NonStrict) && !failedStep(r).Setup
}

func failedStep(r Result) StepResult {
	for _, s := range r.Steps {
		if s.Status == "failed" {
			return s
		}
	}
	return StepResult{Setup: true}
}
