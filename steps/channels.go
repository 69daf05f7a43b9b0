package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

func channelSteps(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]+)" subscribes to "([^"]+)"$`, func(ctx context.Context, name, channel string) error {
		w := world(ctx)
		return subscribe(ctx, name, w.Channel(channel), "valid", "")
	})
	sc.Step(`^"([^"]+)" subscribes to "([^"]+)" with (a valid signature|a forged signature|a signature for "[^"]+"|a signature under another key|no auth|an empty auth)$`,
		func(ctx context.Context, name, channel, how string) error {
			return subscribe(ctx, name, world(ctx).Channel(channel), how, "")
		})
	sc.Step(`^"([^"]+)" subscribes to the exact channel "([^"]*)"$`, func(ctx context.Context, name, channel string) error {
		return subscribe(ctx, name, channel, "valid", "")
	})
	sc.Step(`^"([^"]+)" subscribes to a channel named "([^"]*)" and (\d+) more characters$`, func(ctx context.Context, name, prefix string, more int) error {
		return subscribe(ctx, name, longName(world(ctx), prefix, more), "valid", "")
	})
	sc.Step(`^"([^"]+)" is subscribed to "([^"]+)" `+within+`$`, func(ctx context.Context, name, channel, secs string) error {
		_, err := expectEvent(ctx, name, protocol.EventSubscriptionSucceeded, world(ctx).Channel(channel), secs)
		return err
	})
	sc.Step(`^"([^"]+)" is subscribed to the channel named "([^"]*)" and (\d+) more characters `+within+`$`, func(ctx context.Context, name, prefix string, more int, secs string) error {
		_, err := expectEvent(ctx, name, protocol.EventSubscriptionSucceeded, longName(world(ctx), prefix, more), secs)
		return err
	})
	sc.Step(`^"([^"]+)" is refused "([^"]+)" `+within+`$`, func(ctx context.Context, name, channel, secs string) error {
		return refused(ctx, name, world(ctx).Channel(channel), secs)
	})
	sc.Step(`^"([^"]+)" is refused the exact channel "([^"]*)" `+within+`$`, func(ctx context.Context, name, channel, secs string) error {
		return refused(ctx, name, channel, secs)
	})
	sc.Step(`^"([^"]+)" is refused the channel named "([^"]*)" and (\d+) more characters `+within+`$`, func(ctx context.Context, name, prefix string, more int, secs string) error {
		return refused(ctx, name, longName(world(ctx), prefix, more), secs)
	})
	sc.Step(`^"([^"]+)" unsubscribes from "([^"]+)"$`, func(ctx context.Context, name, channel string) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		return c.Unsubscribe(w.Channel(channel))
	})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with data "((?:[^"\\]|\\.)*)"$`, func(ctx context.Context, event, channels, data string) error {
		return appTrigger(ctx, event, channels, data, "")
	})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with data "((?:[^"\\]|\\.)*)" excluding "([^"]+)"$`, func(ctx context.Context, event, channels, data, except string) error {
		return appTrigger(ctx, event, channels, data, except)
	})
	sc.Step(`^the app triggers "([^"]+)" on "([^"]+)" with data:$`, func(ctx context.Context, event, channels string, doc *godog.DocString) error {
		return appTrigger(ctx, event, channels, compact(doc.Content), "")
	})
	sc.Step(`^"([^"]+)" is told that "([^"]+)" has (\d+) subscriptions? `+within+`$`, toldCount)
	sc.Step(`^"([^"]+)" receives "([^"]+)" on "([^"]+)" with data "((?:[^"\\]|\\.)*)" `+within+`$`, func(ctx context.Context, name, event, channel, data, secs string) error {
		w := world(ctx)
		ch := w.Channel(channel)
		f, err := expectEvent(ctx, name, event, ch, secs)
		if err != nil {
			return err
		}
		data = unescape(data)
		got, derr := f.Msg.DataBytes()
		if derr != nil || (string(got) != data && !jsonEqual(got, []byte(data))) {
			return mismatch(fmt.Sprintf("%s on %s with data %q", event, ch, data), "%s", f.Raw)
		}
		return nil
	})
}

// toldCount waits for pusher_internal:subscription_count on channel with the count n; counts
// told before it (another subscriber's arrival) are passed over.
func toldCount(ctx context.Context, name, channel string, n int, secs string) error {
	ch := world(ctx).Channel(channel)
	_, err := expect(ctx, name, secs, fmt.Sprintf("%s on %s with subscription_count %d", protocol.EventSubscriptionCount, ch, n), func(f client.Frame) bool {
		if f.Msg.Event != protocol.EventSubscriptionCount || f.Msg.Channel != ch {
			return false
		}
		var d protocol.SubscriptionCount
		b, err := f.Msg.DataBytes()
		return err == nil && json.Unmarshal(b, &d) == nil && d.Count == n
	})
	return err
}

// subscribe sends pusher:subscribe with the auth a step asks for. Presence channel_data, when
// needed, is the user's.
func subscribe(ctx context.Context, name, channel, how, channelData string) error {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	t := w.Target
	auth := ""
	kind := protocol.KindOf(channel)
	switch {
	case how == "no auth":
	case how == "an empty auth":
		auth = ""
	case how == "a forged signature":
		auth = t.Key + ":" + strings.Repeat("0", 64)
	case how == "a signature under another key":
		auth = "another-key" + protocol.SignChannel(t.Key, t.Secret, c.SocketID, channel, channelData)[len(t.Key):]
	case strings.HasPrefix(how, `a signature for "`):
		other, err := w.conn(strings.TrimSuffix(strings.TrimPrefix(how, `a signature for "`), `"`))
		if err != nil {
			return err
		}
		auth = protocol.SignChannel(t.Key, t.Secret, other.SocketID, channel, channelData)
	case kind.NeedsAuth():
		auth = protocol.SignChannel(t.Key, t.Secret, c.SocketID, channel, channelData)
	}
	w.mu.Lock()
	w.focus = name
	w.mu.Unlock()
	return c.Subscribe(channel, auth, channelData)
}

// refused expects an error frame for the channel (naming it, or naming none) and then no
// subscription_succeeded for a while: a server that warns and subscribes anyway is not refusing.
// A server that closes the connection instead refuses too, more harshly; the close is noted.
func refused(ctx context.Context, name, channel, secs string) error {
	succeeded := func(f client.Frame) bool {
		return f.Msg.Event == protocol.EventSubscriptionSucceeded && f.Msg.Channel == channel
	}
	isError := func(f client.Frame) bool {
		return (f.Msg.Event == protocol.EventError || f.Msg.Event == protocol.EventSubscriptionError) &&
			(f.Msg.Channel == channel || f.Msg.Channel == "")
	}
	byFrame, err := awaitRefusal(ctx, name, secs, "the subscription to "+channel, isError, succeeded)
	if err != nil || !byFrame {
		return err
	}
	return refute(ctx, name, "0.5", "no subscription_succeeded for "+channel+" after the error", succeeded)
}

func longName(w *World, prefix string, more int) string {
	base := prefix + w.suffix
	for len(base) < len(prefix)+more {
		base += "x"
	}
	return base[:len(prefix)+more]
}

func appTrigger(ctx context.Context, event, channels, data, except string) error {
	w := world(ctx)
	data = unescape(data)
	var chans []string
	for _, ch := range strings.Split(channels, ",") {
		chans = append(chans, w.Channel(strings.TrimSpace(ch)))
	}
	ev := client.Event{Name: event, Data: data, Channels: chans}
	if except != "" {
		c, err := w.conn(except)
		if err != nil {
			return err
		}
		ev.SocketID = c.SocketID
	}
	r, err := w.API.Trigger(ctx, ev)
	w.resp = &r
	if err != nil {
		return mismatch("the HTTP API accepts the event with 200", "%v", err)
	}
	return nil
}

func presenceSteps(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]+)" joins "([^"]+)" as "([^"]+)"$`, func(ctx context.Context, name, channel, user string) error {
		return join(ctx, name, channel, user, "")
	})
	sc.Step(`^"([^"]+)" joins "([^"]+)" as "([^"]+)" with info (\{.*\})$`, func(ctx context.Context, name, channel, user, info string) error {
		return join(ctx, name, channel, user, info)
	})
	sc.Step(`^"([^"]+)" joins "([^"]+)" as "([^"]+)" with (\d+) bytes of info$`, func(ctx context.Context, name, channel, user string, n int) error {
		return join(ctx, name, channel, user, fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", n-10)))
	})
	sc.Step(`^"([^"]+)" joins "([^"]+)" with the exact channel_data (\{.*\})$`, func(ctx context.Context, name, channel, cd string) error {
		return subscribe(ctx, name, world(ctx).Channel(channel), "valid", cd)
	})
	sc.Step(`^"([^"]+)" joins "([^"]+)" without channel_data$`, func(ctx context.Context, name, channel string) error {
		return subscribe(ctx, name, world(ctx).Channel(channel), "valid", "")
	})
	sc.Step(`^its member list is (.+)$`, func(ctx context.Context, list string) error {
		w := world(ctx)
		f, _, err := w.lastFrame()
		if err != nil {
			return err
		}
		var want []string
		for _, u := range names(list) {
			want = append(want, w.User(u))
		}
		sort.Strings(want)
		var d struct {
			Presence protocol.PresenceData `json:"presence"`
		}
		if err := f.Msg.DecodeData(&d); err != nil {
			return mismatch("presence data {ids, hash, count}", "%s", f.Raw)
		}
		got := memberIDs(d.Presence)
		if !slices.Equal(got, want) || d.Presence.Count != len(want) {
			return mismatch(fmt.Sprintf("members (ids, count) %v", want), "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^its member hash has an entry for each of (.+)$`, func(ctx context.Context, list string) error {
		w := world(ctx)
		f, _, err := w.lastFrame()
		if err != nil {
			return err
		}
		var d struct {
			Presence protocol.PresenceData `json:"presence"`
		}
		if err := f.Msg.DecodeData(&d); err != nil {
			return mismatch("presence data {ids, hash, count}", "%s", f.Raw)
		}
		var missing []string
		for _, u := range names(list) {
			if _, ok := d.Presence.Hash[w.User(u)]; !ok {
				missing = append(missing, w.User(u))
			}
		}
		if len(missing) > 0 {
			return mismatch("presence.hash keyed by every member's user_id (pusher-js builds members from it)", "no hash entry for %v in %s", missing, f.Raw)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" sees "([^"]+)" (join|leave) "([^"]+)" `+within+`$`, func(ctx context.Context, name, user, what, channel, secs string) error {
		w := world(ctx)
		event := memberEvent(what)
		uid, ch := w.User(user), w.Channel(channel)
		_, err := expect(ctx, name, secs, fmt.Sprintf("%s for %s on %s", event, uid, ch), func(f client.Frame) bool {
			return f.Msg.Event == event && f.Msg.Channel == ch && memberID(f) == uid
		})
		return err
	})
	sc.Step(`^"([^"]+)" does not see "([^"]+)" (join|leave) "([^"]+)" `+within+`$`, func(ctx context.Context, name, user, what, channel, secs string) error {
		w := world(ctx)
		event := memberEvent(what)
		uid, ch := w.User(user), w.Channel(channel)
		return refute(ctx, name, secs, fmt.Sprintf("no %s for %s", event, uid), func(f client.Frame) bool {
			return f.Msg.Event == event && f.Msg.Channel == ch && memberID(f) == uid
		})
	})
	sc.Step(`^its user info is (\{.*\})$`, func(ctx context.Context, info string) error {
		f, _, err := world(ctx).lastFrame()
		if err != nil {
			return err
		}
		var d struct {
			UserInfo jsonRaw `json:"user_info"`
		}
		if err := f.Msg.DecodeData(&d); err != nil || !jsonEqual(d.UserInfo, []byte(info)) {
			return mismatch("user_info "+info, "%s", f.Raw)
		}
		return nil
	})
}

type jsonRaw = json.RawMessage

// memberIDs is the member set a subscription_succeeded names, sorted: its ids, or the keys of
// its hash when it has no ids (pusher-js reads only hash and count). Whether the hash also
// holds every member is a case of its own.
func memberIDs(p protocol.PresenceData) []string {
	got := append([]string(nil), p.IDs...)
	if p.IDs == nil {
		for k := range p.Hash {
			got = append(got, k)
		}
	}
	sort.Strings(got)
	return got
}

func memberEvent(what string) string {
	if what == "join" {
		return protocol.EventMemberAdded
	}
	return protocol.EventMemberRemoved
}

func memberID(f client.Frame) string {
	var d struct {
		UserID any `json:"user_id"`
	}
	if f.Msg.DecodeData(&d) != nil {
		return ""
	}
	return fmt.Sprint(d.UserID)
}

func join(ctx context.Context, name, channel, user, info string) error {
	w := world(ctx)
	cd := fmt.Sprintf(`{"user_id":%q}`, w.User(user))
	if info != "" {
		cd = fmt.Sprintf(`{"user_id":%q,"user_info":%s}`, w.User(user), info)
	}
	return subscribe(ctx, name, w.Channel(channel), "valid", cd)
}

// unescape reads a quoted step argument: Gherkin keeps \" as two characters.
func unescape(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }

func burstSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the app publishes (\d+) numbered events to "([^"]+)"$`, publishNumbered)
	sc.Step(`^"([^"]+)" receives the (\d+) batch events on "([^"]+)" in order `+within+`$`, func(ctx context.Context, name string, n int, channel, secs string) error {
		return takeN(ctx, name, n, channel, secs, func(f client.Frame) bool { return strings.HasPrefix(f.Msg.Event, "batch-") },
			func(i int, f client.Frame) error {
				if want := fmt.Sprintf("batch-%d", i); f.Msg.Event != want {
					return mismatch(want+" next", "%s (a loss or a reordering)", f.Msg.Event)
				}
				return nil
			})
	})
	sc.Step(`^"([^"]+)" receives the (\d+) numbered events on "([^"]+)" in order `+within+`$`, func(ctx context.Context, name string, n int, channel, secs string) error {
		return takeN(ctx, name, n, channel, secs, func(f client.Frame) bool { return f.Msg.Event == "numbered" },
			func(i int, f client.Frame) error {
				if got, _ := f.Msg.DataBytes(); string(got) != fmt.Sprint(i) {
					return mismatch(fmt.Sprintf("event %d next", i), "event %s (a loss or a reordering)", got)
				}
				return nil
			})
	})
}

