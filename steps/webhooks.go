package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/webhook"
	"github.com/pushcert/pushcert/refserver"
)

// Steps of @cap:webhooks cases. The suite runs a webhook receiver (--webhook-listen) and the
// server posts the app's webhooks to it, at /hooks/{app_id}. Only what the receiver acknowledged
// with 2xx counts as delivered: a batch it answered 500 is owed again.
func webhookSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the suite's webhook receiver$`, func(ctx context.Context) error {
		if world(ctx).opts.Webhooks == nil {
			return fmt.Errorf("%w: needs the suite's webhook receiver: give --webhook-listen 127.0.0.1:PORT and point the server's webhook URL for app ID at http://127.0.0.1:PORT/hooks/ID", godog.ErrSkip)
		}
		return nil
	})
	sc.Step(`^the webhook receiver gets "([^"]+)" for "([^"]+)"(?: of "([^"]+)")? `+within+`$`, func(ctx context.Context, name, channel, user, secs string) error {
		w := world(ctx)
		evs, _ := awaitHooks(ctx, w, hookMatch(w, name, channel, user), 1, w.wait(seconds(secs)))
		if len(evs) == 0 {
			return mismatch(fmt.Sprintf("a %s webhook for %s", name, w.Channel(channel)), "none within %ss; %s", secs, hookLog(w, channel))
		}
		return nil
	})
	sc.Step(`^the webhook receiver gets (no|exactly one) "([^"]+)" for "([^"]+)"(?: of "([^"]+)")? in (\d+(?:\.\d+)?)s$`, func(ctx context.Context, how, name, channel, user, secs string) error {
		w := world(ctx)
		want := map[string]int{"no": 0, "exactly one": 1}[how]
		evs, _ := awaitHooks(ctx, w, hookMatch(w, name, channel, user), want+1, w.wait(seconds(secs)))
		if len(evs) != want {
			return mismatch(fmt.Sprintf("%s %s webhook for %s in %ss", how, name, w.Channel(channel), secs), "%d; %s", len(evs), hookLog(w, channel))
		}
		return nil
	})
	sc.Step(`^the "client_event" webhook for "([^"]+)" carries the event "([^"]+)", the data (\{.*\}), the socket id of "([^"]+)" and the user "([^"]+)"$`, func(ctx context.Context, channel, event, data, sender, user string) error {
		w := world(ctx)
		c, err := w.conn(sender)
		if err != nil {
			return err
		}
		evs, _ := awaitHooks(ctx, w, hookMatch(w, protocol.HookClientEvent, channel, ""), 1, 0)
		if len(evs) == 0 {
			return mismatch("a client_event webhook for "+w.Channel(channel), "none; %s", hookLog(w, channel))
		}
		got := evs[0].WebhookEvent
		wantEv := protocol.WebhookEvent{Name: got.Name, Channel: w.Channel(channel), Event: event, Data: data, SocketID: c.SocketID, UserID: w.User(user)}
		if got.Event != wantEv.Event || !sameJSON(got.Data, data) || got.SocketID != wantEv.SocketID || got.UserID != wantEv.UserID || got.Channel != wantEv.Channel {
			return mismatch(fmt.Sprintf("%+v", wantEv), "%+v", got)
		}
		return nil
	})
	sc.Step(`^every webhook request about "([^"]+)" carries the app key and a signature made with the app secret$`, func(ctx context.Context, channel string) error {
		w := world(ctx)
		reqs := hookRequests(w, channel)
		if len(reqs) == 0 {
			return mismatch("webhook requests about "+w.Channel(channel), "none")
		}
		for _, r := range reqs {
			if err := r.Verify(w.Target.Key, w.Target.Secret); err != nil {
				return mismatch("X-Pusher-Key "+w.Target.Key+" and X-Pusher-Signature = hex HMAC-SHA256(secret, body)", "%v; body %s", err, r.Body)
			}
		}
		return nil
	})
	sc.Step(`^every webhook request about "([^"]+)" has a JSON body with events and a time_ms of now$`, func(ctx context.Context, channel string) error {
		w := world(ctx)
		reqs := hookRequests(w, channel)
		if len(reqs) == 0 {
			return mismatch("webhook requests about "+w.Channel(channel), "none")
		}
		for _, r := range reqs {
			if r.ParseErr != nil {
				return mismatch(`{"time_ms": <ms>, "events": [{"name": ..., "channel": ...}]}`, "%v; body %s", r.ParseErr, r.Body)
			}
			// time_ms is when the server sent the batch: within the retry time of when it came.
			if skew := time.Duration(r.At.UnixMilli()-r.Hook.TimeMs) * time.Millisecond; skew < -time.Minute || skew > refserver.DefaultWebhookRetryFor+time.Minute {
				return mismatch("time_ms in milliseconds since the epoch, close to "+r.At.UTC().Format(time.RFC3339), "%d (%v off); body %s", r.Hook.TimeMs, skew, r.Body)
			}
			w.note("content type %q, %d event(s) in the request", r.ContentType, len(r.Hook.Events))
		}
		return nil
	})
	sc.Step(`^the webhook receiver answers 500 to the first request about "([^"]+)"$`, func(ctx context.Context, channel string) error {
		w := world(ctx)
		name := []byte(`"` + w.Channel(channel) + `"`)
		w.opts.Webhooks.FailNext(func(r webhook.Request) bool { return bytes.Contains(r.Body, name) }, http.StatusInternalServerError)
		return nil
	})
	sc.Step(`^the webhook receiver gets the request it answered 500 again `+within+`$`, func(ctx context.Context, secs string) error {
		w := world(ctx)
		_, ok := awaitHooks(ctx, w, func(protocol.WebhookEvent) bool { return false }, 1, w.wait(seconds(secs)), func(reqs []webhook.Request) bool {
			return retried(reqs, w.suffix)
		})
		if !ok {
			return mismatch("the events of the request answered 500 sent again and acknowledged", "not within %ss; %s", secs, hookLog(w, ""))
		}
		return nil
	})
	sc.Step(`^how the webhook requests of the scenario group their events is recorded$`, func(ctx context.Context) error {
		w := world(ctx)
		reqs := hookRequests(w, "")
		sizes := make([]string, len(reqs))
		events := 0
		for i, r := range reqs {
			sizes[i] = fmt.Sprint(len(r.Hook.Events))
			events += len(r.Hook.Events)
		}
		w.note("%d event(s) in %d request(s), by request: [%s]", events, len(reqs), strings.Join(sizes, " "))
		return nil
	})
	sc.Step(`^the subscription_count webhooks for "([^"]+)" in (\d+(?:\.\d+)?)s are recorded$`, func(ctx context.Context, channel, secs string) error {
		w := world(ctx)
		match := hookMatch(w, protocol.HookSubscriptionCount, channel, "")
		// until the count of the two subscribers came, or the time is up: a server may send none
		evs, _ := awaitHooks(ctx, w, match, 1<<30, seconds(secs), func(reqs []webhook.Request) bool {
			evs := webhook.Events(reqs, match)
			return len(evs) > 0 && evs[len(evs)-1].SubscriptionCount != nil && *evs[len(evs)-1].SubscriptionCount == 2
		})
		if len(evs) == 0 {
			w.note("no subscription_count webhook in %ss: the server sends none, or the app has not opted in (Pusher sends them to apps that do)", secs)
			return nil
		}
		counts := make([]string, len(evs))
		for i, e := range evs {
			counts[i] = "null"
			if e.SubscriptionCount != nil {
				counts[i] = strconv.Itoa(*e.SubscriptionCount)
			}
		}
		w.note("subscription_count webhooks with the counts [%s] for 2 subscribers", strings.Join(counts, " "))
		return nil
	})
	sc.Step(`^an app of its own whose webhooks go to the receiver$`, func(ctx context.Context) error { return hookApp(ctx) })
	sc.Step(`^no webhook request to another app's URL is about "([^"]+)" in (\d+(?:\.\d+)?)s$`, func(ctx context.Context, channel, secs string) error {
		w := world(ctx)
		time.Sleep(w.wait(seconds(secs)))
		for _, r := range hookRequests(w, channel) {
			if r.AppID != w.Target.AppID || r.Key != w.Target.Key {
				return mismatch(fmt.Sprintf("webhooks of app %s at %s%s only", w.Target.AppID, webhook.PathPrefix, w.Target.AppID),
					"a request at %s with X-Pusher-Key %q: %s", r.Path, r.Key, r.Body)
			}
		}
		return nil
	})
}

