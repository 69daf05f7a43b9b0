package steps

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
)

// probeWait bounds each probe's wait for the server's answer.
const probeWait = 2 * time.Second

// Probe asks the target, with one small exchange per capability, which optional features it
// has: what `--supports auto` declares. A capability is found when the exchange works as the
// protocol says; a broken feature is then not declared and its cases are NOT-SUPPORTED, which
// the verdict names, so probing cannot turn a failure into a pass. The HTTP API is always
// declared: the suite publishes through it.
func Probe(ctx context.Context, t *target.Target) []string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := prober{t: t, id: hex.EncodeToString(b)}
	found := []string{"http-api"}
	for _, pr := range []struct {
		cap string
		run func(context.Context) bool
	}{
		{"presence", p.presence}, {"client-events", p.clientEvents}, {"rate-limits", p.rateLimits},
		{"user-auth", p.userAuth}, {"watchlist", p.watchlist}, {"terminate", p.terminate},
		{"cache-channels", p.cache}, {"encrypted", p.encrypted},
	} {
		if pr.run(ctx) {
			found = append(found, pr.cap)
		}
	}
	return found
}

type prober struct {
	t  *target.Target
	id string
}

func (p prober) dial(ctx context.Context) (*client.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return client.Dial(dctx, p.t.AppURL(p.t.Key, "?protocol=7&client=pushcert-probe&version=1"), client.Options{})
}

// await waits for a frame matching event (and channel, when given).
func await(ctx context.Context, c *client.Conn, event, channel string) (client.Frame, bool) {
	wctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	f, err := c.ExpectEvent(wctx, event, channel)
	return f, err == nil
}

func (p prober) subscribed(ctx context.Context, c *client.Conn, channel, channelData string) bool {
	auth := ""
	if protocol.KindOf(channel).NeedsAuth() {
		auth = protocol.SignChannel(p.t.Key, p.t.Secret, c.SocketID, channel, channelData)
	}
	if c.Subscribe(channel, auth, channelData) != nil {
		return false
	}
	_, ok := await(ctx, c, protocol.EventSubscriptionSucceeded, channel)
	return ok
}

func (p prober) presence(ctx context.Context) bool {
	c, err := p.dial(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	return p.subscribed(ctx, c, "presence-probe-"+p.id, fmt.Sprintf(`{"user_id":"probe-%s"}`, p.id))
}

// pair is two connections subscribed to one private channel.
func (p prober) pair(ctx context.Context) (a, b *client.Conn, ch string, ok bool) {
	ch = "private-probe-" + p.id
	a, err := p.dial(ctx)
	if err != nil {
		return nil, nil, "", false
	}
	b, err = p.dial(ctx)
	if err != nil {
		a.Close()
		return nil, nil, "", false
	}
	if !p.subscribed(ctx, a, ch, "") || !p.subscribed(ctx, b, ch, "") {
		a.Close()
		b.Close()
		return nil, nil, "", false
	}
	return a, b, ch, true
}

func (p prober) clientEvents(ctx context.Context) bool {
	a, b, ch, ok := p.pair(ctx)
	if !ok {
		return false
	}
	defer a.Close()
	defer b.Close()
	if a.Trigger(ch, "client-probe", map[string]int{"n": 1}) != nil {
		return false
	}
	_, ok = await(ctx, b, "client-probe", ch)
	return ok
}

func (p prober) rateLimits(ctx context.Context) bool {
	a, b, ch, ok := p.pair(ctx)
	if !ok {
		return false
	}
	defer a.Close()
	defer b.Close()
	for i := 0; i < 11; i++ {
		if a.Trigger(ch, "client-probe", map[string]int{"n": i}) != nil {
			return false
		}
	}
	wctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	_, err := a.Expect(wctx, func(f client.Frame) bool { return f.Msg.Event == protocol.EventError && errorCode(f) == "4301" })
	return err == nil
}

// signIn dials and signs in as user with the given user_data fields.
func (p prober) signIn(ctx context.Context, user string, extra map[string]any) (*client.Conn, bool) {
	c, err := p.dial(ctx)
	if err != nil {
		return nil, false
	}
	ud := map[string]any{"id": user}
	for k, v := range extra {
		ud[k] = v
	}
	b, _ := json.Marshal(ud)
	auth := protocol.SignUser(p.t.Key, p.t.Secret, c.SocketID, string(b))
	if c.Send(map[string]any{"event": protocol.EventSignin, "data": map[string]string{"auth": auth, "user_data": string(b)}}) != nil {
		c.Close()
		return nil, false
	}
	if _, ok := await(ctx, c, protocol.EventSigninSuccess, ""); !ok {
		c.Close()
		return nil, false
	}
	return c, true
}

func (p prober) userAuth(ctx context.Context) bool {
	c, ok := p.signIn(ctx, "probe-"+p.id, nil)
	if ok {
		c.Close()
	}
	return ok
}

func (p prober) watchlist(ctx context.Context) bool {
	c, ok := p.signIn(ctx, "probe-"+p.id, map[string]any{"watchlist": []string{"probe-other-" + p.id}})
	if !ok {
		return false
	}
	defer c.Close()
	_, ok = await(ctx, c, protocol.EventWatchlist, "")
	return ok
}

func (p prober) terminate(ctx context.Context) bool {
	user := "probe-term-" + p.id
	c, ok := p.signIn(ctx, user, nil)
	if !ok {
		return false
	}
	defer c.Close()
	api := &client.API{BaseURL: p.t.APIURL, AppID: p.t.AppID, Key: p.t.Key, Secret: p.t.Secret}
	if r, err := api.Do(ctx, "POST", "/users/"+user+"/terminate_connections", nil, "{}"); err != nil || r.Status != 200 {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, probeWait)
	defer cancel()
	err := c.WaitClosed(wctx)
	return err != nil && wctx.Err() == nil
}

func (p prober) cache(ctx context.Context) bool {
	c, err := p.dial(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	ch := "cache-probe-" + p.id
	if !p.subscribed(ctx, c, ch, "") {
		return false
	}
	_, ok := await(ctx, c, protocol.EventCacheMiss, ch)
	return ok
}

func (p prober) encrypted(ctx context.Context) bool {
	c, err := p.dial(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	return p.subscribed(ctx, c, "private-encrypted-probe-"+p.id, "")
}
