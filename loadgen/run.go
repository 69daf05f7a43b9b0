package loadgen

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/clock"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/ticketing"
	"github.com/pushcert/pushcert/reports"
)

// room is one event: its seat map (presence) and its availability channel (public).
type room struct {
	idx     int
	eventID int
	seats   string // presence-event.<id>.seats
	avail   string // event.<id>
	members []int  // global client indices, all shards, in position order
	own     []*lclient
	byPos   map[int]*lclient // this shard's members by position
	// when the server took each event of the room's timetables, for what reconnected clients
	// were owed; set at the start of the steady phase, when readers may already be running
	seatSpansP, availSpansP atomic.Pointer[spans]
	// fan-out completion of availability publishes: a slot per seq in a ring, counting the
	// subscribers of this shard still to receive it.
	ring  [fanRing]fanSlot
	alive int64 // this shard's members that connected, set after the ramp
}

const fanRing = 4096

type fanSlot struct {
	seq       atomic.Int64
	remaining atomic.Int64
	due       atomic.Int64
}

func (rm *room) fanout(seq int64, now time.Time, rec *Recorder, hint int) {
	s := &rm.ring[seq%fanRing]
	if s.seq.Load() != seq {
		return
	}
	if s.remaining.Add(-1) == 0 {
		rec.Record(MetricFanout, now.Sub(time.Unix(0, s.due.Load())), hint)
	}
}

type runner struct {
	cfg Config
	rec *Recorder
	// nodes are the target as reached through each node of its cluster (one for a single
	// server); apis their HTTP APIs. Client c connects to nodes[nodeOf(c)]; api is the first
	// node's, for what any node answers for the cluster.
	nodes   []*target.Target
	apis    []*client.API
	api     *client.API
	http    *http.Client
	authURL string
	rooms   []*room
	clients []*lclient // this shard's
	phase   atomic.Pointer[string]
	seats   bool
	avail   bool
	churn   bool
	priv    bool
	silent  bool
	// silenced are the silent scenario's clients
	silenced silent
	dir      *ticketing.Directory
	// the presence user ids of churn and private clients, to find ghosts at the end
	steadyStart atomic.Int64 // unix ns, for progress
	arrivals    atomic.Int64 // churn and private clients planned
	joined      atomic.Int64
	arrived     atomic.Int64 // arriving clients made so far, for their indices // ... and those that connected and subscribed
	ghostMu     sync.Mutex
	gone        map[string]bool
	ephemerals  sync.WaitGroup
	// life ends when the run closes its clients: reconnections stop.
	life    context.Context
	endLife context.CancelFunc
	// The steady phase's timetable, to tell which events were due while a client was away.
	steadyAt time.Time
	wait     clock.Waiter // every timetable's: one learnt spin window
	pollers  []*poller    // read the clients' sockets, one per processor
	// restarted is when restartAt restarted the server (Unix ns), 0 if it did not.
	restarted atomic.Int64
	// cut is when the caller ended the run early (Unix ns; Ctrl-C, SIGTERM): what was due after
	// it is owed to no one. 0: the run was not interrupted.
	cut atomic.Int64
	// restartedUp is when the restarted server was up again (Unix ns).
	restartedUp atomic.Int64
	// redials bounds the reconnections in progress by what the timetables bear.
	redials *admission
	dialing dialing
	// hooks counts the server's webhooks (--webhook-listen); nil without
	hooks *WebhookCounter
}

func (r *runner) channelsOf(c *lclient) []string {
	if c.channels != nil {
		return c.channels
	}
	var out []string
	if r.seats {
		out = append(out, c.room.seats)
	}
	if r.avail {
		out = append(out, c.room.avail)
	}
	return out
}

// nodeOf is the node (0-based) that client idx connects to and publishes through: a room's
// members, at positions idx/Rooms, take the nodes in turn, so every room spans the cluster.
func (r *runner) nodeOf(idx int) int {
	if len(r.nodes) < 2 {
		return 0
	}
	return (idx / r.cfg.Rooms) % len(r.nodes)
}

