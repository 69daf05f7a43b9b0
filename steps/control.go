package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// Steps of @needs:control cases: the runner starts a reference server of the scenario's own
// with the settings it names. Only an embedded target offers this.
func controlSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a server of its own with (.+)$`, func(ctx context.Context, settings string) error {
		w := world(ctx)
		if !w.opts.Control {
			return fmt.Errorf("%w: this target offers no control", godog.ErrSkip)
		}
		cfg, app, err := parseSettings(settings)
		if err != nil {
			return err
		}
		t, stop, err := target.StartEmbedded(cfg, app)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.serverCfg, w.serverApp = cfg, app
		w.Target = t
		w.API = &client.API{BaseURL: t.APIURL, AppID: t.AppID, Key: t.Key, Secret: t.Secret, Log: w.Log}
		w.stops = append(w.stops, stop)
		w.server = stop
		w.mu.Unlock()
		return nil
	})
	sc.Step(`^the server shuts down$`, func(ctx context.Context) error {
		w := world(ctx)
		w.mu.Lock()
		stop := w.server
		w.mu.Unlock()
		if stop == nil {
			return fmt.Errorf("the scenario has no server of its own to shut down")
		}
		go stop()
		return nil
	})
	sc.Step(`^the server restarts$`, func(ctx context.Context) error {
		w := world(ctx)
		w.mu.Lock()
		stop, t := w.server, w.Target
		w.mu.Unlock()
		if stop == nil {
			return fmt.Errorf("the scenario has no server of its own to restart")
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

var setting = regexp.MustCompile(`^(activity timeout|pong timeout|max connections|presence limit|client event rate) (\S+)$|^(client events disabled)$`)

// parseSettings reads "activity timeout 1s and pong timeout 1s", "max connections 2", ...
func parseSettings(s string) (refserver.Config, refserver.App, error) {
	var cfg refserver.Config
	var app refserver.App
	for _, part := range strings.Split(s, " and ") {
		m := setting.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return cfg, app, fmt.Errorf("unknown server setting %q", part)
		}
		var err error
		switch m[1] + m[3] {
		case "activity timeout":
			cfg.ActivityTimeout, err = time.ParseDuration(m[2])
		case "pong timeout":
			cfg.PongTimeout, err = time.ParseDuration(m[2])
		case "max connections":
			app.MaxConnections, err = strconv.Atoi(m[2])
		case "presence limit":
			app.MaxPresenceMembers, err = strconv.Atoi(m[2])
		case "client event rate":
			app.ClientEventRate, err = strconv.Atoi(m[2])
		case "client events disabled":
			off := false
			app.ClientEvents = &off
		}
		if err != nil {
			return cfg, app, fmt.Errorf("server setting %q: %w", part, err)
		}
	}
	return cfg, app, nil
}
