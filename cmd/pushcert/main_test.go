package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/protocol"
)

// TestMain lets the test binary stand in for pushcert when `load` starts its embedded server as a
// child process (os.Executable is the test binary here): it then acts as `pushcert serve`.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSignChannelVector(t *testing.T) {
	code, out, _ := runCmd("sign", "channel", "--key", "278d425bdf160c739803", "--secret", "7ad3773142a6692b25b8",
		"--socket-id", "1234.1234", "--channel", "private-foobar",
		"--auth", "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4")
	if code != exitOK || !strings.Contains(out, "given:          matches") {
		t.Errorf("got exit %d, output:\n%s", code, out)
	}
}

func TestSignMismatchExplainsKey(t *testing.T) {
	code, out, _ := runCmd("sign", "channel", "--key", "k", "--secret", "s", "--socket-id", "1.1", "--channel", "private-x", "--auth", "other:abc")
	if code != exitFail || !strings.Contains(out, `made with key "other"`) {
		t.Errorf("got exit %d, output:\n%s", code, out)
	}
}

func TestSignRequestWorkedExample(t *testing.T) {
	code, out, _ := runCmd("sign", "request", "--key", "278d425bdf160c739803", "--secret", "7ad3773142a6692b25b8",
		"--path", "/apps/3/events", "--timestamp", "1353088179",
		"--body", `{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	for _, want := range []string{"ec365a775a4cd0599faeb73354201b6f", "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("want %s in output (exit %d):\n%s", want, code, out)
		}
	}
}

// A captured webhook is checked as its receiver would: the signature is the hex HMAC-SHA256 of
// the body's bytes with the app secret, the body a {"time_ms", "events"} object.
func TestSignWebhookVerify(t *testing.T) {
	dir := t.TempDir()
	body := `{"time_ms":1764700000000,"events":[{"name":"member_added","channel":"presence-x","user_id":"ada"}]}`
	sig := hmacOf("app-secret", body)
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exact, newline, shapeless := file("exact.json", body), file("newline.json", body+"\n"), file("shapeless.json", `{"events":[]}`)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--body-file", exact, "--signature", sig}, exitOK, "member_added      presence-x user ada"},
		{[]string{"--body-file", exact, "--signature", strings.Repeat("0", 64)}, exitFail, "MISMATCH"},
		{[]string{"--body-file", newline, "--signature", sig}, exitFail, "without its final newline"},
		{[]string{"--body-file", shapeless, "--signature", hmacOf("app-secret", `{"events":[]}`)}, exitFail, "time_ms is missing"},
		{[]string{"--body-file", exact}, exitUsage, "--verify checks a webhook"},
		{[]string{"--body-file", filepath.Join(dir, "none.json"), "--signature", sig}, exitUsage, "no such file"},
	} {
		code, out, errs := runCmd(append([]string{"sign", "webhook", "--verify", "--secret", "app-secret"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in:\n%s%s", tc.args, code, tc.code, tc.want, out, errs)
		}
	}
}

func hmacOf(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

// A mistyped flag or a bad value says what is wrong in one line and where the help is, exit 2;
// --help prints the help once, on stdout, exit 0, for every verb.
func TestFlagErrorsAreTold(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--tagret", "x"}, "pushcert check: unknown flag: --tagret"},
		{[]string{"load", "--clinets", "3"}, "pushcert load: unknown flag: --clinets"},
		{[]string{"load", "--duration", "5"}, `pushcert load: invalid argument "5" for "--duration"`},
		{[]string{"serve", "--bogus"}, "pushcert serve: unknown flag: --bogus"},
	} {
		code, out, errs := runCmd(tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "--help") || out != "" {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, errs, exitUsage, tc.want)
		}
	}
	for _, c := range commands() {
		verb := c.name
		code, out, errs := runCmd(verb, "--help")
		if code != exitOK || out == "" || errs != "" {
			t.Errorf("%s --help: exit %d, %d bytes on stdout, stderr %q; want exit 0 and the help on stdout", verb, code, len(out), errs)
		}
		if strings.Contains(out, "--shard pushcert") {
			t.Errorf("%s --help: a backquoted word of a usage became a flag's argument name:\n%s", verb, out)
		}
		if first := strings.SplitN(out, "\n", 2)[0]; strings.Count(out, first) != 1 {
			t.Errorf("%s --help printed its help more than once:\n%s", verb, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"sign"}, {"sign", "channel"}, {"serve", "--bogus"}, {"serve", "--addr", "127.0.0.1:0"}} {
		if code, _, _ := runCmd(args...); code != exitUsage {
			t.Errorf("%q: got exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestServeRefusesNegativeTimeouts: a negative timeout is a usage error, not a server that pings
// every client all the time (or never). A serve that starts anyway is stopped after 5 s.
func TestServeRefusesNegativeTimeouts(t *testing.T) {
	for flag, want := range map[string]string{"--activity-timeout": "activity timeout -5s: must be positive", "--pong-timeout": "pong timeout -5s: must be positive"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out, errs bytes.Buffer
		code := run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", flag, "-5s"}, &out, &errs)
		cancel()
		if code != exitUsage || !strings.Contains(errs.String(), want) {
			t.Errorf("%s -5s: exit %d, stderr %q; want exit %d saying %q", flag, code, errs.String(), exitUsage, want)
		}
	}
}

// TestServeProcess runs the real binary: banner, a working WebSocket endpoint, and on SIGTERM
// close code 4200 to the client and exit 0.
func TestServeProcess(t *testing.T) {
	bin, addr := buildBinary(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--demo", "--addr", addr)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	br := bufio.NewReader(stdout)
	var banner strings.Builder
	for !strings.Contains(banner.String(), "metrics") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("banner: %v; so far:\n%s\nstderr:\n%s", err, banner.String(), stderr.String())
		}
		banner.WriteString(line)
	}
	go io.Copy(io.Discard, br)
	for _, want := range []string{demoKey, demoSecret, "ws://" + addr + "/app/" + demoKey, "/apps/" + demoAppID + "/events"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	resp, err := http.Get("http://" + addr + "/up")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/up: %v %v", resp, err)
	}
	resp.Body.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/app/"+demoKey+"?protocol=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, data, err := ws.ReadMessage(); err != nil || !strings.Contains(string(data), protocol.EventConnectionEstablished) {
		t.Fatalf("handshake: %s %v", data, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, protocol.CodeReconnect) {
		t.Errorf("after SIGTERM: got %v, want close 4200", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v, want 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10 s of SIGTERM")
	}
}