// availNode is the node whose HTTP API publishes a room's availability: the rooms take the
// nodes in turn. One node per room keeps its publishes in order: the protocol orders a
// publisher's events per channel on the connection it publishes through.
func (r *runner) availNode(rm *room) int {
	if len(r.nodes) < 2 {
		return 0
	}
	return rm.idx % len(r.nodes)
}

// pollerOf is the poller that reads c.
func (r *runner) pollerOf(c *lclient) *poller { return r.pollers[c.idx%len(r.pollers)] }

func (r *runner) setPhase(p string) { r.phase.Store(&p) }

// Result is a finished run: its summary and the histograms behind it.
type Result struct {
	Summary  *reports.LoadSummary
	Recorder *Recorder
}

// Run connects the clients, drives the scenarios for the steady phase, drains, and summarises.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := newRunner(ctx, cfg)
	defer r.endLife()
	defer context.AfterFunc(ctx, r.interrupt)()
	stop, err := r.start()
	if err != nil {
		return nil, err
	}
	defer stop()
	m := &measures{started: r.rec.start}
	counter := newConnCounter(ctx, cfg)
	m.cpu0, m.rss0 = cpuTime(), rssKiB()
	unwatch := r.watch()
	r.ramp(ctx, m)
	counter.afterRamp(ctx)
	r.steady(ctx, m)
	r.drain(ctx, m)
	m.away = r.awaitBack(ctx)
	r.closeAll(m)
	switch {
	case r.hooks != nil && r.cut.Load() != 0: // interrupted: the count so far, judging nothing
		m.webhooks = r.hooks.settle(ctx, 0)
	case r.hooks != nil:
		m.webhooks = r.hooks.settle(ctx, cfg.WebhookWait)
		m.checks = append(m.checks, webhookCheck(m.webhooks))
	}
	m.checks = append(m.checks, counter.checks(ctx, m.connected, cfg.ReleaseWait)...)
	unwatch()
	m.finished = time.Now()
	return &Result{Summary: r.summary(ctx, m), Recorder: r.rec}, nil
}

// measures are what the phases of a run note for its summary; Run's goroutine owns them.
type measures struct {
	started, finished    time.Time
	cpu0, cpuSteady0     time.Duration
	cpuSteady            time.Duration // the steady and drain phases' CPU
	rss0, rssRamped      int64
	connected            int64 // connections open after the ramp
	away                 int   // clients of the ramp not connected at the end
	steadyAt             time.Time
	late                 time.Duration // how late after --start-at the steady phase began
	steadyFrom, steadyTo float64       // seconds from the start
	tally                tally
	byNode               []tally         // the tally of each node's clients
	checks               []reports.Check // the phases' own: silent clients, the server's count
	webhooks             *reports.Webhooks
}

// newRunner sets up a run's state; start makes its pollers and application.
func newRunner(ctx context.Context, cfg Config) *runner {
	r := &runner{
		cfg: cfg,
		rec: NewRecorder(time.Now(), cfg.IntervalLog),
		// The auth endpoint gets a bounded pool: in the ramp thousands of clients authorize at
		// once, and a connection each would cost thousands of open files (twice in-process).
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: authConns, MaxConnsPerHost: authConns,
			TLSClientConfig: cfg.Target.TLS}},
		seats:   slices.Contains(cfg.Scenarios, ScenarioSeats),
		avail:   slices.Contains(cfg.Scenarios, ScenarioAvailability),
		churn:   slices.Contains(cfg.Scenarios, ScenarioChurn),
		priv:    slices.Contains(cfg.Scenarios, ScenarioPrivate),
		silent:  slices.Contains(cfg.Scenarios, ScenarioSilent),
		gone:    map[string]bool{},
		dialing: dialing{tls: cfg.Target.TLS, header: cfg.Target.Header, proxy: cfg.Proxy},
		redials: newAdmission(),
		hooks:   cfg.Webhooks,
	}
	apiHTTP := targetHTTP(cfg, 30*time.Second, 256)
	for n := range cfg.Target.NodeCount() {
		node, _ := cfg.Target.OnNode(n + 1)
		r.nodes = append(r.nodes, node)
		r.apis = append(r.apis, &client.API{BaseURL: node.APIURL, AppID: node.AppID, Key: node.Key, Secret: node.Secret, HTTP: apiHTTP})
	}
	r.api = r.apis[0]
	if len(r.nodes) > 1 {
		r.rec.SetNodes(len(r.nodes))
	}
	if r.hooks != nil {
		r.hooks.begin(cfg.Target.AppID, cfg.Target.Key, cfg.Target.Secret, r.rec)
	}
	if cfg.AuthEndpoint != "" { // the application's own endpoint, not the seed's on loopback
		r.http.Transport.(*http.Transport).Proxy = cfg.Proxy
	}
	r.life, r.endLife = context.WithCancel(ctx)
	return r
}

