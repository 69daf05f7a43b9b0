package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/pushcert/pushcert/internal/client"
)

// Profile describes what the suite cannot set on a server it does not run: apps with settings
// of their own (a connection quota, client events off, a short activity timeout, a member
// limit) and the command that restarts the server. Cases that need such a setting run when the
// profile names an app that has it, and are SKIPPED, saying which key would run them, when not.
type Profile struct {
	// RestartCmd restarts the server under test (run with sh -c); every client must be closed
	// with 4200 and the server must accept connections again when it returns.
	RestartCmd string       `json:"restart_cmd,omitempty"`
	Apps       []ProfileApp `json:"apps"`
	// Image says how the vendor's image runs under --target-image; flags given win.
	Image *ProfileImage `json:"image,omitempty"`
}

// ProfileImage is how a server image runs: the port its server listens on (on 127.0.0.1), its
// environment (the names its app settings go by) and its command.
type ProfileImage struct {
	Port int               `json:"port,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
	Args []string          `json:"args,omitempty"`
}

// ProfileApp is one extra app of the server under test and the settings the vendor gave it.
// A zero value means the setting was not described.
type ProfileApp struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
	// ClientEvents false describes an app whose client events are disabled.
	ClientEvents *bool `json:"client_events,omitempty"`
	// MaxConnections is the app's connection quota.
	MaxConnections int `json:"max_connections,omitempty"`
	// MaxPresenceMembers is the most members a presence channel of the app takes.
	MaxPresenceMembers int `json:"max_presence_members,omitempty"`
	// ActivityTimeout is how long a silent connection waits before the server pings it, and
	// PongTimeout how long after the ping it is closed with 4201. Keep them short: the cases
	// wait that long.
	ActivityTimeout Duration `json:"activity_timeout,omitempty"`
	PongTimeout     Duration `json:"pong_timeout,omitempty"`
	// Webhooks true says the app's webhooks go to the suite's receiver, at /hooks/{id}.
	Webhooks bool `json:"webhooks,omitempty"`
}

// Duration reads "1s", "1500ms" or a number of seconds.
type Duration time.Duration

// UnmarshalJSON accepts a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("want a duration like \"1s\" or a number of seconds, got %s", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// LoadProfile reads a profile file (JSON) and checks it.
func LoadProfile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	var errs []error
	for i, a := range p.Apps {
		if a.ID == "" || a.Key == "" || a.Secret == "" {
			errs = append(errs, fmt.Errorf("profile %s: app %d needs id, key and secret", path, i+1))
		}
		if a.ActivityTimeout < 0 || a.PongTimeout < 0 || a.MaxConnections < 0 || a.MaxPresenceMembers < 0 {
			errs = append(errs, fmt.Errorf("profile %s: app %s: negative setting", path, a.ID))
		}
	}
	return &p, errors.Join(errs...)
}

// Via returns a copy of t reached through a proxy at addr (host:port) that forwards to t,
// WebSocket and HTTP API alike; what t's restart does still happens behind the proxy.
func (t *Target) Via(addr string) *Target {
	c := *t
	c.WebSocketURL, c.APIURL, c.Embedded = "ws://"+addr, "http://"+addr, false
	return &c
}

// App returns a copy of t for the profile app a.
func (t *Target) App(a ProfileApp) *Target {
	c := *t
	c.AppID, c.Key, c.Secret = a.ID, a.Key, a.Secret
	c.Embedded, c.Restart = false, nil
	return &c
}

// RestartWith runs the restart command and waits until the server has closed the connections
// it had and hands out pusher:connection_established again, up to a minute in all. A sentinel
// connection opened before the command tells a restarted server from the old one still
// answering. The command's output goes to a file, not a pipe, so a server it leaves running in
// the background cannot hold the wait open.
func (t *Target) RestartWith(ctx context.Context, cmd string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url := t.AppURL(t.Key, "?protocol=7&client=pushcert-restart&version=1")
	sentinel, err := client.Dial(ctx, url, t.Options(client.Options{}))
	if err != nil {
		return fmt.Errorf("before the restart: %w", err)
	}
	defer sentinel.Close()
	if err := runLogged(ctx, "restart", cmd, nil); err != nil {
		return err
	}
	if err := sentinel.WaitClosed(ctx); errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%q returned, but the server kept its connections open for a minute", cmd)
	}
	return t.awaitUp(ctx, url, cmd)
}

// CrashWith runs cmd (sh -c, with env added to the environment), which is to kill the server
// without a word and start it again, and waits at most a minute for it to accept connections.
func (t *Target) CrashWith(ctx context.Context, cmd string, env []string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := runLogged(ctx, "node crash", cmd, env); err != nil {
		return err
	}
	return t.awaitUp(ctx, t.AppURL(t.Key, "?protocol=7&client=pushcert-restart&version=1"), cmd)
}

// awaitUp waits until the server at url accepts a connection, until ctx ends.
func (t *Target) awaitUp(ctx context.Context, url, cmd string) error {
	for {
		dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := client.Dial(dctx, url, t.Options(client.Options{}))
		dcancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the server did not accept connections within a minute of %q: %v", cmd, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// runLogged runs cmd with sh -c and env added, its output in a temporary file that an error
// quotes; what names the command in the error.
func runLogged(ctx context.Context, what, cmd string, env []string) error {
	out, err := os.CreateTemp("", "pushcert-restart-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Env = append(os.Environ(), env...)
	c.Stdout, c.Stderr = out, out
	if err := c.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return fmt.Errorf("%s command %q: %w\n%s", what, cmd, err, b)
	}
	return nil
}
