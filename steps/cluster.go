package steps

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// The cluster steps name a node of the target (--target given once per node, or --cluster N):
// "node 1" is the first. A step that names no node goes to node 1.
func clusterSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a client "([^"]+)" connects to node (\d+)$`, func(ctx context.Context, name string, node int) error {
		return onNode(ctx, node, func() error { return dialRaw(ctx, name, world(ctx).appURL()) })
	})
	sc.Step(`^(?:clients?|the client) ((?:"[^"]+"(?:, | and )?)+) (?:are|is) connected to node (\d+)$`, func(ctx context.Context, list string, node int) error {
		return onNode(ctx, node, func() error {
			for _, n := range names(list) {
				if err := dial(ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
	})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with data "((?:[^"\\]|\\.)*)"(?: excluding "([^"]+)")? through node (\d+)$`, func(ctx context.Context, event, channels, data, except string, node int) error {
		return onNode(ctx, node, func() error { return appTrigger(ctx, event, channels, data, except) })
	})
	sc.Step(`^the app publishes (\d+) numbered events to "([^"]+)" through node (\d+)$`, func(ctx context.Context, n int, channel string, node int) error {
		return onNode(ctx, node, func() error { return publishNumbered(ctx, n, channel) })
	})
	sc.Step(`^the app sends "([^"]+)" to user "([^"]+)" with data "((?:[^"\\]|\\.)*)" through node (\d+)$`, func(ctx context.Context, event, user, data string, node int) error {
		return onNode(ctx, node, func() error { return sendToUser(ctx, event, user, data) })
	})
	sc.Step(`^the app terminates the connections of "([^"]+)" through node (\d+)$`, func(ctx context.Context, user string, node int) error {
		return onNode(ctx, node, func() error { return terminateUser(ctx, user) })
	})
	sc.Step(`^every node answers (GET) "([^"]+)" `+within+` with:$`, everyNodeAnswers)
	sc.Step(`^a cluster app with (.+)$`, useClusterApp)
	sc.Step(`^the app's connection quota is used up by "([^"]+)" across the nodes$`, func(ctx context.Context, prefix string) error {
		w := world(ctx)
		for i := 1; i <= w.limits.quota; i++ {
			node := (i-1)%w.Target.NodeCount() + 1
			if err := onNode(ctx, node, func() error { return dial(ctx, fmt.Sprintf("%s-%d", prefix, i)) }); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^a cluster the suite may crash a node of$`, crashableCluster)
	sc.Step(`^node (\d+) crashes$`, crashNode)
}

// useClusterApp makes the scenario use an app with the setting on a cluster: on the embedded
// target a 2-node cluster of its own with the setting, on another the profile's app (which the
// vendor's nodes all have), else the case is skipped.
func useClusterApp(ctx context.Context, phrase string) error {
	w := world(ctx)
	if !w.opts.Control {
		return useApp(ctx, phrase)
	}
	st, ok := appSettings[phrase]
	if !ok {
		return fmt.Errorf("unknown app setting %q", phrase)
	}
	var cfg refserver.Config
	var app refserver.App
	st.embed(&cfg, &app)
	t, stop, err := target.StartEmbeddedCluster(2, cfg, app)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limits = appLimits{activity: cfg.ActivityTimeout, pong: cfg.PongTimeout, quota: app.MaxConnections, members: app.MaxPresenceMembers}
	w.Target, w.API = t, t.API(w.Log)
	w.stops = append(w.stops, stop)
	return nil
}

// crashableCluster makes sure the case may crash a node: on the embedded target it starts a
// 2-node cluster of its own; a cluster the run started has its own crash; a vendor's cluster
// needs --node-crash-cmd.
func crashableCluster(ctx context.Context) error {
	w := world(ctx)
	switch {
	case w.opts.Control:
		cfg := refserver.Config{NodeDeadAfter: refserver.MinNodeDeadAfter}
		t, stop, err := target.StartEmbeddedCluster(2, cfg, refserver.App{})
		if err != nil {
			return err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.Target, w.API = t, t.API(w.Log)
		w.stops = append(w.stops, stop)
		return nil
	case w.Target.CrashNode != nil || w.opts.NodeCrashCmd != "":
		return nil
	}
	return fmt.Errorf("%w: needs a cluster node the suite may crash: give --node-crash-cmd", godog.ErrSkip)
}

// crashNode kills node n without a word and waits until it accepts connections again: the
// target's own crash, or --node-crash-cmd with PUSHCERT_NODE, PUSHCERT_NODE_URL and
// PUSHCERT_NODE_API_URL set to the node's number and URLs.
func crashNode(ctx context.Context, n int) error {
	w := world(ctx)
	if n > w.Target.NodeCount() {
		return fmt.Errorf("%w: needs a cluster of %d nodes or more, the target has %d", godog.ErrSkip, n, w.Target.NodeCount())
	}
	if w.Target.CrashNode != nil {
		w.Log.Add("suite", client.Out, fmt.Sprintf("crash node %d", n))
		return w.Target.CrashNode(n)
	}
	nt, err := w.Target.OnNode(n)
	if err != nil {
		return err
	}
	w.Log.Add("suite", client.Out, fmt.Sprintf("crash node %d: sh -c %s", n, w.opts.NodeCrashCmd))
	env := []string{"PUSHCERT_NODE=" + strconv.Itoa(n), "PUSHCERT_NODE_URL=" + nt.WebSocketURL, "PUSHCERT_NODE_API_URL=" + nt.APIURL}
	if err := nt.CrashWith(ctx, w.opts.NodeCrashCmd, env); err != nil {
		return err
	}
	w.Log.Add("suite", client.In, fmt.Sprintf("crash node %d: it accepts connections again", n))
	return nil
}

// onNode runs a step's work with the target reached through node n; a case that names more
// nodes than the target has is skipped.
func onNode(ctx context.Context, n int, f func() error) error {
	w := world(ctx)
	if n > w.Target.NodeCount() {
		return fmt.Errorf("%w: needs a cluster of %d nodes or more, the target has %d: give --target and --api-url once per node", godog.ErrSkip, n, w.Target.NodeCount())
	}
	nt, err := w.Target.OnNode(n)
	if err != nil {
		return err
	}
	target, api := w.Target, w.API
	w.Target, w.API = nt, nt.API(w.Log)
	defer func() { w.Target, w.API = target, api }()
	return f()
}

// everyNodeAnswers asks each node of the cluster the same question until every one answers
// 200 with a body containing the document, or the time is up: each node answers for the whole
// cluster, whichever node its clients are on.
func everyNodeAnswers(ctx context.Context, method, path, secs string, doc *godog.DocString) error {
	w := world(ctx)
	want, err := w.expand(doc.Content)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(w.wait(seconds(secs)))
	for n := 1; n <= w.Target.NodeCount(); n++ {
		for {
			if err := onNode(ctx, n, func() error { return apiRequest(ctx, method, path, "", "") }); err != nil {
				return err
			}
			r, _ := lastResponse(ctx)
			if r.Status == 200 && jsonContains(r.Body, []byte(want)) {
				break
			}
			if time.Now().After(deadline) {
				return mismatch("node "+strconv.Itoa(n)+" answering HTTP 200 with a JSON body containing "+compact(want), "HTTP %d %s", r.Status, r.Body)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
