package main

import (
	"context"
	"encoding/json"
	"errors"
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

// loadFlags are load's flags.
type loadFlags struct {
	fs                                        *pflag.FlagSet
	target                                    *targetArgs
	scenarios, authHeaders, thresholds        *[]string
	clients, rooms, sources, payloadBytes     *int
	rate                                      *float64
	lifetime, duration, ramp, drain           *time.Duration
	restartAt, silentWithin, webhookWait      *time.Duration
	startAt, shard, outDir, authEndpoint      *string
	seatsChannel, availChannel, targetMetrics *string
	gauge, cpuProfile, webhookListen          *string
	null, quiet                               *bool
}

func newLoadFlags() *loadFlags {
	fs := pflag.NewFlagSet("load", pflag.ContinueOnError)
	f := &loadFlags{fs: fs, target: targetFlags(fs)}
	imageFlags(fs, f.target)
	fs.IntVar(&f.target.cluster, "cluster", 0, "run the embedded reference server as N nodes (child processes) on a real Redis (redis-server from PATH, on a free loopback port): the clients and publishes spread over the nodes, reported per node")
	f.scenarios = fs.StringSlice("scenario", []string{loadgen.ScenarioSeats}, "scenarios to run together: "+strings.Join(loadgen.Scenarios, ", "))
	f.clients = fs.Int("clients", 1000, "simulated clients in all shards")
	f.rooms = fs.Int("rooms", 0, "events (rooms); default one per 100 clients")
	f.rate = fs.Float64("rate", 5, "per room and second: seat changes (seats), publishes (availability), arriving clients (churn, private, silent)")
	f.lifetime = fs.Duration("lifetime", 2*time.Second, "churn: how long an arriving client stays in its room")
	f.duration = fs.Duration("duration", 20*time.Second, "steady phase, the one that feeds the headline numbers")
	f.ramp = fs.Duration("ramp", 0, "time to connect the clients (default 1 s per 2,000 clients)")
	f.drain = fs.Duration("drain", 2*time.Second, "wait after the last send for deliveries in flight")
	f.startAt = fs.String("start-at", "", "begin the steady phase at this time (RFC 3339, e.g. 2026-12-01T12:00:00Z): shards started apart run their steady phases together; the ramp must be done by then")
	f.shard = fs.String("shard", "1/1", "run shard i of n (1-based), e.g. 2/4, or \"indexed\" for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of SHARDS); merge the summaries with \"pushcert report merge\"")
	f.sources = fs.Int("sources", 0, "spread client sockets over 127.0.0.1 .. 127.0.0.N (default: one per 25,000 clients)")
	f.thresholds = fs.StringArray("threshold", nil, "pass/fail gate, repeatable: delivery.p99<50ms, client_event.p99.9<100ms, reach>=99.99%, lost<1, errors<1 (exit 99 when one fails)")
	f.outDir = fs.String("out", "", "write summary.json, one .hgrm per metric, intervals.hlog and report.html into this directory")
	f.authEndpoint = fs.String("auth-endpoint", "", "your application's channel auth route (Echo's authEndpoint, e.g. https://tickets.example/broadcasting/auth) instead of the built-in seed application")
	f.authHeaders = fs.StringArray("auth-header", nil, `"Name: value" sent to --auth-endpoint, repeatable; {client} becomes the client's index, e.g. "Authorization: Bearer {client}"`)
	f.seatsChannel = fs.String("seats-channel", "", "each room's seat map channel, a presence channel: {room} its index, {id} its event id (default presence-event.{id}.seats)")
	f.availChannel = fs.String("availability-channel", "", "each room's availability channel: {room} its index, {id} its event id (default event.{id})")
	f.targetMetrics = fs.String("target-metrics", "", "the target's Prometheus endpoint, e.g. http://127.0.0.1:6001/metrics: its count of open connections must rise by what the ramp opened and fall back after the run (leaked connections)")
	f.gauge = fs.String("target-metrics-gauge", loadgen.DefaultConnectionGauge, "the gauge of open connections at --target-metrics (summed over its series)")
	f.silentWithin = fs.Duration("silent-within", 3*time.Minute, "silent: how long after the last client went silent the server may take to drop them all (the embedded server: 15s, its activity and pong timeouts set to 2s)")
	f.payloadBytes = fs.Int("payload-bytes", 0, "grow every event's data to this many bytes (up to 10240)")
	f.restartAt = fs.Duration("restart-at", 0, "restart the embedded server this long into the steady phase: it closes every connection with 4200 and the clients reconnect at once (a reconnect storm)")
	f.null = fs.Bool("null-server", false, "run the plan against an in-process null server, which does nothing but pass events on: the generator's own latency floor (CPU and memory figures include the null server's)")
	f.cpuProfile = fs.String("cpuprofile", "", "write the generator's CPU profile (go tool pprof) to this file")
	f.webhookListen = fs.String("webhook-listen", "", "count the server's webhooks on this address (host:port): point the app's webhook URL at http://ADDR/hooks/APP_ID (the embedded server is pointed at it); every channel the clients subscribe and every presence member they make must get its occupied and vacated, member_added and member_removed, none twice")
	f.webhookWait = fs.Duration("webhook-wait", loadgen.DefaultWebhookWait, "with --webhook-listen: how long after the clients closed to wait for the webhooks still owed (the server's debounce, batching and retries); what has not come by then is lost")
	f.quiet = fs.BoolP("quiet", "q", false, "no progress lines")
	return f
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newLoadFlags()
	if code := parseFlags(f.fs, args, stdout, stderr); code >= 0 {
		return code
	}
	f.target.outDir = *f.outDir
	if f.target.image.ref != "" && (*f.null || f.target.cluster > 0) {
		fmt.Fprintln(stderr, "pushcert load: --target-image starts a server of its own: give it without --null and --cluster")
		return exitUsage
	}
	cfg, ths, err := f.plan()
	if err != nil { // before anything starts
		fmt.Fprintln(stderr, "pushcert load:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitUsage
	}
	// Short of files, the run still goes: its connected check then says how many clients could
	// not connect.
	if _, err := raiseFileLimit(cfg.OpenFiles(*f.null) + fdHeadroom); err != nil {
		fmt.Fprintln(stderr, "pushcert load: warning:", err)
	}
	progressDone := func() {}
	if !*f.quiet {
		cfg.OnSecond, progressDone = loadProgress(stderr, (cfg.Clients+cfg.Shards-1-cfg.Shard)/cfg.Shards, cfg.Duration.Seconds())
	}
	if *f.webhookListen != "" { // before the target: the embedded server is told where to post
		if cfg.Webhooks, err = loadgen.ListenWebhooks(*f.webhookListen); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return exitFail
		}
		defer cfg.Webhooks.Close()
	}
	proc, stop, code := f.startTarget(ctx, &cfg, stderr)
	if code >= 0 {
		return code
	}
	defer stop()
	closeOutputs, err := f.openOutputs(&cfg)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitFail
	}
	defer closeOutputs()
	res, err := loadgen.Run(ctx, cfg)
	progressDone()
	if err != nil { // the plan was checked: what is left is the machine's (pollers, the app)
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitFail
	}
	s := res.Summary
	if proc != nil {
		proc.stop()
		u := proc.Usage()
		s.Server = &u
	}
	s.Tool.Version = versionString()
	verdict := loadgen.Judge(s, ths)
	if err := f.writeResult(stdout, s); err != nil {
		fmt.Fprintln(stderr, "pushcert load:", err)
		return exitFail
	}
	return map[loadgen.Verdict]int{loadgen.Passed: exitOK, loadgen.Invalid: exitInvalid, loadgen.ChecksFailed: exitFail, loadgen.ThresholdsFailed: exitThreshold,
		loadgen.Interrupted: reports.ExitInterrupted}[verdict]
}

