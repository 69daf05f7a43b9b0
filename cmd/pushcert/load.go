package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/loadgen"
	"github.com/pushcert/pushcert/refserver"
	"github.com/pushcert/pushcert/reports"
)

// load's own exit codes, beside exitOK, exitFail (a check failed), exitUsage and exitUnreachable.
const (
	// exitInvalid: the run measured something else than the server (the generator or the
	// machine was the bottleneck); its figures do not count, whatever its checks said.
	exitInvalid = 4
	// exitThreshold: a --threshold failed, as k6 does.
	exitThreshold = 99
)

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("load", pflag.ContinueOnError)
	t := targetFlags(fs)
	scenarios := fs.StringSlice("scenario", []string{loadgen.ScenarioSeats}, "scenarios to run together: "+strings.Join(loadgen.Scenarios, ", "))
	clients := fs.Int("clients", 1000, "simulated clients in all shards")
	rooms := fs.Int("rooms", 0, "events (rooms); default one per 100 clients")
	rate := fs.Float64("rate", 5, "per room and second: seat changes (seats), publishes (availability), arriving clients (churn, private)")
	lifetime := fs.Duration("lifetime", 2*time.Second, "churn: how long an arriving client stays in its room")
	duration := fs.Duration("duration", 20*time.Second, "steady phase, the one that feeds the headline numbers")
	ramp := fs.Duration("ramp", 0, "time to connect the clients (default 1 s per 2,000 clients)")
	drain := fs.Duration("drain", 2*time.Second, "wait after the last send for deliveries in flight")
	startAt := fs.String("start-at", "", "begin the steady phase at this time (RFC 3339, e.g. 2026-12-01T12:00:00Z): shards started apart run their steady phases together; the ramp must be done by then")
	shard := fs.String("shard", "1/1", "run shard i of n (1-based), e.g. 2/4, or \"indexed\" for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of SHARDS); merge the summaries with \"pushcert report merge\"")
	sources := fs.Int("sources", 0, "spread client sockets over 127.0.0.1 .. 127.0.0.N (default: one per 25,000 clients)")
	thresholds := fs.StringArray("threshold", nil, "pass/fail gate, repeatable: delivery.p99<50ms, client_event.p99.9<100ms, reach>=99.99%, lost<1, errors<1 (exit 99 when one fails)")
	outDir := fs.String("out", "", "write summary.json, one .hgrm per metric, intervals.hlog and report.html into this directory")
	authEndpoint := fs.String("auth-endpoint", "", "your application's channel auth route (Echo's authEndpoint, e.g. https://tickets.example/broadcasting/auth) instead of the built-in seed application")
	authHeaders := fs.StringArray("auth-header", nil, `"Name: value" sent to --auth-endpoint, repeatable; {client} becomes the client's index, e.g. "Authorization: Bearer {client}"`)
	seatsChannel := fs.String("seats-channel", "", "each room's seat map channel, a presence channel: {room} its index, {id} its event id (default presence-event.{id}.seats)")
	availChannel := fs.String("availability-channel", "", "each room's availability channel: {room} its index, {id} its event id (default event.{id})")
	targetMetrics := fs.String("target-metrics", "", "the target's Prometheus endpoint, e.g. http://127.0.0.1:6001/metrics: its count of open connections must rise by what the ramp opened and fall back after the run (leaked connections)")
	gauge := fs.String("target-metrics-gauge", loadgen.DefaultConnectionGauge, "the gauge of open connections at --target-metrics (summed over its series)")
	silentWithin := fs.Duration("silent-within", 3*time.Minute, "silent: how long after the last client went silent the server may take to drop them all (the embedded server: 15s, its activity and pong timeouts set to 2s)")
	payloadBytes := fs.Int("payload-bytes", 0, "grow every event's data to this many bytes (up to 10240)")
	restartAt := fs.Duration("restart-at", 0, "restart the embedded server this long into the steady phase: it closes every connection with 4200 and the clients reconnect at once (a reconnect storm)")
	null := fs.Bool("null-server", false, "run the plan against an in-process null server, which does nothing but pass events on: the generator's own latency floor (CPU and memory figures include the null server's)")
	cpuProfile := fs.String("cpuprofile", "", "write the generator's CPU profile (go tool pprof) to this file")
	quiet := fs.BoolP("quiet", "q", false, "no progress lines")
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if *clients < 2 {
		fmt.Fprintf(stderr, "pushcert load: --clients %d: want at least 2 (a room needs a sender and a receiver)\n", *clients)
		return exitUsage
	}
	cfg := loadgen.Config{Scenarios: *scenarios, Clients: *clients, Rooms: *rooms, Rate: *rate, Duration: *duration, Ramp: *ramp, Drain: *drain, Lifetime: *lifetime,
		AuthEndpoint: *authEndpoint, SeatsChannel: *seatsChannel, AvailabilityChannel: *availChannel, PayloadBytes: *payloadBytes,
		TargetMetrics: *targetMetrics, ConnectionGauge: *gauge, SilentWithin: *silentWithin}
	var err error
	if cfg.AuthHeader, err = parseHeaders("--auth-header", *authHeaders); err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitUsage
	}
	i, n, err := parseShard(*shard)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitUsage
	}
	cfg.Shard, cfg.Shards = i, n
	if *startAt != "" {
		if cfg.StartAt, err = parseStartAt(*startAt, time.Now()); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitUsage
		}
	}
	churning := slices.Contains(*scenarios, loadgen.ScenarioChurn) || slices.Contains(*scenarios, loadgen.ScenarioPrivate)
	if *null && (t.WebSocketURL != "" || fs.Changed("restart-at") || churning) {
		fmt.Fprintln(stderr, "pushcert load: --null-server runs seats and availability only, without --target or --restart-at: it keeps no presence state to check")
		return exitUsage
	}
	if fs.Changed("restart-at") && t.WebSocketURL != "" {
		fmt.Fprintln(stderr, "pushcert load: --restart-at restarts the embedded server; against --target, restart your server during the run: the clients reconnect by themselves")
		return exitUsage
	}
	if err := cfg.WithDefaults().ValidatePlan(); err != nil { // before anything starts
		fmt.Fprintln(stderr, "pushcert load:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitUsage
	}
	ns := *sources
	if ns == 0 {
		ns = 1 + *clients/25000
	}
	for k := 1; k <= ns && k < 255; k++ {
		cfg.Sources = append(cfg.Sources, net.IPv4(127, 0, 0, byte(k)))
	}
	// One file per client connection, twice when the server runs in this process too, and the
	// arriving clients of churn and private at their peak. Short of files, the run still goes: its
	// connected check then says how many clients could not connect.
	need := uint64((*clients + n - 1) / n)
	if churning {
		need += uint64(float64(max(*rooms, 1)) * (*rate) * (lifetime.Seconds() + 1))
	}
	if *null {
		need *= 2 // the null server's end of each connection is in this process too
	}
	if _, err := raiseFileLimit(need + fdHeadroom); err != nil {
		fmt.Fprintln(stderr, "pushcert load: warning:", err)
	}
	var ths []loadgen.Threshold
	for _, e := range *thresholds {
		th, err := loadgen.ParseThreshold(e)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitUsage
		}
		ths = append(ths, th)
	}
	progressDone := func() {}
	if !*quiet {
		cfg.OnSecond, progressDone = loadProgress(stderr, (*clients+cfg.Shards-1-cfg.Shard)/cfg.Shards, duration.Seconds())
	}
	var (
		tg   *target.Target
		stop func()
		proc *serverProcess
		code = -1
	)
	switch {
	case *null:
		var err error
		if tg, stop, err = loadgen.StartNullServer(); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
	case !t.given():
		// The embedded server runs as a child process (see serverProcess), with room for the
		// run's bursts: client events of a whole room per connection pass 10 a second at high
		// rates.
		var err error
		args := []string{"--client-event-rate", "1000"}
		if slices.Contains(*scenarios, loadgen.ScenarioSilent) { // silent clients found in seconds, not minutes
			args = append(args, "--activity-timeout", "2s", "--pong-timeout", "2s")
			if !fs.Changed("silent-within") {
				cfg.SilentWithin = 15 * time.Second
			}
		}
		if tg, proc, err = startServerProcess(ctx, stderr, args...); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
		stop = proc.stop
	default:
		if tg, stop, code = resolveTarget(ctx, "load", t, refserver.App{}, stderr); code >= 0 {
			return code
		}
	}
	defer stop()
	cfg.Target = tg
	if fs.Changed("restart-at") {
		cfg.Restart, cfg.RestartAt = tg.Restart, *restartAt
	}
	var hlog *os.File
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitUsage
		}
		if hlog, err = os.Create(filepath.Join(*outDir, "intervals.hlog")); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
		defer hlog.Close()
		cfg.IntervalLog = hlog
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, cfg)
	progressDone()
	if err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitUsage
	}
	s := res.Summary
	if proc != nil {
		proc.stop()
		u := proc.Usage()
		s.Server = &u
	}
	s.Tool.Version = versionString()
	s.Plan.Thresholds = *thresholds
	// The run's own checks (connected, reach, seat maps, ghosts) fail it as an INVALID run does:
	// a sale that lost messages is not a pass. Thresholds have their own code, for CI gates.
	checksFailed := false
	for _, c := range s.Checks {
		checksFailed = checksFailed || !c.Pass
	}
	failed := false
	for _, th := range ths {
		c := th.Check(s)
		failed = failed || !c.Pass
		s.Checks = append(s.Checks, c)
	}
	if err := reports.WriteLoadConsole(stdout, s); err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitFail
	}
	if *outDir != "" {
		if err := writeLoadFiles(*outDir, s); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
		fmt.Fprintln(stdout, "wrote", *outDir)
	}
	switch {
	case !s.Valid:
		return exitInvalid
	case checksFailed:
		return exitFail
	case failed:
		return exitThreshold
	}
	return exitOK
}

