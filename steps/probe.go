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
	"github.com/pushcert/pushcert/internal/webhook"
)

// probeWait bounds each probe's wait for the server's answer.
const probeWait = 2 * time.Second

// ProbeResult is what one probe of `--supports auto` found.
type ProbeResult struct {
	Capability string
	Found      bool
	Why        string
}

// Probe asks the target, with one small exchange per capability, which optional features it
// has: what `--supports auto` declares. A capability is found when the exchange works as the
// protocol says. A feature that is there but broken cannot be told from one that is absent,
// so a probe can leave undeclared what a vendor would declare: the verdict then names what was
// not run, and the run's output lists every probe, to pin or correct. Rate limits are declared
// with client events (the 10 a second limit is part of them, §3), never probed apart, so a
// server without a limit fails RATE-001 instead of escaping it. The HTTP API is always
// declared: the suite publishes through it. Webhooks are probed only with the suite's
// receiver (rcv): a channel_occupied for a channel the probe subscribed to.
func Probe(ctx context.Context, t *target.Target, rcv *webhook.Receiver) []ProbeResult {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := prober{t: t, id: hex.EncodeToString(b)}
	out := []ProbeResult{{Capability: "http-api", Found: true, Why: "always: the suite publishes through it"}}
	if n := t.NodeCount(); n > 1 {
		out = append(out, ProbeResult{Capability: "cluster", Found: true, Why: fmt.Sprintf("declared by the %d nodes given with --target", n)})
	} else {
		out = append(out, ProbeResult{Capability: "cluster", Why: "not probed: one node; give --target and --api-url once per node of a cluster"})
	}
	for _, pr := range []struct {
		cap, works string
		run        func(context.Context) bool
	}{
		{"presence", "a signed presence subscription succeeded", p.presence},
		{"client-events", "a client event reached the other subscriber", p.clientEvents},
		{"user-auth", "a signed pusher:signin got signin_success", p.userAuth},
		{"watchlist", "a sign-in with a watchlist got watchlist events", p.watchlist},
		{"terminate", "terminate_connections closed a signed-in connection", p.terminate},
		{"cache-channels", "a cache channel answered pusher:cache_miss", p.cache},
		{"encrypted", "a signed private-encrypted- subscription succeeded", p.encrypted},
		{"subscription-count", "a public subscriber was told its pusher_internal:subscription_count", p.subscriptionCount},
	} {
		r := ProbeResult{Capability: pr.cap, Found: pr.run(ctx), Why: pr.works}
		if !r.Found {
			r.Why = "not found: " + pr.works + " did not happen within " + probeWait.String()
		}
		out = append(out, r)
		if pr.cap == "client-events" && r.Found {
			out = append(out, ProbeResult{Capability: "rate-limits", Found: true, Why: "with client-events: their limit is part of them"})
		}
	}
	if rcv == nil {
		return append(out, ProbeResult{Capability: "webhooks", Why: "not probed: give --webhook-listen and point the server's webhooks at it"})
	}
	r := ProbeResult{Capability: "webhooks", Found: p.webhooks(ctx, rcv), Why: "the receiver got channel_occupied for the probe's channel"}
	if !r.Found {
		r.Why = "not found: no channel_occupied for the probe's channel reached the receiver within " + hookProbeWait.String()
	}
	return append(out, r)
}

// hookProbeWait bounds the wait for the probe's webhook, which a server may batch.
const hookProbeWait = 5 * time.Second

type prober struct {
	t  *target.Target
	id string
}

func (p prober) dial(ctx context.Context) (*client.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return client.Dial(dctx, p.t.AppURL(p.t.Key, "?protocol=7&client=pushcert-probe&version=1"), p.t.Options(client.Options{}))
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
	api := p.t.API(nil)
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

func (p prober) subscriptionCount(ctx context.Context) bool {
	c, err := p.dial(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	ch := "probe-count-" + p.id
	if !p.subscribed(ctx, c, ch, "") {
		return false
	}
	_, ok := await(ctx, c, protocol.EventSubscriptionCount, ch)
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

func (p prober) webhooks(ctx context.Context, rcv *webhook.Receiver) bool {
	c, err := p.dial(ctx)
	if err != nil {
		return false
	}
	defer c.Close()
	ch := "hook-probe-" + p.id
	if !p.subscribed(ctx, c, ch, "") {
		return false
	}
	wctx, cancel := context.WithTimeout(ctx, hookProbeWait)
	defer cancel()
	return rcv.Wait(wctx, func(reqs []webhook.Request) bool {
		return len(webhook.Events(reqs, func(e protocol.WebhookEvent) bool {
			return e.Name == protocol.HookChannelOccupied && e.Channel == ch
		})) > 0
	})
}