// hookMatch matches the webhook events of the scenario's channel (and user, when given).
func hookMatch(w *World, name, channel, user string) func(protocol.WebhookEvent) bool {
	ch, uid := w.Channel(channel), ""
	if user != "" {
		uid = w.User(user)
	}
	return func(e protocol.WebhookEvent) bool {
		return e.Name == name && e.Channel == ch && (uid == "" || e.UserID == uid)
	}
}

// awaitHooks waits up to d (0: not at all) until n acknowledged events match, or until done, if
// given, says so; it returns the matching events.
func awaitHooks(ctx context.Context, w *World, match func(protocol.WebhookEvent) bool, n int, d time.Duration, done ...func([]webhook.Request) bool) ([]webhook.Event, bool) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var evs []webhook.Event
	ok := w.opts.Webhooks.Wait(ctx, func(reqs []webhook.Request) bool {
		evs = webhook.Events(reqs, match)
		return len(evs) >= n || (len(done) > 0 && done[0](reqs))
	})
	return evs, ok
}

// hookRequests are the requests whose body names one of the scenario's channels (channel "":
// any), acknowledged or not.
func hookRequests(w *World, channel string) []webhook.Request {
	needle := "-" + w.suffix + `"`
	if channel != "" {
		needle = `"` + w.Channel(channel) + `"`
	}
	return requestsNaming(w, needle)
}