// targetHTTP is an HTTP client to the target (its API, its metrics): its TLS settings, the run's
// proxy.
func targetHTTP(cfg Config, timeout time.Duration, conns int) *http.Client {
	hc := cfg.Target.HTTPClient(timeout, conns)
	hc.Transport.(*http.Transport).Proxy = cfg.Proxy
	return hc
}

// start makes a poller per processor and the application the clients authorize with, and
// returns what undoes them.
func (r *runner) start() (func(), error) {
	stop := func() {
		for _, p := range r.pollers {
			p.stop()
		}
		r.wait.Close()
	}
	for range runtime.GOMAXPROCS(0) {
		p, err := newPoller(func(error) { r.rec.Error("poller") })
		if err != nil {
			stop()
			return nil, fmt.Errorf("poller: %w", err)
		}
		r.pollers = append(r.pollers, p)
	}
	r.setPhase("ramp")
	stopApp, err := r.startApp()
	if err != nil {
		stop()
		return nil, err
	}
	return func() { stopApp(); stop() }, nil
}

// watch starts the per-second aggregator and the progress display, until the function it
// returns is called.
func (r *runner) watch() func() {
	stopAgg, aggDone := make(chan struct{}), make(chan struct{})
	go func() { r.rec.aggregate(stopAgg, func() string { return *r.phase.Load() }); close(aggDone) }()
	stopProgress := r.progress()
	return func() {
		close(stopAgg)
		<-aggDone
		stopProgress()
	}
}

// ramp connects the clients on a timetable of their own.
func (r *runner) ramp(ctx context.Context, m *measures) {
	rampCtx, cancel := context.WithTimeout(ctx, r.cfg.Ramp+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	dial := Pacer{Start: time.Now(), Rate: float64(len(r.clients)) / r.cfg.Ramp.Seconds(), Count: int64(len(r.clients)), Wait: &r.wait}
	dial.Run(rampCtx, func(i int64, _ time.Time) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.clients[i].connect(rampCtx) }()
	}, nil)
	wg.Wait()
	m.rssRamped = rssKiB()
	m.connected = r.rec.Connections.Load()
	for _, rm := range r.rooms {
		for _, c := range rm.own {
			if c.alive {
				rm.alive++
			}
		}
	}
}

