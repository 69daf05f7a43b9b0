package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// establish dials, waits for the handshake and subscribes to the client's channels, recording
// the connect and subscribe latencies.
func (c *lclient) establish(ctx context.Context) (err error) {
	r := c.r
	defer func() {
		if err != nil { // the subscriptions made before the failure ended with the connection
			c.mu.Lock()
			c.unhook(time.Now())
			c.mu.Unlock()
		}
	}()
	src := r.cfg.Sources[c.idx%len(r.cfg.Sources)]
	start := time.Now()
	c.setupBy = start.Add(setupTimeout)
	c.enter(stateDialing)
	w, err := dialWire(ctx, r.nodes[c.node].AppURL(r.cfg.Target.Key, "?protocol=7&client=pushcert-load&version=1"), src, r.dialing)
	if err != nil {
		r.rec.Error("dial")
		return err
	}
	c.enter(stateHandshaking)
	// The handshake and the subscriptions read with a deadline; the run ending closes the socket
	// at once instead.
	// The socket itself, not w's field: unhook clears that while this may still run.
	tcp := w.tcp
	stopClose := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stopClose()
	c.mu.Lock()
	c.w = w
	c.mu.Unlock()
	frame, err := c.readMessage()
	if err != nil || !bytes.Contains(frame, []byte(protocol.EventConnectionEstablished)) {
		r.rec.Error("handshake")
		w.abort()
		return fmt.Errorf("handshake: %v %s", err, frame)
	}
	m, _ := protocol.DecodeMessage(frame)
	var est protocol.ConnectionEstablished
	if err := m.DecodeData(&est); err != nil {
		r.rec.Error("handshake")
		w.abort()
		return err
	}
	r.rec.Record(MetricConnect, time.Since(start), c.idx)
	c.mu.Lock()
	c.socketID = est.SocketID
	clear(c.members) // the member list starts again from subscription_succeeded
	c.mu.Unlock()

	for _, ch := range r.channelsOf(c) {
		start := time.Now()
		auth, data := "", ""
		if protocol.KindOf(ch).NeedsAuth() {
			if auth, data, err = c.authorize(ctx, ch); err != nil {
				w.abort()
				return err
			}
		}
		sub := map[string]string{"channel": ch}
		if auth != "" {
			sub["auth"] = auth
		}
		if data != "" {
			sub["channel_data"] = data
		}
		b, _ := json.Marshal(map[string]any{"event": protocol.EventSubscribe, "data": sub})
		c.hook(ch, start) // before the request: the server's webhook may come before its answer
		if err := w.writeText(b); err != nil {
			r.rec.Error("subscribe")
			r.hooks.unsure(ch, c.userID)
			w.abort()
			return err
		}
		if err := c.awaitSubscribed(ch); err != nil {
			kind := "subscribe"
			if rf, ok := err.(*refusal); ok {
				kind = "subscribe-" + rf.code // e.g. subscribe-4100: a full presence channel
				c.unhookRefused(ch)
			} else {
				r.hooks.unsure(ch, c.userID) // the server may or may not have subscribed it
			}
			r.rec.Error(kind)
			w.abort()
			return err
		}
		r.rec.Record(MetricSubscribe, time.Since(start), c.idx)
	}
	return nil
}

// readMessage reads the next message before the connection goes to the poller, by the time the
// whole setup must be done. The goroutine setting the connection up is its wire's only reader
// and writer until attach.
func (c *lclient) readMessage() ([]byte, error) {
	return c.w.readMessage(c.setupBy, c.w.write)
}

// awaitSubscribed reads until subscription_succeeded for ch. Member events of a channel
// subscribed before are applied; other frames that come first are not counted (a reconnecting
// client is not owed them: it is still away).
func (c *lclient) awaitSubscribed(ch string) error {
	for {
		frame, err := c.readMessage()
		if err != nil {
			return err
		}
		if name := eventName(frame); c.members != nil && (bytes.Equal(name, evMemberAdded) || bytes.Equal(name, evMemberRemoved)) {
			c.mu.Lock()
			c.memberEvent(frame, name)
			c.mu.Unlock()
			continue
		}
		m, err := protocol.DecodeMessage(frame)
		if err != nil {
			continue
		}
		switch {
		case m.Event == protocol.EventSubscriptionSucceeded && m.Channel == ch:
			if c.members != nil && protocol.KindOf(ch) == protocol.Presence {
				var d struct {
					Presence protocol.PresenceData `json:"presence"`
				}
				if err := m.DecodeData(&d); err == nil {
					c.mu.Lock()
					for _, id := range d.Presence.IDs {
						c.members[id] = true
					}
					c.mu.Unlock()
				}
			}
			return nil
		case m.Event == protocol.EventError:
			var d protocol.ErrorData
			code := "null"
			if m.DecodeData(&d) == nil && d.Code != nil {
				code = fmt.Sprint(*d.Code)
			}
			return &refusal{code: code, text: string(frame)}
		}
	}
}

// authorize asks the application's auth endpoint, as Echo does: the seed application's with the
// client's token, or the one given with its headers.
func (c *lclient) authorize(ctx context.Context, ch string) (string, string, error) {
	r := c.r
	form := url.Values{"socket_id": {c.socketID}, "channel_name": {ch}}
	endpoint := r.authURL + "/broadcasting/auth"
	if r.cfg.AuthEndpoint != "" {
		endpoint = r.cfg.AuthEndpoint
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if r.cfg.AuthEndpoint == "" {
		req.Header.Set("Authorization", c.token.Header())
	}
	client := strconv.Itoa(c.idx)
	for k, vs := range r.cfg.AuthHeader {
		for _, v := range vs {
			req.Header.Add(k, strings.ReplaceAll(v, "{client}", client))
		}
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.rec.Error("auth")
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.rec.Error(fmt.Sprintf("auth-%d", resp.StatusCode))
		return "", "", fmt.Errorf("auth %s: %d %s", ch, resp.StatusCode, body)
	}
	var a struct {
		Auth        string `json:"auth"`
		ChannelData string `json:"channel_data"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", "", err
	}
	if a.ChannelData != "" { // the presence user the application made the client
		if pm, err := protocol.ParseChannelData(a.ChannelData); err == nil {
			c.userID = pm.UserID
		}
	}
	return a.Auth, a.ChannelData, nil
}

// refusal is a pusher:error answering a subscription.
type refusal struct{ code, text string }

func (e *refusal) Error() string { return "subscription refused: " + e.text }