// plan turns the flags into the run's configuration and thresholds, or says what is wrong with
// them; nothing has started yet.
func (f *loadFlags) plan() (loadgen.Config, []loadgen.Threshold, error) {
	if *f.clients < 2 {
		return loadgen.Config{}, nil, fmt.Errorf("--clients %d: want at least 2 (a room needs a sender and a receiver)", *f.clients)
	}
	cfg := loadgen.Config{Scenarios: *f.scenarios, Clients: *f.clients, Rooms: *f.rooms, Rate: *f.rate, Duration: *f.duration, Ramp: *f.ramp, Drain: *f.drain,
		Lifetime: *f.lifetime, AuthEndpoint: *f.authEndpoint, SeatsChannel: *f.seatsChannel, AvailabilityChannel: *f.availChannel,
		PayloadBytes: *f.payloadBytes, TargetMetrics: *f.targetMetrics, ConnectionGauge: *f.gauge, SilentWithin: *f.silentWithin,
		WebhookWait: *f.webhookWait}
	var err error
	if cfg.AuthHeader, err = parseHeaders("--auth-header", *f.authHeaders); err != nil {
		return cfg, nil, err
	}
	if cfg.Shard, cfg.Shards, err = parseShard(*f.shard); err != nil {
		return cfg, nil, err
	}
	if *f.startAt != "" {
		if cfg.StartAt, err = parseStartAt(*f.startAt, time.Now()); err != nil {
			return cfg, nil, err
		}
	}
	restart, remote := f.fs.Changed("restart-at"), f.target.given()
	churning := slices.ContainsFunc(*f.scenarios, func(s string) bool {
		return s == loadgen.ScenarioChurn || s == loadgen.ScenarioPrivate || s == loadgen.ScenarioSilent
	})
	switch {
	case f.target.cluster < 0 || f.target.cluster == 1 || f.target.cluster > maxClusterNodes:
		return cfg, nil, fmt.Errorf("--cluster %d: give 2 to %d nodes", f.target.cluster, maxClusterNodes)
	case f.target.cluster > 0 && (remote || *f.null):
		return cfg, nil, errors.New("--cluster starts embedded nodes; to load your own cluster, give --target and --api-url once per node")
	case *f.targetMetrics != "" && (f.target.cluster > 0 || len(f.target.targets.all) > 1):
		return cfg, nil, errors.New("--target-metrics reads one server's count of connections; with several nodes each counts only its own")
	case *f.null && (remote || restart || churning || *f.targetMetrics != ""):
		return cfg, nil, errors.New("--null-server runs seats and availability only, without --target, --restart-at or --target-metrics: it keeps no presence state to check")
	case *f.webhookListen != "" && *f.null:
		return cfg, nil, errors.New("--webhook-listen counts a server's webhooks; --null-server sends none")
	case *f.webhookListen != "" && cfg.Shards > 1:
		return cfg, nil, errors.New("--webhook-listen with --shard: a server posts its webhooks to one URL; count them in a run of one shard")
	case restart && remote:
		return cfg, nil, errors.New("--restart-at restarts the embedded server; against --target, restart your server during the run: the clients reconnect by themselves")
	}
	if a := *f.webhookListen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return cfg, nil, fmt.Errorf("--webhook-listen %q: want host:port, e.g. 127.0.0.1:9090", a)
		}
	}
	if restart {
		cfg.RestartAt = *f.restartAt
	}
	if err := cfg.WithDefaults().ValidatePlan(); err != nil {
		return cfg, nil, err
	}
	ns := *f.sources
	if ns == 0 {
		ns = 1 + *f.clients/25000
	}
	for k := 1; k <= ns && k < 255; k++ {
		cfg.Sources = append(cfg.Sources, net.IPv4(127, 0, 0, byte(k)))
	}
	var ths []loadgen.Threshold
	for _, e := range *f.thresholds {
		th, err := loadgen.ParseThreshold(e)
		if err != nil {
			return cfg, nil, err
		}
		ths = append(ths, th)
	}
	return cfg, ths, nil
}

