package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/protocol"
)

const signUsage = `usage: pushcert sign <what> [flags]

  channel        auth of a private, encrypted or presence subscription (--channel-data for presence)
  user           auth of a user sign-in (--user-data)
  request        signature of an HTTP API request (--method, --path, --body, --query)
  webhook        X-Pusher-Signature of a webhook body (--verify: check a captured one)
  shared-secret  shared_secret of an encrypted channel from the base64 master key

Give --auth (or --signature) to check a value you have: the command prints what was expected,
what was signed, and exits 1 on a mismatch. A body may come from a file (--body-file, "-" for
standard input), byte for byte as it was sent.

  pushcert sign webhook --verify --secret app-secret --body-file body.json --signature 9f2c...`

func runSign(_ context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stdout, signUsage)
		return exitOK
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		fmt.Fprintln(stderr, signUsage)
		return exitUsage
	}
	what := args[0]
	fs := pflag.NewFlagSet("sign "+what, pflag.ContinueOnError)
	key := fs.String("key", envOr("PUSHCERT_APP_KEY", ""), "app key; env PUSHCERT_APP_KEY")
	secret := fs.String("secret", envOr("PUSHCERT_APP_SECRET", ""), "app secret; env PUSHCERT_APP_SECRET")
	socketID := fs.String("socket-id", "", "socket_id of the connection (channel, user)")
	channel := fs.String("channel", "", "channel name (channel, shared-secret)")
	channelData := fs.String("channel-data", "", "presence channel_data JSON, exactly as sent (channel)")
	userData := fs.String("user-data", "", "user_data JSON, exactly as sent (user)")
	method := fs.String("method", "POST", "HTTP method (request)")
	path := fs.String("path", "", "request path, e.g. /apps/1/events (request)")
	body := fs.String("body", "", "request or webhook body (request, webhook)")
	bodyFile := fs.String("body-file", "", "read the body from this file, byte for byte; - reads standard input (request, webhook)")
	verify := fs.Bool("verify", false, "check a captured webhook: --signature against the body, and the body's shape (webhook)")
	query := fs.StringArray("query", nil, "extra query parameter k=v, repeatable (request)")
	timestamp := fs.Int64("timestamp", 0, "auth_timestamp in Unix seconds; default now (request)")
	masterKey := fs.String("master-key", "", "base64 32-byte encryption master key (shared-secret)")
	check := fs.String("auth", "", "a value to check against the expected one (auth, or a signature)")
	fs.StringVar(check, "signature", "", "alias of --auth")
	if code := parseFlags(fs, args[1:], stdout, stderr); code >= 0 {
		return code
	}
	if code := readBodyFile(what, body, *bodyFile, fs.Changed("body"), stderr); code >= 0 {
		return code
	}
	if *verify && (what != "webhook" || *check == "") {
		fmt.Fprintf(stderr, "pushcert sign %s: --verify checks a webhook: pushcert sign webhook --verify --secret S --body-file F --signature SIG\n", what)
		return exitUsage
	}
	need := func(names ...string) bool {
		for _, n := range names {
			if fs.Lookup(n).Value.String() == "" {
				fmt.Fprintf(stderr, "pushcert sign %s: --%s is required\n", what, n)
				return false
			}
		}
		return true
	}
	var signed, want string
	switch what {
	case "channel":
		if !need("key", "secret", "socket-id", "channel") {
			return exitUsage
		}
		signed = protocol.ChannelAuthString(*socketID, *channel, *channelData)
		want = protocol.SignChannel(*key, *secret, *socketID, *channel, *channelData)
	case "user":
		if !need("key", "secret", "socket-id", "user-data") {
			return exitUsage
		}
		signed = protocol.UserAuthString(*socketID, *userData)
		want = protocol.SignUser(*key, *secret, *socketID, *userData)
	case "request":
		if !need("key", "secret", "path") {
			return exitUsage
		}
		extra := url.Values{}
		for _, kv := range *query {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintf(stderr, "pushcert sign request: --query %q is not k=v\n", kv)
				return exitUsage
			}
			extra.Add(k, v)
		}
		now := time.Now()
		if *timestamp != 0 {
			now = time.Unix(*timestamp, 0)
		}
		q := protocol.SignRequest(*key, *secret, *method, *path, []byte(*body), extra, now)
		signed = protocol.StringToSign(*method, *path, q)
		want = q.Get(protocol.ParamSignature)
		if *body != "" {
			fmt.Fprintf(stdout, "body_md5:       %s\n", q.Get(protocol.ParamBodyMD5))
		}
		fmt.Fprintf(stdout, "url:            %s?%s\n", *path, q.Encode())
	case "webhook":
		if !need("secret") {
			return exitUsage
		}
		signed = *body
		want = protocol.WebhookSignature(*secret, []byte(*body))
	case "shared-secret":
		if !need("channel", "master-key") {
			return exitUsage
		}
		mk, err := base64.StdEncoding.DecodeString(*masterKey)
		if err != nil || len(mk) != 32 {
			fmt.Fprintln(stderr, "pushcert sign shared-secret: --master-key must be base64 of 32 bytes")
			return exitUsage
		}
		signed = *channel
		want = protocol.SharedSecret(*channel, mk)
	default:
		fmt.Fprintf(stderr, "pushcert sign: unknown %q\n\n%s\n", what, signUsage)
		return exitUsage
	}
	fmt.Fprintf(stdout, "string to sign: %q\n", signed)
	fmt.Fprintf(stdout, "expected:       %s\n", want)
	code := exitOK
	if *check != "" {
		code = compareSigned(stdout, what, *key, *secret, signed, *check, want)
	}
	if *verify && !describeWebhook(stdout, []byte(*body)) {
		code = exitFail
	}
	return code
}

