package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// Steps of @needs:control cases: they need an app with a setting the suite cannot make on a
// server it does not run, or a server it may restart. On the embedded target the runner starts
// a reference server of the scenario's own with the setting; on another target the server
// profile names an app that has it (and --restart-cmd restarts the server); otherwise the case
// is SKIPPED and says which profile key would run it.
func controlSteps(sc *godog.ScenarioContext) {
	sc.Step(`^an app with (.+)$`, func(ctx context.Context, phrase string) error {
		return useApp(ctx, phrase)
	})
	sc.Step(`^a server the suite may restart$`, func(ctx context.Context) error {
		w := world(ctx)
		switch {
		case w.opts.Control:
			return ownServer(w, refserver.Config{}, refserver.App{})
		case w.restartCmd() != "" || w.Target.Restart != nil:
			return nil
		}
		return fmt.Errorf("%w: needs a server the suite may restart: give --restart-cmd (or restart_cmd in the server profile)", godog.ErrSkip)
	})
	sc.Step(`^the server shuts down$`, func(ctx context.Context) error {
		w := world(ctx)
		w.mu.Lock()
		stop := w.server
		w.mu.Unlock()
		if stop != nil {
			go stop()
			return nil
		}
		return restartByCommand(ctx, w)
	})
	sc.Step(`^the server restarts$`, func(ctx context.Context) error {
		w := world(ctx)
		w.mu.Lock()
		stop, t := w.server, w.Target
		w.mu.Unlock()
		if stop == nil {
			return restartByCommand(ctx, w)
		}
		stop() // every client is closed with 4200
		addr := strings.TrimPrefix(t.WebSocketURL, "ws://")
		nt, nstop, err := target.StartEmbeddedOn(addr, w.serverCfg, w.serverApp)
		if err != nil {
			return fmt.Errorf("restart on %s: %w", addr, err)
		}
		w.mu.Lock()
		w.Target, w.server = nt, nstop
		w.stops = append(w.stops, nstop)
		w.mu.Unlock()
		return nil
	})
	sc.Step(`^"([^"]+)" receives "([^"]+)" within the (activity|pong) timeout$`, func(ctx context.Context, name, event, which string) error {
		_, err := expectEvent(ctx, name, event, "", world(ctx).timeoutWait(name, which))
		return err
	})
	sc.Step(`^"([^"]+)" is closed with code (\d+) within the (activity|pong) timeout$`, func(ctx context.Context, name string, code int, which string) error {
		return closedWith(ctx, name, code, world(ctx).timeoutWait(name, which))
	})
	sc.Step(`^the app's connection quota is used up by "([^"]+)"$`, func(ctx context.Context, prefix string) error {
		w := world(ctx)
		for i := 1; i <= w.limits.quota; i++ {
			if err := dial(ctx, fmt.Sprintf("%s-%d", prefix, i)); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^"([^"]+)" is filled to the member limit by "([^"]+)"$`, func(ctx context.Context, channel, prefix string) error {
		w := world(ctx)
		for i := 1; i <= w.limits.members; i++ {
			name := fmt.Sprintf("%s-%d", prefix, i)
			if err := dial(ctx, name); err != nil {
				return err
			}
			if err := join(ctx, name, channel, name, ""); err != nil {
				return err
			}
			if _, err := expectEvent(ctx, name, protocol.EventSubscriptionSucceeded, w.Channel(channel), "2"); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^"([^"]+)" and "([^"]+)" have different socket ids$`, func(ctx context.Context, a, b string) error {
		w := world(ctx)
		ca, err := w.conn(a)
		if err != nil {
			return err
		}
		cb, err := w.conn(b)
		if err != nil {
			return err
		}
		if ca.SocketID == cb.SocketID {
			return mismatch("two socket ids", "both %q", ca.SocketID)
		}
		return nil
	})
}

// appLimits are the settings of the app a scenario uses, for its waits and counts.
type appLimits struct {
	activity, pong time.Duration
	quota, members int
}

// appSetting is one phrase of "an app with ...": how an embedded server of the scenario's own
// is started with it, how a profile app is seen to have it, and the profile key to name.
type appSetting struct {
	embed func(*refserver.Config, *refserver.App)
	has   func(target.ProfileApp) bool
	key   string
}

var appSettings = map[string]appSetting{
	"a short activity timeout": {
		embed: func(c *refserver.Config, _ *refserver.App) {
			c.ActivityTimeout, c.PongTimeout = time.Second, time.Second
		},
		has: func(a target.ProfileApp) bool { return a.ActivityTimeout > 0 },
		key: `"activity_timeout" (and "pong_timeout")`,
	},
	"a connection quota": {
		embed: func(_ *refserver.Config, a *refserver.App) { a.MaxConnections = 2 },
		has:   func(a target.ProfileApp) bool { return a.MaxConnections > 0 },
		key:   `"max_connections"`,
	},
	"a presence member limit": {
		embed: func(_ *refserver.Config, a *refserver.App) { a.MaxPresenceMembers = 2 },
		has:   func(a target.ProfileApp) bool { return a.MaxPresenceMembers > 0 },
		key:   `"max_presence_members"`,
	},
	"client events disabled": {
		embed: func(_ *refserver.Config, a *refserver.App) { off := false; a.ClientEvents = &off },
		has:   func(a target.ProfileApp) bool { return a.ClientEvents != nil && !*a.ClientEvents },
		key:   `"client_events": false`,
	},
}

// useApp makes the scenario use an app with the setting: a server of its own on the embedded
// target, else the profile's app that has it, else the case is skipped.
func useApp(ctx context.Context, phrase string) error {
	w := world(ctx)
	st, ok := appSettings[phrase]
	if !ok {
		return fmt.Errorf("unknown app setting %q", phrase)
	}
	if w.opts.Control {
		var cfg refserver.Config
		var app refserver.App
		st.embed(&cfg, &app)
		w.limits = appLimits{activity: cfg.ActivityTimeout, pong: cfg.PongTimeout, quota: app.MaxConnections, members: app.MaxPresenceMembers}
		return ownServer(w, cfg, app)
	}
	if p := w.opts.Profile; p != nil {
		for _, a := range p.Apps {
			if st.has(a) {
				w.mu.Lock()
				w.Target = w.Target.App(a)
				w.API = w.Target.API(w.Log)
				w.limits = appLimits{activity: time.Duration(a.ActivityTimeout), pong: time.Duration(a.PongTimeout), quota: a.MaxConnections, members: a.MaxPresenceMembers}
				w.mu.Unlock()
				w.note("ran on the profile's app %s (%s)", a.ID, phrase)
				return nil
			}
		}
	}
	return fmt.Errorf("%w: needs an app with %s: describe one in the server profile (--profile, an app with %s)", godog.ErrSkip, phrase, st.key)
}

// ownServer starts a reference server of the scenario's own and points the scenario at it.
func ownServer(w *World, cfg refserver.Config, app refserver.App) error {
	t, stop, err := target.StartEmbedded(cfg, app)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.serverCfg, w.serverApp = cfg, app
	w.Target = t
	w.API = t.API(w.Log)
	w.stops = append(w.stops, stop)
	w.server = stop
	return nil
}

// restartByCommand restarts a shared server with the run's restart command, or with the
// target's own restart when it has one (a reference server the run started, behind a proxy).
func restartByCommand(ctx context.Context, w *World) error {
	cmd := w.restartCmd()
	if cmd == "" && w.Target.Restart != nil {
		w.Log.Add("suite", client.Out, "restart the server")
		return w.Target.Restart()
	}
	if cmd == "" {
		return fmt.Errorf("%w: needs --restart-cmd", godog.ErrSkip)
	}
	w.Log.Add("suite", client.Out, "restart: sh -c "+cmd)
	if err := w.Target.RestartWith(ctx, cmd); err != nil {
		return err
	}
	w.Log.Add("suite", client.In, "restart: the server accepts connections again")
	return nil
}

// timeoutWait is how long a step waits for the server's ping (activity) or its 4201 close
// (pong): the app's setting, or the handshake's activity_timeout, or the protocol's 30 s pong
// timeout, plus 2 s for the server's sweep, in the seconds the wait steps take.
func (w *World) timeoutWait(name, which string) string {
	d := w.limits.pong
	if which == "activity" {
		d = w.limits.activity
		if c, err := w.conn(name); d == 0 && err == nil {
			d = c.ActivityTimeout
		}
	}
	if d == 0 {
		d = 30 * time.Second
	}
	return strconv.FormatFloat((d + 2*time.Second).Seconds(), 'f', -1, 64)
}

func (w *World) restartCmd() string {
	if w.opts.RestartCmd != "" {
		return w.opts.RestartCmd
	}
	if w.opts.Profile != nil {
		return w.opts.Profile.RestartCmd
	}
	return ""
}
