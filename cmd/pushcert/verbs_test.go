package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// verbTarget runs the reference server in-process and returns the target flags for it.
func verbTarget(t *testing.T) (*target.Target, []string) {
	t.Helper()
	tg, stop, err := target.StartEmbedded(refserver.Config{}, refserver.App{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg, []string{"--target", tg.WebSocketURL, "--app-id", tg.AppID, "--key", tg.Key, "--secret", tg.Secret}
}

// watch prints what arrives on a public and a presence channel (subscribed by signing), trigger
// publishes one event and a batch, channels lists the channels, one channel and its users.
func TestTriggerWatchChannels(t *testing.T) {
	tg, flags := verbTarget(t)
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCmd(append(append([]string{"watch"}, flags...), "event.7", "presence-event.7.seats",
			"--user-id", "ann", "--user-info", `{"name":"Ann"}`, "--for", "8s")...)
		done <- result{code, out, errs}
	}()
	// publish once the watcher is on both channels: the server says so
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := tg.API(nil).Do(ctx, "GET", "/channels/presence-event.7.seats/users", nil, nil)
		if err == nil && bytes.Contains(resp.Body, []byte(`"ann"`)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, out, errs := runCmd(append(append([]string{"trigger"}, flags...), "event.7", "seat.changed", `{"seats":["A1"]}`)...); code != exitOK || !strings.HasPrefix(out, "200 ") {
		t.Fatalf("trigger: exit %d %q %q", code, out, errs)
	}
	if code, out, _ := runCmd(append(append([]string{"channels"}, flags...), "--info", "subscription_count")...); code != exitOK ||
		!strings.Contains(out, "event.7") || !strings.Contains(out, "SUBSCRIPTION_COUNT") || !strings.Contains(out, "2 channel(s)") {
		t.Errorf("channels: exit %d\n%s", code, out)
	}
	if code, out, _ := runCmd(append(append([]string{"channels"}, flags...), "presence-event.7.seats", "--users")...); code != exitOK || out != "ann\n1 user(s)\n" {
		t.Errorf("channels --users: exit %d %q", code, out)
	}
	if code, out, _ := runCmd(append(append([]string{"channels"}, flags...), "presence-event.7.seats", "--info", "user_count", "--json")...); code != exitOK || !json.Valid([]byte(out)) || !strings.Contains(out, `"user_count":1`) {
		t.Errorf("channels --json: exit %d %q", code, out)
	}
	r := <-done
	for _, want := range []string{"event.7  subscribed", "presence-event.7.seats  subscribed", `"ann":{"name":"Ann"}`, `event.7  seat.changed  {"seats":["A1"]}`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("watch printed no %q:\n%s\n%s", want, r.out, r.err)
		}
	}
	if r.code != exitOK {
		t.Errorf("watch ended by --for: exit %d, want 0: %s", r.code, r.err)
	}
}

// A wrong secret is the server's 401, exit 1; a batch file and the usage mistakes say what is wrong.
func TestTriggerAndChannelsMistakes(t *testing.T) {
	_, flags := verbTarget(t)
	wrong := append(append([]string{}, flags[:len(flags)-1]...), "not-the-secret")
	if code, out, _ := runCmd(append(append([]string{"trigger"}, wrong...), "room", "x")...); code != exitFail || !strings.HasPrefix(out, "401 ") {
		t.Errorf("wrong secret: exit %d %q, want 1 and the server's 401", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trigger", "room"}, "want CHANNEL EVENT [DATA]"},
		{[]string{"trigger", "--batch", "/nonexistent"}, "--batch: open /nonexistent"},
		{[]string{"channels", "--users"}, "--users needs the presence CHANNEL"},
		{[]string{"channels", "a", "b"}, "at most one CHANNEL"},
		{[]string{"watch"}, "name at least one CHANNEL"},
		{[]string{"watch", "--user-info", "{", "room"}, "is not JSON"},
	} {
		code, _, errs := runCmd(append(append([]string{tc.args[0]}, flags...), tc.args[1:]...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: exit %d %q, want 2 saying %q", tc.args, code, errs, tc.want)
		}
	}
	if code, _, errs := runCmd("trigger", "room", "x"); code != exitUsage || !strings.Contains(errs, "talks to a running server") {
		t.Errorf("no target: exit %d %q", code, errs)
	}
}

// watch prints a frame that is no Pusher message as it came, saying why, and goes on.
func TestWatchPrintsAMalformedFrame(t *testing.T) {
	var b bytes.Buffer
	p := watchPrinter{w: &b}
	p.print(client.Frame{At: time.Now(), Raw: "{not json", Err: errors.New("frame is not a JSON object")})
	p.print(client.Frame{At: time.Now(), Msg: protocol.Message{Event: "e", Channel: "c", Data: []byte(`"{\"a\":1}"`)}})
	out := b.String()
	if !strings.Contains(out, `(not a Pusher message: frame is not a JSON object)  {not json`) || !strings.Contains(out, `c  e  {"a":1}`) {
		t.Errorf("printed:\n%s", out)
	}
}

// TestNoColor: the console is colored on a character device (as a terminal is) unless NO_COLOR
// is set; never on a pipe or a file.
func TestNoColor(t *testing.T) {
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "NO_COLOR" {
				return v
			}
			return ""
		}
	}
	if !colorByDefault(dev, env("")) {
		t.Error("no color on a character device without NO_COLOR")
	}
	if colorByDefault(dev, env("1")) {
		t.Error("color with NO_COLOR=1")
	}
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if colorByDefault(file, env("")) {
		t.Error("color into a file")
	}
}