// compareSigned prints whether the given value is the expected one: exitOK or exitFail.
func compareSigned(stdout io.Writer, what, key, secret, signed, given, want string) int {
	if given == want {
		fmt.Fprintln(stdout, "given:          matches")
		return exitOK
	}
	why := explainMismatch(what, key, given, want)
	if trimmed := strings.TrimRight(signed, "\r\n"); what == "webhook" && trimmed != signed &&
		protocol.WebhookSignature(secret, []byte(trimmed)) == given {
		why = "it signs the body without its final newline: the file has a newline the request did not"
	}
	fmt.Fprintf(stdout, "given:          %s\nMISMATCH: %s\n", given, why)
	return exitFail
}

// describeWebhook prints what a webhook body holds, or why it is not one; false for the latter.
func describeWebhook(stdout io.Writer, body []byte) bool {
	h, err := protocol.ParseWebhook(body)
	if err != nil {
		fmt.Fprintf(stdout, "body:           NOT A WEBHOOK BODY: %v\n", err)
		return false
	}
	fmt.Fprintf(stdout, "body:           time_ms %d (%s), %d event(s)\n", h.TimeMs, time.UnixMilli(h.TimeMs).UTC().Format(time.RFC3339Nano), len(h.Events))
	for _, e := range h.Events {
		fmt.Fprintf(stdout, "  %-17s %s", e.Name, e.Channel)
		if e.UserID != "" {
			fmt.Fprintf(stdout, " user %s", e.UserID)
		}
		if e.Event != "" {
			fmt.Fprintf(stdout, " event %s socket %s", e.Event, e.SocketID)
		}
		fmt.Fprintln(stdout)
	}
	return true
}

// readBodyFile sets body from --body-file, if given: a file, or standard input for "-".
func readBodyFile(what string, body *string, file string, bodyGiven bool, stderr io.Writer) int {
	if file == "" {
		return -1
	}
	if bodyGiven {
		fmt.Fprintf(stderr, "pushcert sign %s: give --body or --body-file, not both\n", what)
		return exitUsage
	}
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pushcert sign %s: --body-file: %v\n", what, err)
		return exitUsage
	}
	*body = string(b)
	return -1
}

// explainMismatch names the usual causes of a refused signature.
func explainMismatch(what, key, given, want string) string {
	if what == "channel" || what == "user" {
		k, _, ok := strings.Cut(given, ":")
		if !ok {
			return "the auth must be \"<key>:<hex signature>\""
		}
		if k != key {
			return fmt.Sprintf("the auth was made with key %q, not %q", k, key)
		}
		return "same key, other signature: another secret, socket_id, channel name, or channel_data that differs byte for byte"
	}
	return "another secret, or other bytes were signed"
}