// startTarget starts what the run loads: the null server, the embedded server as a child
// process, or the checked --target. It returns the child process (nil unless embedded), what
// stops the target, and -1, or an exit code after printing why.
func (f *loadFlags) startTarget(ctx context.Context, cfg *loadgen.Config, stderr io.Writer) (*serverGroup, func(), int) {
	var (
		tg   *target.Target
		stop func()
		proc *serverGroup
		err  error
	)
	switch {
	case *f.null:
		if tg, stop, err = loadgen.StartNullServer(); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return nil, nil, exitFail
		}
	case !f.target.given():
		// The embedded server runs as a child process (see serverProcess), with room for the
		// run's bursts: client events of a whole room per connection pass 10 a second at high
		// rates.
		args := []string{"--client-event-rate", "1000"}
		if cfg.Webhooks != nil {
			args = append(args, "--webhook-url", cfg.Webhooks.URL(target.EmbeddedAppID))
		}
		if slices.Contains(cfg.Scenarios, loadgen.ScenarioSilent) { // silent clients found in seconds, not minutes
			args = append(args, "--activity-timeout", "2s", "--pong-timeout", "2s")
			if !f.fs.Changed("silent-within") {
				cfg.SilentWithin = 15 * time.Second
			}
		}
		if tg, proc, err = startServers(ctx, stderr, f.target.cluster, args...); err != nil {
			fmt.Fprintln(stderr, "pushcert load:", err)
			return nil, nil, exitFail
		}
		stop = proc.stop
	default:
		var code int
		if tg, stop, code = resolveTarget(ctx, "load", f.target, refserver.App{}, stderr); code >= 0 {
			return nil, nil, code
		}
	}
	cfg.Target = tg
	if f.fs.Changed("restart-at") {
		cfg.Restart = tg.Restart
	}
	return proc, stop, -1
}

// openOutputs opens the interval log of --out and starts --cpuprofile; the function it returns
// closes them.
func (f *loadFlags) openOutputs(cfg *loadgen.Config) (func(), error) {
	var closers []func()
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	if *f.outDir != "" {
		if err := os.MkdirAll(*f.outDir, 0o755); err != nil {
			return nil, err
		}
		hlog, err := os.Create(filepath.Join(*f.outDir, "intervals.hlog"))
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { hlog.Close() })
		cfg.IntervalLog = hlog
	}
	if *f.cpuProfile != "" {
		prof, err := os.Create(*f.cpuProfile)
		if err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, func() { prof.Close() })
		if err := pprof.StartCPUProfile(prof); err != nil {
			closeAll()
			return nil, err
		}
		closers = append(closers, pprof.StopCPUProfile)
	}
	return closeAll, nil
}

// writeResult prints the summary and writes the --out files.
func (f *loadFlags) writeResult(stdout io.Writer, s *reports.LoadSummary) error {
	if err := reports.WriteLoadConsole(stdout, s); err != nil {
		return err
	}
	if *f.outDir == "" {
		return nil
	}
	if err := writeLoadFiles(*f.outDir, s); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "wrote", *f.outDir)
	return nil
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
