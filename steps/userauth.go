package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/cucumber/godog"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

func userAuthSteps(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]+)" signs in as "([^"]+)"$`, func(ctx context.Context, name, user string) error {
		return signin(ctx, name, user, nil, false)
	})
	sc.Step(`^"([^"]+)" signs in as "([^"]+)" watching ((?:"[^"]+"(?:, | and )?)+)$`, func(ctx context.Context, name, user, list string) error {
		return signin(ctx, name, user, names(list), false)
	})
	sc.Step(`^"([^"]+)" signs in as "([^"]+)" with a forged signature$`, func(ctx context.Context, name, user string) error {
		return signin(ctx, name, user, nil, true)
	})
	sc.Step(`^"([^"]+)" signs in as "([^"]+)" watching (\d+) users$`, func(ctx context.Context, name, user string, n int) error {
		var list []string
		for i := 0; i < n; i++ {
			list = append(list, fmt.Sprintf("w%d", i))
		}
		return signin(ctx, name, user, list, false)
	})
	sc.Step(`^"([^"]+)" is signed in as "([^"]+)" `+within+`$`, func(ctx context.Context, name, user, secs string) error {
		uid := world(ctx).User(user)
		f, err := expectEvent(ctx, name, protocol.EventSigninSuccess, "", secs)
		if err != nil {
			return err
		}
		var d struct {
			UserData string `json:"user_data"`
		}
		var ud struct {
			ID string `json:"id"`
		}
		if f.Msg.DecodeData(&d) != nil || json.Unmarshal([]byte(d.UserData), &ud) != nil || ud.ID != uid {
			return mismatch(fmt.Sprintf("signin_success with user_data of id %q", uid), "%s", f.Raw)
		}
		return nil
	})
	sc.Step(`^the sign-in of "([^"]+)" is refused `+within+`$`, func(ctx context.Context, name, secs string) error {
		return signinRefused(ctx, name, secs)
	})
	sc.Step(`^"([^"]+)" subscribes to the server-to-user channel of "([^"]+)"$`, func(ctx context.Context, name, user string) error {
		return subscribe(ctx, name, protocol.ServerToUserChannel(world(ctx).User(user)), "no auth", "")
	})
	sc.Step(`^"([^"]+)" is subscribed to the server-to-user channel of "([^"]+)" `+within+`$`, func(ctx context.Context, name, user, secs string) error {
		_, err := expectEvent(ctx, name, protocol.EventSubscriptionSucceeded, protocol.ServerToUserChannel(world(ctx).User(user)), secs)
		return err
	})
	sc.Step(`^"([^"]+)" is refused the server-to-user channel of "([^"]+)" `+within+`$`, func(ctx context.Context, name, user, secs string) error {
		return refused(ctx, name, protocol.ServerToUserChannel(world(ctx).User(user)), secs)
	})
	sc.Step(`^the app sends "([^"]+)" to user "([^"]+)" with data "((?:[^"\\]|\\.)*)"$`, sendToUser)
	sc.Step(`^"([^"]+)" receives "([^"]+)" on the server-to-user channel of "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, user, secs string) error {
		_, err := expectEvent(ctx, name, event, protocol.ServerToUserChannel(world(ctx).User(user)), secs)
		return err
	})
	sc.Step(`^"([^"]+)" does not receive "([^"]+)" on the server-to-user channel of "([^"]+)" `+within+`$`, func(ctx context.Context, name, event, user, secs string) error {
		ch := protocol.ServerToUserChannel(world(ctx).User(user))
		return refute(ctx, name, secs, "no "+event+" on "+ch, func(f client.Frame) bool { return f.Msg.Event == event && f.Msg.Channel == ch })
	})
	sc.Step(`^"([^"]+)" sees (.+) (online|offline) `+within+`$`, func(ctx context.Context, name, list, state, secs string) error {
		w := world(ctx)
		var want []string
		for _, u := range names(list) {
			want = append(want, w.User(u))
		}
		return seeWatchlist(ctx, name, state, want, secs)
	})
	sc.Step(`^the app terminates the connections of "([^"]+)"$`, terminateUser)
}

func containsAll(have, want []string) bool {
	for _, x := range want {
		if !slices.Contains(have, x) {
			return false
		}
	}
	return true
}