// takeN takes the next n frames of a client on a channel that match, in arrival order, and
// checks frame i with check (nil checks nothing).
func takeN(ctx context.Context, name string, n int, channel, secs string, match func(client.Frame) bool, check func(int, client.Frame) error) error {
	w := world(ctx)
	ch := w.Channel(channel)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, w.wait(seconds(secs)))
	defer cancel()
	for i := 0; i < n; i++ {
		f, err := c.Expect(wctx, func(f client.Frame) bool { return f.Msg.Channel == ch && match(f) })
		if err != nil {
			return mismatch(fmt.Sprintf("%d events on %s", n, ch), "%d arrived; not taken: %s", i, describePending(c))
		}
		if check != nil {
			if err := check(i, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// publishNumbered publishes n events numbered 0 to n-1 to channel, one after the other.
func publishNumbered(ctx context.Context, n int, channel string) error {
	w := world(ctx)
	ch := w.Channel(channel)
	// One POST /events after another, each answered before the next is sent: the order is
	// the publisher's, and only the standard endpoint is needed (batch_events has API-011).
	// The first request goes into the wire log; the others would only repeat it.
	quiet := *w.API
	quiet.Log = nil
	for i := 0; i < n; i++ {
		api := &quiet
		if i == 0 {
			api = w.API
		}
		if _, err := api.Trigger(ctx, client.Event{Name: "numbered", Data: fmt.Sprint(i), Channels: []string{ch}}); err != nil {
			return mismatch(fmt.Sprintf("the HTTP API accepts event %d of %d", i, n), "%v", err)
		}
	}
	w.Log.Add("http", client.Out, fmt.Sprintf("(%d more POST /events like the first, numbered 1 to %d, each answered 200)", n-1, n-1))
	return nil
}
