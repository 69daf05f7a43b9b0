package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/redisproc"
	"github.com/pushcert/pushcert/reports"
)

// TestClusterUsageErrors: the cluster flags' mistakes are usage errors that say what to give.
func TestClusterUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check", "--cluster", "1"}, exitUsage, "give 2 to 16 nodes"},
		{[]string{"check", "--cluster", "3", "--target", "ws://127.0.0.1:1"}, exitUsage, "--cluster starts embedded nodes"},
		{[]string{"check", "--target", "ws://127.0.0.1:1", "--target", "ws://127.0.0.1:2", "--api-url", "http://127.0.0.1:1",
			"--app-id", "1", "--key", "k", "--secret", "s"}, exitUsage, "2 --target nodes but 1 --api-url"},
		{[]string{"check", "--target", "ws://127.0.0.1:1", "--api-url", "http://127.0.0.1:1", "--api-url", "http://127.0.0.1:2",
			"--app-id", "1", "--key", "k", "--secret", "s"}, exitUsage, "--api-url is given 2 times for one --target"},
		{[]string{"trigger", "--target", "ws://127.0.0.1:1", "--target", "ws://127.0.0.1:2", "--app-id", "1", "--key", "k", "--secret", "s",
			"c", "e", "d"}, exitUsage, "talks to one node"},
		{[]string{"load", "--cluster", "1"}, exitUsage, "give 2 to 16 nodes"},
		{[]string{"load", "--cluster", "17"}, exitUsage, "give 2 to 16 nodes"},
		{[]string{"load", "--cluster", "2", "--target", "ws://127.0.0.1:1"}, exitUsage, "--cluster starts embedded nodes"},
		{[]string{"load", "--cluster", "2", "--null-server"}, exitUsage, "--cluster starts embedded nodes"},
		{[]string{"load", "--cluster", "2", "--target-metrics", "http://127.0.0.1:1/metrics"}, exitUsage, "--target-metrics reads one server's count"},
		{[]string{"load", "--target", "ws://127.0.0.1:1", "--target", "ws://127.0.0.1:2", "--target-metrics", "http://127.0.0.1:1/metrics"}, exitUsage, "--target-metrics reads one server's count"},
		{[]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--redis", "http://127.0.0.1:6379"}, exitUsage, "invalid URL scheme"},
		{[]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--node-dead-after", "0s"}, exitUsage, "--node-dead-after must be positive"},
		{[]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1/0", "--node-dead-after", "2s"}, exitUsage, "at least 3s (3 heartbeats)"},
		{[]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1/0"}, exitFail, "connection refused"},
	} {
		code, _, stderr := runCmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	if code, _, stderr := runCmd("check", "--supports", "cluster", "CLUS-"); code != exitUsage || !strings.Contains(stderr, "--supports cluster needs the cluster's nodes") {
		t.Errorf("--supports cluster on one node: exit %d, %q", code, stderr)
	}
}

// TestCheckEmbeddedCluster: check --cluster 3 runs the cluster cases on three embedded nodes on a
// real Redis, and passes them.
func TestCheckEmbeddedCluster(t *testing.T) {
	cases, err := features.Catalog(features.FS)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cases {
		if strings.HasPrefix(c.ID, "CLUS-") {
			n++
		}
	}
	code, out, stderr := runCmd("check", "--cluster", "3", "CLUS-")
	if code != exitOK || !strings.Contains(out, fmt.Sprintf("CONFORMANT (%d of", n)) || !strings.Contains(out, fmt.Sprintf("%d passed", n)) {
		t.Fatalf("check --cluster 3 CLUS-: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestLoadEmbeddedCluster: load --cluster 2 runs two serve processes on a real Redis, spreads
// the clients and publishes over both, and reports each node apart.
func TestLoadEmbeddedCluster(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runCmd("load", "--cluster", "2", "--scenario", "seats,availability", "--clients", "80", "--rooms", "2",
		"--duration", "2s", "--ramp", "500ms", "--quiet", "--out", dir)
	if code != exitOK && code != exitInvalid { // INVALID: a busy machine made the timetable late
		t.Fatalf("load --cluster 2: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"and 1 more nodes", "Nodes (", "delivery_cross_node", "the sum of 2 nodes' peaks"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	s := loadSummary(t, filepath.Join(dir, "summary.json"))
	for _, c := range s.Checks { // the verdict on the server stands, valid run or not
		if !c.Pass {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
	if code == exitInvalid && (s.Valid || !s.Generator.Saturated) {
		t.Errorf("exit %d from a run that is valid or not saturated:\n%s", exitInvalid, out)
	}
	if len(s.Nodes) != 2 || s.Nodes[0].Clients != 40 || s.Nodes[1].Clients != 40 || s.Server == nil || s.Server.Nodes != 2 {
		t.Errorf("nodes %+v, server %+v: want two nodes of 40 clients", s.Nodes, s.Server)
	}
}

// serveNode runs `pushcert serve` as a node of the cluster on redisURL, and returns its address.
func serveNode(t *testing.T, bin, redisURL string) (string, *exec.Cmd) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--app-id", "1", "--key", "k1", "--secret", "s1", "--addr", addr,
		"--redis", redisURL, "--node-dead-after", "3s", "--log-level", "warn")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "metrics") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	return addr, cmd
}

// joinPresence connects to a node and joins channel as user; it returns the connection.
func joinPresence(t *testing.T, addr, channel, user string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/app/k1?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	var est protocol.ConnectionEstablished
	m := readEvent(t, ws, protocol.EventConnectionEstablished, 10*time.Second)
	if err := m.DecodeData(&est); err != nil {
		t.Fatal(err)
	}
	cd := `{"user_id":"` + user + `"}`
	sub := map[string]any{"event": protocol.EventSubscribe, "data": map[string]string{"channel": channel, "channel_data": cd,
		"auth": protocol.SignChannel("k1", "s1", est.SocketID, channel, cd)}}
	if err := ws.WriteJSON(sub); err != nil {
		t.Fatal(err)
	}
	readEvent(t, ws, protocol.EventSubscriptionSucceeded, 10*time.Second)
	return ws
}

func readEvent(t *testing.T, ws *websocket.Conn, event string, within time.Duration) protocol.Message {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(within))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", event, err)
		}
		m, err := protocol.DecodeMessage(data)
		if err == nil && m.Event == event {
			return m
		}
	}
}

// TestClusterNodeKilled: three `pushcert serve` processes on one real Redis. A node killed with
// SIGKILL leaves no ghost member: the others' clients get member_removed for its users once it
// has been silent for --node-dead-after, and the HTTP API of every live node forgets them; a
// check from this process through the live nodes still passes the cluster cases.
func TestClusterNodeKilled(t *testing.T) {
	rs, err := redisproc.Start(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.Stop)
	bin := buildBinary(t)
	a, pa := serveNode(t, bin, rs.URL())
	b, pb := serveNode(t, bin, rs.URL())
	c, victim := serveNode(t, bin, rs.URL())
	ann := joinPresence(t, a, "presence-hall", "ann")
	joinPresence(t, c, "presence-hall", "ghost")
	if m := readEvent(t, ann, protocol.EventMemberAdded, 10*time.Second); !strings.Contains(string(m.Data), "ghost") {
		t.Fatalf("member_added: %s", m.Data)
	}
	killed := time.Now()
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	m := readEvent(t, ann, protocol.EventMemberRemoved, 30*time.Second)
	if !strings.Contains(string(m.Data), "ghost") {
		t.Fatalf("member_removed: %s", m.Data)
	}
	t.Logf("SIGKILL to member_removed on another node: %v (--node-dead-after 3s, heartbeat 1s)", time.Since(killed).Round(time.Millisecond))
	for _, node := range []string{a, b} {
		code, out, stderr := runCmd("channels", "--target", "ws://"+node, "--app-id", "1", "--key", "k1", "--secret", "s1", "--users", "presence-hall", "--json")
		var got struct {
			Users []struct{ ID string } `json:"users"`
		}
		if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || len(got.Users) != 1 || got.Users[0].ID != "ann" {
			t.Errorf("users of presence-hall on %s after the kill: exit %d %s %s", node, code, out, stderr)
		}
	}
	// CLUS-013 crashes node 2 by --node-crash-cmd: SIGKILL to its process, and a fresh one on its
	// address, whose PID the test kills at the end.
	dir := t.TempDir()
	for i, p := range []*exec.Cmd{pa, pb} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("node%d.pid", i+1)), []byte(strconv.Itoa(p.Process.Pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := range 2 {
			if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d.pid", i+1))); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
				}
			}
		}
	})
	crash := fmt.Sprintf(`pid=%[1]s/node$PUSHCERT_NODE.pid; kill -9 "$(cat "$pid")"; `+
		`%[2]s serve --app-id 1 --key k1 --secret s1 --addr "${PUSHCERT_NODE_URL#ws://}" --redis %[3]s --node-dead-after 3s --log-level error >/dev/null 2>&1 & echo $! > "$pid"`,
		dir, bin, rs.URL())
	code, out, stderr := runCmd("check", "--target", "ws://"+a, "--api-url", "http://"+a, "--target", "ws://"+b, "--api-url", "http://"+b,
		"--app-id", "1", "--key", "k1", "--secret", "s1", "--supports", "cluster,presence,client-events,user-auth,terminate,cache-channels",
		"--node-crash-cmd", crash, "--json", filepath.Join(dir, "report.json"), "CLUS-")
	if code != exitOK {
		t.Errorf("check through the two live nodes, node 2 crashed by --node-crash-cmd: exit %d\n%s\n%s", code, out, stderr)
	}
	rep := readReport(t, filepath.Join(dir, "report.json"))
	if i := slices.IndexFunc(rep.Cases, func(c reports.Case) bool { return c.ID == "CLUS-013" }); i < 0 || rep.Cases[i].Outcome != reports.OutcomePass {
		t.Errorf("CLUS-013 through --node-crash-cmd did not pass (case %d of the report)\n%s", i, out)
	}
}