func signin(ctx context.Context, name, user string, watch []string, forged bool) error {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	ud := map[string]any{"id": w.User(user)}
	if watch != nil {
		var ids []string
		for _, u := range watch {
			ids = append(ids, w.User(u))
		}
		ud["watchlist"] = ids
	}
	b, _ := json.Marshal(ud)
	auth := protocol.SignUser(w.Target.Key, w.Target.Secret, c.SocketID, string(b))
	if forged {
		auth = w.Target.Key + ":" + protocol.HMACHex("not-the-secret", protocol.UserAuthString(c.SocketID, string(b)))
	}
	return c.Send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"auth": auth, "user_data": string(b)}})
}

// signinRefused expects a sign-in to be refused: a pusher:error or a close (4009 is the
// protocol's code for it), and no signin_success then or before.
func signinRefused(ctx context.Context, name, secs string) error {
	isSuccess := func(f client.Frame) bool { return f.Msg.Event == protocol.EventSigninSuccess }
	isError := func(f client.Frame) bool { return f.Msg.Event == protocol.EventError }
	byFrame, err := awaitRefusal(ctx, name, secs, "the sign-in", isError, isSuccess)
	if err != nil || !byFrame {
		return err
	}
	return refute(ctx, name, "1", "no pusher:signin_success after the error", isSuccess)
}

func reconnectSteps(sc *godog.ScenarioContext) {
	sc.Step(`^"([^"]+)" reconnects$`, func(ctx context.Context, name string) error {
		w := world(ctx)
		old, err := w.conn(name)
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.oldSocket[name] = old.SocketID
		w.mu.Unlock()
		_ = old.Close()
		return dial(ctx, name)
	})
	sc.Step(`^"([^"]+)" has a new socket id$`, func(ctx context.Context, name string) error {
		w := world(ctx)
		c, err := w.conn(name)
		if err != nil {
			return err
		}
		w.mu.Lock()
		old := w.oldSocket[name]
		w.mu.Unlock()
		if c.SocketID == old || !protocol.ValidSocketID(c.SocketID) {
			return mismatch("a new socket id after reconnecting (was "+old+")", "%q", c.SocketID)
		}
		return nil
	})
}

// seeWatchlist waits for a watchlist frame naming every wanted user in the wanted state. One frame
// may carry several entries (online and offline at sign-in), so frames are not taken: a cursor
// per client keeps later expectations from matching frames older than the last match.
func seeWatchlist(ctx context.Context, name, state string, want []string, secs string) error {
	w := world(ctx)
	c, err := w.conn(name)
	if err != nil {
		return err
	}
	d := w.wait(seconds(secs))
	deadline := time.Now().Add(d)
	for {
		w.mu.Lock()
		cursor := w.watchCursor[name]
		w.mu.Unlock()
		for _, f := range c.Pending() {
			if f.Msg.Event != protocol.EventWatchlist || f.At.Before(cursor) {
				continue
			}
			var data struct {
				Events []protocol.WatchlistEvent `json:"events"`
			}
			if f.Msg.DecodeData(&data) != nil {
				continue
			}
			for _, e := range data.Events {
				if e.Name == state && containsAll(e.UserIDs, want) {
					w.mu.Lock()
					w.watchCursor[name] = f.At
					w.mu.Unlock()
					w.remember(name, f)
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return mismatch(fmt.Sprintf("%s receives watchlist %s for %v within %v", name, state, want, d), "frames not taken: %s", describePending(c))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sendToUser publishes an event to a user's #server-to-user- channel.
func sendToUser(ctx context.Context, event, user, data string) error {
	w := world(ctx)
	r, err := w.API.Trigger(ctx, client.Event{Name: event, Data: unescape(data), Channels: []string{protocol.ServerToUserChannel(w.User(user))}})
	w.mu.Lock()
	w.resp = &r
	w.mu.Unlock()
	if err != nil {
		return mismatch("the HTTP API accepts an event to #server-to-user-", "%v", err)
	}
	return nil
}

// terminateUser asks the HTTP API to close every connection of a user.
func terminateUser(ctx context.Context, user string) error {
	w := world(ctx)
	r, err := w.API.Do(ctx, "POST", "/users/"+w.User(user)+"/terminate_connections", nil, "{}")
	if err == nil && r.Status != 200 {
		err = fmt.Errorf("HTTP %d %s", r.Status, r.Body)
	}
	if err != nil {
		return mismatch("terminate_connections answers 200", "%v", err)
	}
	return nil
}
