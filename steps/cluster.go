package steps

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cucumber/godog"
)

// The cluster steps name a node of the target (--target given once per node, or --cluster N):
// "node 1" is the first. A step that names no node goes to node 1.
func clusterSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a client "([^"]+)" connects to node (\d+)$`, func(ctx context.Context, name string, node int) error {
		return onNode(ctx, node, func() error { return dial(ctx, name) })
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
