package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

// appPath matches a WebSocket URL pasted whole: its path ends in /app/KEY.
var appPath = regexp.MustCompile(`^(.*)/app/([^/]+)/?$`)

// Normalize takes apart a --target pasted as a client would dial it
// (wss://host/app/KEY?protocol=7): the key moves to Key (or must equal it), the query is
// dropped, http(s) becomes ws(s). It returns a line saying what it changed, for the user to
// read, or "".
func (t *Target) Normalize() (string, error) {
	if t.WebSocketURL == "" {
		return "", nil
	}
	u, err := url.Parse(t.WebSocketURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("--target %q is not a URL like ws://127.0.0.1:6001", t.WebSocketURL)
	}
	var notes []string
	switch u.Scheme {
	case "http", "https":
		u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		notes = append(notes, "the scheme is "+u.Scheme)
	case "ws", "wss":
	default:
		return "", fmt.Errorf("--target %q must be a ws:// or wss:// URL", t.WebSocketURL)
	}
	if m := appPath.FindStringSubmatch(u.Path); m != nil {
		switch {
		case t.Key == "":
			t.Key = m[2]
			notes = append(notes, "the app key "+m[2]+" is taken from its path")
		case t.Key != m[2]:
			return "", fmt.Errorf("--target %q names the app key %q but --key is %q: give the base URL (%s://%s%s) and one key",
				t.WebSocketURL, m[2], t.Key, u.Scheme, u.Host, m[1])
		default:
			notes = append(notes, "the /app/KEY path is dropped (the suite adds it)")
		}
		u.Path = m[1]
	}
	if u.RawQuery != "" {
		notes = append(notes, "the query ?"+u.RawQuery+" is dropped (the suite sets protocol=7 itself)")
		u.RawQuery = ""
	}
	u.Fragment = ""
	if len(notes) == 0 {
		return "", nil
	}
	was := t.WebSocketURL
	t.WebSocketURL = strings.TrimSuffix(u.String(), "/")
	return fmt.Sprintf("--target %s taken as %s: %s", was, t.WebSocketURL, strings.Join(notes, "; ")), nil
}

// ConfigError is a preflight finding that the run's settings, not the server, are wrong: a key
// the server does not know, a secret it does not accept, an app id it has not.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// Preflight checks, before a suite runs 100 cases against a target, that the target answers
// a WebSocket upgrade, knows the app key (4001 means it does not), and accepts the secret and
// app id on the HTTP API (a signed publish to a channel nobody is on). A wrong credential is a
// *ConfigError, an unreachable endpoint any other error; a server that misbehaves otherwise
// passes the preflight, for the suite to judge.
func Preflight(ctx context.Context, t *Target) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := preflightKey(ctx, t); err != nil {
		return err
	}
	return preflightSecret(ctx, t)
}

func preflightKey(ctx context.Context, t *Target) error {
	u := t.AppURL(t.Key, "?protocol=7&client=pushcert-preflight&version=1")
	c, err := client.DialRaw(ctx, u, t.Options(client.Options{}))
	if err != nil {
		return fmt.Errorf("no WebSocket upgrade at %s: %w", u, err)
	}
	defer c.Close()
	f, err := c.Expect(ctx, func(f client.Frame) bool {
		return f.Msg.Event == protocol.EventConnectionEstablished || f.Msg.Event == protocol.EventError
	})
	code := 0
	var ce *client.CloseError
	switch {
	case err == nil && f.Msg.Event == protocol.EventConnectionEstablished:
		return nil
	case err == nil:
		var d struct {
			Code int `json:"code"`
		}
		_ = f.Msg.DecodeData(&d)
		code = d.Code
	case errors.As(err, &ce):
		code = ce.Code
	case ctx.Err() != nil:
		return fmt.Errorf("%s upgraded but sent no pusher:connection_established within 10s", u)
	}
	switch code {
	case protocol.CodeAppNotFound:
		return &ConfigError{Msg: fmt.Sprintf("the target does not know the app key %q (error 4001, application does not exist): check --key", t.Key)}
	case protocol.CodeAppDisabled:
		return &ConfigError{Msg: fmt.Sprintf("the app of key %q is disabled on the target (error 4003)", t.Key)}
	}
	return nil // another refusal is the server's to explain: the cases will show it
}

func preflightSecret(ctx context.Context, t *Target) error {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	api := t.API(nil)
	r, err := api.Do(ctx, "POST", "/events", nil, client.Event{Name: "pushcert-preflight", Data: "{}", Channels: []string{"pushcert-preflight-" + hex.EncodeToString(b)}})
	if err != nil {
		return fmt.Errorf("the HTTP API at %s: %w", t.APIURL, err)
	}
	switch r.Status {
	case 401:
		return &ConfigError{Msg: fmt.Sprintf("the HTTP API refused a publish signed with --key %q and --secret (HTTP 401 %s): check --secret",
			t.Key, strings.TrimSpace(string(r.Body)))}
	case 403:
		return &ConfigError{Msg: fmt.Sprintf("the HTTP API answered 403 to a signed publish (%s): the app is disabled or over its quota, or the signature was refused (check --secret)",
			strings.TrimSpace(string(r.Body)))}
	case 404:
		return &ConfigError{Msg: fmt.Sprintf("the HTTP API answered 404 to POST /apps/%s/events: check --app-id and --api-url", t.AppID)}
	}
	if r.Status >= 500 { // every case would fail on it: the server is not working
		return fmt.Errorf("the HTTP API at %s answered %d to a signed publish (%s): it is not working", t.APIURL, r.Status, strings.TrimSpace(string(r.Body)))
	}
	return nil
}