// steady plays every room's timetables, and a restart if the plan has one, until they are done;
// then it tells the recorder what the plan owes, for the drain.
func (r *runner) steady(ctx context.Context, m *measures) {
	cfg := r.cfg
	m.steadyAt, m.late = r.steadyBegins(ctx)
	m.cpuSteady0 = cpuTime()
	r.steadyStart.Store(time.Now().UnixNano())
	m.steadyFrom = time.Since(m.started).Seconds()
	r.setPhase("steady")
	steadyCtx, cancel := context.WithDeadline(ctx, m.steadyAt.Add(cfg.Duration+2*time.Second))
	defer cancel()
	r.steadyAt = m.steadyAt
	for _, rm := range r.rooms {
		if r.seats {
			rm.seatSpansP.Store(newSpans(r.timetable(rm, 0), cfg.Shards, !cfg.StartAt.IsZero()))
		}
		if r.avail {
			rm.availSpansP.Store(newSpans(r.timetable(rm, 1), cfg.Shards, !cfg.StartAt.IsZero()))
		}
	}
	var senders sync.WaitGroup
	play := func(fn func()) { senders.Add(1); go func() { defer senders.Done(); fn() }() }
	if cfg.Restart != nil {
		play(func() { r.restartAt(steadyCtx, m.steadyAt.Add(cfg.RestartAt)) })
	}
	for _, rm := range r.rooms {
		mine := rm.idx%cfg.Shards == cfg.Shard
		if r.seats {
			play(func() { r.runSeats(steadyCtx, rm, r.timetable(rm, 0)) })
		}
		if r.avail && mine {
			play(func() { r.runAvailability(steadyCtx, rm, r.timetable(rm, 1)) })
		}
		if (r.churn || r.priv) && mine {
			play(func() { r.runEphemeral(steadyCtx, rm, r.timetable(rm, 1)) })
		}
		if r.silent && mine {
			play(func() { r.runSilent(steadyCtx, rm, r.timetable(rm, 1)) })
		}
	}
	senders.Wait()
	if ctx.Err() != nil {
		r.interrupt() // in case the AfterFunc has not run yet: the timetables stopped by now
	}
	var owed int64
	for _, l := range r.ledgers(false) {
		owed += l.owed()
	}
	r.rec.Expected.Add(owed)
	r.ephemerals.Wait()
}

// drain waits for the deliveries in flight and, with silent clients, for the server to drop
// them, before the run closes anything (a close of ours would drop them for the server).
func (r *runner) drain(ctx context.Context, m *measures) {
	r.setPhase("drain")
	// An interrupted run still waits, the drain at most, for what was on its way.
	waitDrain(context.WithoutCancel(ctx), r, r.cfg.Drain)
	if r.silent {
		m.checks = append(m.checks, r.silentCheck(ctx))
	}
	m.steadyTo = time.Since(m.started).Seconds()
	m.cpuSteady = cpuTime() - m.cpuSteady0
}

// backWait bounds how long the end of a run waits for reconnections in progress.
const backWait = 10 * time.Second