// parseStartAt reads --start-at: an RFC 3339 time after now and within a day of it.
func parseStartAt(s string, now time.Time) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		return at, fmt.Errorf("--start-at %q: want an RFC 3339 time like %s", s, now.Add(time.Minute).UTC().Format(time.RFC3339))
	case !at.After(now):
		return at, fmt.Errorf("--start-at %s is %s in the past", s, now.Sub(at).Round(time.Second))
	case at.Sub(now) > 24*time.Hour:
		return at, fmt.Errorf("--start-at %s is more than a day away", s)
	}
	return at, nil
}

// parseShard reads "i/n" (1-based), or "indexed": the 0-based JOB_COMPLETION_INDEX of a
// Kubernetes Indexed Job out of SHARDS.
func parseShard(s string) (int, int, error) {
	if s == "indexed" {
		idx, err1 := strconv.Atoi(os.Getenv("JOB_COMPLETION_INDEX"))
		n, err2 := strconv.Atoi(os.Getenv("SHARDS"))
		if err1 != nil || err2 != nil || n < 1 || idx < 0 || idx >= n {
			return 0, 0, fmt.Errorf("--shard indexed needs JOB_COMPLETION_INDEX (0-based) and SHARDS in the environment")
		}
		return idx, n, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 1 <= i <= n", s)
	}
	return i - 1, n, nil
}

// writeLoadFiles writes summary.json, a .hgrm per metric and the HTML report.
func writeLoadFiles(dir string, s *reports.LoadSummary) error {
	err := writeFile(filepath.Join(dir, "summary.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
	if err != nil {
		return err
	}
	for _, m := range s.Metrics {
		if err := writeFile(filepath.Join(dir, m.Name+".hgrm"), func(w io.Writer) error { return reports.WriteHgrm(w, m) }); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, "report.html"), func(w io.Writer) error { return reports.WriteLoadHTML(w, s) })
}