// requestsNaming are the requests whose body holds needle.
func requestsNaming(w *World, needle string) []webhook.Request {
	var out []webhook.Request
	for _, r := range w.opts.Webhooks.Requests() {
		if bytes.Contains(r.Body, []byte(needle)) {
			out = append(out, r)
		}
	}
	return out
}

// retried reports whether the scenario's events of a request answered non-2xx all came again
// in acknowledged requests after it.
func retried(reqs []webhook.Request, suffix string) bool {
	mine := func(e protocol.WebhookEvent) bool { return strings.HasSuffix(e.Channel, "-"+suffix) }
	for i, r := range reqs {
		if r.Acknowledged() || r.ParseErr != nil || !bytes.Contains(r.Body, []byte(suffix)) {
			continue
		}
		later := webhook.Events(reqs[i+1:], mine)
		for _, e := range r.Hook.Events {
			if !mine(e) {
				continue
			}
			found := false
			for _, l := range later {
				found = found || l.WebhookEvent.Name == e.Name && l.Channel == e.Channel && l.UserID == e.UserID
			}
			if !found {
				return false
			}
		}
		return true
	}
	return false
}

// hookLog describes the requests the receiver got about the scenario, for a mismatch.
func hookLog(w *World, channel string) string { return describeHooks(hookRequests(w, channel)) }

func describeHooks(reqs []webhook.Request) string {
	if len(reqs) == 0 {
		return "the receiver got no request about it"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the receiver got %d request(s) about it:", len(reqs))
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n  answered %d at %s", r.Status, r.Path)
		if r.AppStatus != 0 {
			fmt.Fprintf(&b, " (the app's endpoint answered %d %s)", r.AppStatus, strings.TrimSpace(r.AppAnswer))
		}
		fmt.Fprintf(&b, ": %s", truncateBody(r.Body))
	}
	return b.String()
}

func truncateBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// hookApp points the scenario at an app other than the suite's main one, whose webhooks go to
// the receiver: on the embedded target a server of the scenario's own with two apps, both
// posting to the receiver; on another, the profile's app with "webhooks": true.
func hookApp(ctx context.Context) error {
	w := world(ctx)
	rcv := w.opts.Webhooks
	if w.opts.Control {
		apps := []refserver.App{
			{ID: target.EmbeddedAppID, Key: target.EmbeddedKey, Secret: target.EmbeddedSecret, Webhooks: []refserver.Webhook{{URL: rcv.URL(target.EmbeddedAppID)}}},
			{ID: "other-" + w.suffix, Key: "other-key-" + w.suffix, Secret: "other-secret-" + w.suffix, Webhooks: []refserver.Webhook{{URL: rcv.URL("other-" + w.suffix)}}},
		}
		t, stop, err := target.StartServer("127.0.0.1:0", refserver.Config{Apps: apps})
		if err != nil {
			return err
		}
		o := apps[1]
		t = t.App(target.ProfileApp{ID: o.ID, Key: o.Key, Secret: o.Secret})
		w.mu.Lock()
		defer w.mu.Unlock()
		w.Target, w.API = t, t.API(w.Log)
		w.stops = append(w.stops, stop)
		return nil
	}
	if p := w.opts.Profile; p != nil {
		for _, a := range p.Apps {
			if a.Webhooks && a.ID != w.Target.AppID {
				w.mu.Lock()
				w.Target = w.Target.App(a)
				w.API = w.Target.API(w.Log)
				w.mu.Unlock()
				w.note("ran on the profile's app %s, whose webhooks go to the receiver", a.ID)
				return nil
			}
		}
	}
	return fmt.Errorf("%w: needs a second app whose webhooks go to the receiver: describe one in the server profile (--profile, an app with \"webhooks\": true)", godog.ErrSkip)
}

// sameJSON reports whether two JSON texts are the same value (key order and spacing aside).
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	return reflect.DeepEqual(x, y)
}