// awaitBack waits, up to backWait, until every client that connected in the ramp is subscribed
// again, and returns how many are not: a server that went down and stayed down, or dropped
// clients for good, fails the run.
func (r *runner) awaitBack(ctx context.Context) int {
	deadline := time.Now().Add(backWait)
	for {
		away := 0
		for _, c := range r.clients {
			if _, up := c.session(); c.alive && !up {
				away++
			}
		}
		if away == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return away
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// interrupt records that the run was ended early, once.
func (r *runner) interrupt() { r.cut.CompareAndSwap(0, time.Now().UnixNano()) }

// closeAll ends every connection, waits until nothing reads any more, and settles the ledgers.
func (r *runner) closeAll(m *measures) {
	r.endLife()
	for _, c := range r.clients {
		c.closeConn()
	}
	r.silenced.close()
	for _, c := range r.clients {
		if c.alive {
			<-c.done
		}
	}
	m.byNode = make([]tally, len(r.nodes))
	for _, l := range r.ledgers(true) {
		for _, rc := range l.receivers {
			t := l.settleOne(rc)
			m.tally = m.tally.add(t)
			m.byNode[rc.node] = m.byNode[rc.node].add(t)
		}
	}
}

// summary is the run's summary: deliveries, checks, and the generator's own cost and verdict.
func (r *runner) summary(ctx context.Context, m *measures) *reports.LoadSummary {
	cfg := r.cfg
	s := r.summarize(m.started, m.finished, m.steadyFrom, m.steadyTo, plannedCount(cfg), m.connected, m.tally)
	r.addNodes(s, m.byNode)
	s.SteadyAt = m.steadyAt
	s.Webhooks = m.webhooks
	if r.cut.Load() == 0 { // an interrupted run stopped reconnecting: its end says nothing
		s.Checks = append(s.Checks, endCheck(m.away, m.connected))
	}
	s.Checks = append(s.Checks, m.checks...)
	if !cfg.StartAt.IsZero() {
		s.Checks = append(s.Checks, startCheck(m.late))
	}
	if at := r.restarted.Load(); at != 0 {
		s.Restarts = []float64{math.Round(time.Unix(0, at).Sub(m.started).Seconds()*10) / 10}
	}
	if r.churn || r.priv {
		s.Checks = append(s.Checks, r.ghostCheck(ctx))
	}
	if cut := r.cut.Load(); cut != 0 {
		s.Interrupted = true
		s.Invalid = append(s.Invalid, fmt.Sprintf("interrupted %.1f s into the run (Ctrl-C or SIGTERM): what was due after it is not counted",
			time.Unix(0, cut).Sub(m.started).Seconds()))
	}
	s.Generator = r.generatorCost(m, s)
	if b, reasons := saturation(s.Generator, cfg.Target.InProcess, runtime.GOMAXPROCS(0)); b != "" {
		s.Generator.Saturated, s.Generator.Bottleneck = true, b
		s.Invalid = append(s.Invalid, reasons...)
	}
	if cfg.Target.InProcess {
		s.Checks = append(s.Checks, reports.Check{Name: "generator cost", Pass: true,
			Detail: "the server runs in the generator's process: CPU and memory figures include the server's"})
	}
	s.Valid = len(s.Invalid) == 0
	return s
}

// endCheck says whether the clients of the ramp were all connected at the end.
func endCheck(away int, connected int64) reports.Check {
	c := reports.Check{Name: "connected at the end", Pass: away == 0}
	if away == 0 {
		c.Detail = fmt.Sprintf("all %d clients of the ramp were connected and subscribed at the end", connected)
	} else {
		c.Detail = fmt.Sprintf("%d of the %d clients of the ramp were not connected at the end (waited %s for reconnections): the server dropped them or stayed down", away, connected, backWait)
	}
	return c
}

// generatorCost is what the run cost the generator.
func (r *runner) generatorCost(m *measures, s *reports.LoadSummary) reports.Generator {
	cpu := cpuTime() - m.cpu0
	g := reports.Generator{CPUSeconds: cpu.Seconds(), CPUPercent: 100 * cpu.Seconds() / m.finished.Sub(m.started).Seconds(), MaxRSSKiB: maxRSSKiB()}
	if len(r.clients) > 0 {
		g.KiBPerClient = float64(m.rssRamped-m.rss0) / float64(len(r.clients))
	}
	if s.Delivery.Received > 0 { // the steady and drain phases' CPU: receiving is what they do
		g.CPUPerMessageUS = m.cpuSteady.Seconds() * 1e6 / float64(s.Delivery.Received)
	}
	if lag, ok := s.Metric(MetricLag); ok {
		g.LagP99US, g.LagMaxUS = lag.Quantiles["99"], lag.MaxUS
	}
	return g
}

// steadyBegins is when the steady phase's timetables begin: at StartAt, waiting for it, or
// shortly after now. late is how long after StartAt the ramp was done, if it was.
func (r *runner) steadyBegins(ctx context.Context) (start time.Time, late time.Duration) {
	at := r.cfg.StartAt
	if at.IsZero() {
		return time.Now().Add(100 * time.Millisecond), 0
	}
	if wait := time.Until(at); wait > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		return at, 0
	}
	// The ramp overran the start: the timetables begin now, not in the past, where the events
	// due so far would all be sent at once.
	return time.Now().Add(100 * time.Millisecond), time.Since(at)
}

// startCheck says whether the steady phase began at --start-at.
func startCheck(late time.Duration) reports.Check {
	if late > 0 {
		return reports.Check{Name: "start at", Detail: fmt.Sprintf("the ramp was done %s after --start-at: the steady phase began then, out of step with other shards (start later, or ramp faster)", late.Round(time.Millisecond))}
	}
	return reports.Check{Name: "start at", Pass: true, Detail: "the steady phase began at --start-at"}
}

// plannedCount is how many events each of a room's timetables holds.
func plannedCount(cfg Config) int64 { return int64(cfg.Rate * cfg.Duration.Seconds()) }

// authConns bounds the connections to the application's auth endpoint.
const authConns = 64

// Saturation limits: past them the generator, not the server, set the pace.
const (
	maxLagP99US    = 5000 // the timetable fired more than 5 ms late at p99
	maxCPUPercent  = 90   // per core the generator may use
	idleCPUPerCore = 50   // below it per core, a late timetable is not the generator's doing
)

// saturation says what made a run measure something else than the server, if anything did (see
// reports.Generator.Bottleneck), and why in words. CPU counts only against a separate server:
// in-process, the embedded server's CPU is the generator's too.
func saturation(g reports.Generator, inProcess bool, cores int) (string, []string) {
	var b string
	var why []string
	if !inProcess && g.CPUPercent > float64(maxCPUPercent*cores) {
		b = "cpu"
		why = append(why, fmt.Sprintf("the generator was CPU-bound: it used %.0f%% CPU of %d cores (limit %d%% each); spread it over more cores or machines (--shard)", g.CPUPercent, cores, maxCPUPercent))
	}
	if g.LagP99US > maxLagP99US {
		lag := fmt.Sprintf("send lag p99 %.1f ms (limit %d ms)", g.LagP99US/1000, maxLagP99US/1000)
		switch {
		case b == "cpu":
			why = append(why, "so its timetable fell behind: "+lag)
		case !inProcess && g.CPUPercent < float64(idleCPUPerCore*cores):
			b = "machine"
			why = append(why, fmt.Sprintf("the timetable fired late, %s, while the generator used %.0f%% CPU of %d cores: other work on this machine took the CPU, and the latencies include that wait; run it on a quieter machine", lag, g.CPUPercent, cores))
		default:
			b = "timetable"
			why = append(why, "the generator fell behind its timetable: "+lag)
		}
	}
	return b, why
}

// waitDrain waits until every expected delivery arrived and, with churn, every departed member's
// member_removed, or until d passed.
func waitDrain(ctx context.Context, r *runner, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.rec.Received.Load()-r.rec.Duplicates.Load() >= r.rec.Expected.Load() && r.ghostsSeen() == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startApp builds the rooms and clients of this shard and the application they authorize with.
func (r *runner) startApp() (func(), error) {
	cfg := r.cfg
	app, err := ticketing.StartApp(ticketing.AuthConfig{Key: cfg.Target.Key, Secret: cfg.Target.Secret, RateLimit: -1})
	if err != nil {
		return nil, err
	}
	dir := app.Directory
	r.dir, r.authURL = dir, app.URL
	// Room ids must agree between shards: they derive from a base every shard computes alike.
	base := 900_000_000 + cfg.Clients*7 + cfg.Rooms*13
	r.rooms = make([]*room, cfg.Rooms)
	for i := range r.rooms {
		id := base + i
		r.rooms[i] = &room{idx: i, eventID: id, seats: ticketing.SeatsChannel(id), avail: ticketing.EventChannel(id)}
		if cfg.SeatsChannel != "" {
			r.rooms[i].seats = roomChannel(cfg.SeatsChannel, i, id)
		}
		if cfg.AvailabilityChannel != "" {
			r.rooms[i].avail = roomChannel(cfg.AvailabilityChannel, i, id)
		}
	}
	for c := 0; c < cfg.Clients; c++ {
		rm := r.rooms[c%cfg.Rooms]
		rm.members = append(rm.members, c)
	}
	for c := cfg.Shard; c < cfg.Clients; c += cfg.Shards {
		rm := r.rooms[c%cfg.Rooms]
		cust := dir.AddCustomer(ticketing.Customer{FirstName: "Load" + strconv.Itoa(c), FullName: "Load Client " + strconv.Itoa(c)})
		tok, err := dir.IssueToken(cust.ID)
		if err != nil {
			return nil, err
		}
		lc := newClient(r, c, c/cfg.Rooms, rm, tok)
		lc.lastAvl = newSeqWindow()
		if r.seats { // per-sender state: rooms of seats are presence channels, 100 members at most
			lc.lastSeq = make([]seqWindow, len(rm.members))
			for i := range lc.lastSeq {
				lc.lastSeq[i] = newSeqWindow()
			}
			lc.seats = make([]int8, len(rm.members)*seatsPerMember)
		}
		if r.churn || r.silent {
			lc.members = map[string]bool{}
		}
		// A bit per planned event of the room: which arrived, for what a reconnected client was
		// owed. Allocated now, before any other shard's events can arrive.
		if r.seats {
			lc.gotSeat = newBitset(plannedCount(cfg))
		}
		if r.avail {
			lc.gotAvail = newBitset(plannedCount(cfg))
		}
		rm.own = append(rm.own, lc)
		if rm.byPos == nil {
			rm.byPos = map[int]*lclient{}
		}
		rm.byPos[lc.pos] = lc
		r.clients = append(r.clients, lc)
	}
	return app.Stop, nil
}

// ledgers are the delivery facts of every room's timetables, for this shard's receivers that
// connected in the ramp. With facts false, the receivers carry their position only (for
// ledger.owed, while the readers still run); with it, call it once the readers are done.
func (r *runner) ledgers(facts bool) []ledger {
	restart, restarted := r.restartWindow()
	cut := r.cut.Load()
	var out []ledger
	for _, rm := range r.rooms {
		var seatRx, availRx []receiver
		for _, c := range rm.own {
			if !c.alive {
				continue // a client that never connected is owed nothing; "connected" reports it
			}
			seat, avail := receiver{self: c.pos, node: c.node}, receiver{self: -1, node: c.node}
			if facts {
				seat.away, seat.got = c.away, c.gotSeat
				avail.away, avail.got = c.away, c.gotAvail
			}
			seatRx, availRx = append(seatRx, seat), append(availRx, avail)
		}
		if sp := rm.seatSpansP.Load(); r.seats && sp != nil {
			senders := make([]sender, len(rm.members))
			for pos, idx := range rm.members {
				s, mine := rm.byPos[pos]
				// Members of other shards are taken as connected (their shard reports otherwise).
				senders[pos] = sender{shard: idx % r.cfg.Shards, sent: !mine || s.alive}
			}
			out = append(out, ledger{events: sp, senders: senders, restart: restart, restarted: restarted, cut: cut, shard: r.cfg.Shard, receivers: seatRx})
		}
		if sp := rm.availSpansP.Load(); r.avail && sp != nil {
			out = append(out, ledger{events: sp, senders: []sender{{shard: rm.idx % r.cfg.Shards, sent: true}},
				restart: restart, restarted: restarted, cut: cut, shard: r.cfg.Shard, receivers: availRx})
		}
	}
	return out
}

// finalSeats is the seat map the plan leaves in a room: sender pos*4+j -> action+1.
func finalSeats(k, count int64) []int8 {
	out := make([]int8, k*seatsPerMember)
	for i := int64(0); i < count; i++ {
		pos, seq := i%k, i/k
		out[pos*seatsPerMember+seq%seatsPerMember] = int8((seq/seatsPerMember)%3 + 1)
	}
	return out
}

func (r *runner) progress() func() {
	if r.cfg.OnSecond == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				s, ok := r.rec.Current()
				if !ok {
					continue
				}
				snap := Snapshot{T: s.t, Phase: s.phase, Connections: s.conns, Clients: len(r.clients), Sent: s.sent,
					Received: s.recv, P99US: s.p99, Errors: s.errs, Steady: r.cfg.Duration.Seconds()}
				if from := r.steadyStart.Load(); from != 0 {
					snap.SteadyDone = min(snap.Steady, time.Since(time.Unix(0, from)).Seconds())
				}
				r.cfg.OnSecond(snap)
			}
		}
	}()
	return func() { close(stop); <-done }
}

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func rssKiB() int64    { runtime.GC(); return procStatus("VmRSS") }
func maxRSSKiB() int64 { return procStatus("VmHWM") }
