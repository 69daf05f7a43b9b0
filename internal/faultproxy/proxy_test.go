package faultproxy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/faultproxy"
	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// through starts a correct reference server behind fault and returns the proxy's target.
func through(t *testing.T, f faultproxy.Fault) *target.Target {
	t.Helper()
	tg, stop, err := target.StartEmbedded(refserver.Config{}, refserver.App{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	addr, stop, err := faultproxy.Front(tg.APIURL, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg.Via(addr)
}

// With no hooks the proxy is transparent: handshake, subscription, publish, delivery, and the
// server's close code all pass through.
func TestProxyPassesThrough(t *testing.T) {
	tg := through(t, faultproxy.Fault{Name: "none"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, tg.AppURL(tg.Key, "?protocol=7"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe("ch", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectEvent(ctx, protocol.EventSubscriptionSucceeded, "ch"); err != nil {
		t.Fatal(err)
	}
	api := &client.API{BaseURL: tg.APIURL, AppID: tg.AppID, Key: tg.Key, Secret: tg.Secret}
	if _, err := api.Trigger(ctx, client.Event{Name: "e", Data: "x", Channels: []string{"ch"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExpectEvent(ctx, "e", "ch"); err != nil {
		t.Fatal(err)
	}
	_, err = client.Dial(ctx, tg.AppURL("no-such-key", "?protocol=7"), client.Options{})
	var ce *client.CloseError
	if !errors.As(err, &ce) || ce.Code != protocol.CodeAppNotFound {
		t.Fatalf("unknown key through the proxy: %v, want close %d", err, protocol.CodeAppNotFound)
	}
}

// A fault's verdict is applied: errors-in-body turns the server's 401 into a 200 that says 401.
func TestProxyAppliesFault(t *testing.T) {
	tg := through(t, faultproxy.Faults()["errors-in-body"])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	api := &client.API{BaseURL: tg.APIURL, AppID: tg.AppID, Key: tg.Key, Secret: "wrong"}
	r, err := api.Do(ctx, "GET", "/channels", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || !strings.Contains(string(r.Body), `"code":401`) {
		t.Fatalf("got HTTP %d %s, want 200 with code 401 in the body", r.Status, r.Body)
	}
}

func TestEveryFaultIsDocumented(t *testing.T) {
	for name, f := range faultproxy.Faults() {
		if f.Doc == "" || f.Name != name {
			t.Errorf("fault %q: name %q, doc %q", name, f.Name, f.Doc)
		}
		if f.ToClient == nil && f.ToServer == nil && f.Request == nil && f.Response == nil && f.CloseCode == nil {
			t.Errorf("fault %q breaks nothing", name)
		}
	}
}
