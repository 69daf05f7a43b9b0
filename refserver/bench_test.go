package refserver

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// BenchmarkBroadcastQueue measures the broadcast loop alone: one prepared frame queued to 1,000
// subscribers. allocs/op counts the whole broadcast; the delivery path itself must add none.
func BenchmarkBroadcastQueue(b *testing.B) {
	const subs = 1000
	srv, err := New(Config{Apps: []App{{ID: "1", Key: "k", Secret: "s"}}, SendQueue: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ch := newChannel("event.1")
	conns := make([]*conn, subs)
	for i := range conns {
		conns[i] = &conn{srv: srv, socketID: protocol.FormatSocketID(uint64(i), 1), quit: make(chan struct{}),
			writing: true} // no socket here: the benchmark empties the queues itself
		ch.subs[conns[i]] = ""
	}
	pm, err := prepare(protocol.EncodeEvent("availability.updated", "event.1", `{"event_id":1,"left":42}`, ""))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if n := ch.broadcast(srv, pm, ""); n != subs {
			b.Fatalf("queued %d, want %d", n, subs)
		}
		for _, c := range conns {
			c.queue, c.queued = c.queue[:0], 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
}

// BenchmarkFanout measures deliveries per second over real loopback sockets: a publish to one
// channel with subs subscribers, burst events at a time (burst 1: one frame per write; burst 10:
// the writer coalesces queued frames). Clients count bytes on the raw socket, which costs them
// next to nothing, so the figure is the server's.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{100, 1000} {
		for _, burst := range []int{1, 10} {
			b.Run(fmt.Sprintf("subs=%d/burst=%d", subs, burst), func(b *testing.B) { benchFanout(b, subs, burst) })
		}
	}
}

func benchFanout(b *testing.B, subs, burst int) {
	ts := startServer(b, func(c *Config) { c.SendQueue = 256 })
	frameLen := 0
	payload := `{"event_id":1,"section":"A","left":42}`
	frameBytes := protocol.EncodeEvent("availability.updated", "event.1", payload, "")
	frameLen = len(frameBytes) + 2 // an unmasked server frame of 126 bytes or less has a 2-byte header
	if len(frameBytes) > 125 {
		b.Fatalf("benchmark frame is %d bytes; keep it under 126", len(frameBytes))
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	for _, ws := range dialMany(b, ts.wsURL(testKey, "?protocol=7"), subs, 1) {
		raw := ws.UnderlyingConn()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for {
				n, err := raw.Read(buf)
				received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	app := ts.byID[testAppID]
	ch := app.lookup("event.1")
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	start := time.Now()
	var want int64
	for i := 0; i < b.N; i++ {
		for j := 0; j < burst; j++ {
			pm, _ := prepare(frameBytes)
			ch.broadcast(ts.Server, pm, "")
		}
		want += int64(subs * burst * frameLen)
		for received.Load() < want {
			time.Sleep(20 * time.Microsecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	deliveries := float64(b.N * subs * burst)
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	// Whole-process allocations (encoding, the frame, the benchmark's own waiting) over deliveries.
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
	ts.http.Close()
}

var memConns = flag.Int("memconns", 0, "TestMemoryPerConnection: idle subscribed connections to open (0 skips)")

// TestMemoryPerConnection starts `pushcert serve` as a separate process, opens -memconns idle
// connections each subscribed to a public channel, and reports the server's RSS growth per
// connection. It is a measurement, run by `make bench`; it asserts only that it could measure.
func TestMemoryPerConnection(t *testing.T) {
	if *memConns == 0 {
		t.Skip("run with -args -memconns N (make bench)")
	}
	bin := filepath.Join(t.TempDir(), "pushcert")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/pushcert").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--app-id", testAppID, "--key", testKey, "--secret", testSecret, "--log-level", "error")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	go io.Copy(io.Discard, stdout)

	url := "ws://" + addr + "/app/" + testKey + "?protocol=7"
	// Warm up: a few connections so that one-off allocations are not counted per connection.
	warm := dialMany(t, url, 100, 100)
	time.Sleep(500 * time.Millisecond)
	before, mBefore := rssKiB(t, cmd.Process.Pid), goMemory(t, addr)
	conns := dialMany(t, url, *memConns, 100)
	time.Sleep(2 * time.Second)
	after, mAfter := rssKiB(t, cmd.Process.Pid), goMemory(t, addr)
	perConn := float64(after-before) / float64(*memConns)
	for _, k := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_goroutines"} {
		t.Logf("%s: %.0f -> %.0f (%.2f per connection)", k, mBefore[k], mAfter[k], (mAfter[k]-mBefore[k])/float64(*memConns))
	}
	t.Logf("idle subscribed connections: %d; server RSS %d KiB -> %d KiB; %.2f KiB per connection (target <= 8, stretch 4)",
		*memConns, before, after, perConn)
	fmt.Printf("memory-per-connection: %.2f KiB per idle subscribed connection (%d connections)\n", perConn, *memConns)
	for _, c := range append(warm, conns...) {
		c.Close()
	}
}

// dialMany opens n connections, each subscribed to one of the public channels event.0 to
// event.<channels-1> (event.1 when channels is 1), reading nothing more after that.
func dialMany(t testing.TB, url string, n, channels int) []*websocket.Conn {
	t.Helper()
	out := make([]*websocket.Conn, 0, n)
	d := websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512}
	for i := 0; i < n; i++ {
		ws, _, err := d.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		if _, _, err := ws.ReadMessage(); err != nil { // connection_established
			t.Fatalf("handshake %d: %v", i, err)
		}
		ch := i % channels
		if channels == 1 {
			ch = 1
		}
		sub := fmt.Sprintf(`{"event":"pusher:subscribe","data":{"channel":"event.%d"}}`, ch)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(sub)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil { // subscription_succeeded
			t.Fatalf("subscribe %d: %v", i, err)
		}
		out = append(out, ws)
	}
	return out
}

// goMemory reads the Go runtime's own gauges from the server's /metrics.
func goMemory(t *testing.T, addr string) map[string]float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			out[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return out
}

func rssKiB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
