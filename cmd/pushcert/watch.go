package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/internal/protocol"
)

const watchUsage = `usage: pushcert watch [flags] CHANNEL...

Subscribes to the channels, as a browser would, and prints what arrives, one line an event:
the time, the channel, the event and its data; on presence channels who joins and leaves.
Private and presence channels are authorized by signing with --secret, as the application's auth
endpoint would (--user-id and --user-info for presence). Ctrl-C ends it; so does --for.

  pushcert watch --target ws://127.0.0.1:6001 --app-id 1 --key k --secret s event.42 presence-event.42.seats`

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("watch", pflag.ContinueOnError)
	ta := runningTargetFlags(fs)
	userID := fs.String("user-id", fmt.Sprintf("pushcert-watch-%d", os.Getpid()), "presence: the user id to join as")
	userInfo := fs.String("user-info", "{}", "presence: the user_info JSON to join with")
	asJSON := fs.Bool("json", false, "one JSON object a line: time, channel, event, data (and user_id), for piping")
	duration := fs.Duration("for", 0, "stop after this long (0: until Ctrl-C)")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), watchUsage+"\n\nflags:"); fs.PrintDefaults() }
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "pushcert watch: name at least one CHANNEL\n%s\n", watchUsage)
		return exitUsage
	}
	if !json.Valid([]byte(*userInfo)) {
		fmt.Fprintf(stderr, "pushcert watch: --user-info %q is not JSON\n", *userInfo)
		return exitUsage
	}
	t, code := runningTarget("watch", ta, stderr)
	if code >= 0 {
		return code
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := client.Dial(dctx, t.AppURL(t.Key, "?protocol=7&client=pushcert-watch&version=1"), client.Options{Name: "watch", Header: t.Header, TLS: t.TLS})
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "pushcert watch:", err)
		return exitUnreachable
	}
	defer c.CloseNormally()
	p := watchPrinter{w: stdout, json: *asJSON}
	for _, ch := range fs.Args() {
		data := ""
		if protocol.KindOf(ch) == protocol.Presence {
			data = fmt.Sprintf(`{"user_id":%q,"user_info":%s}`, *userID, *userInfo)
		}
		auth := ""
		if protocol.KindOf(ch).NeedsAuth() {
			auth = protocol.SignChannel(t.Key, t.Secret, c.SocketID, ch, data)
		}
		if err := c.Subscribe(ch, auth, data); err != nil {
			fmt.Fprintln(stderr, "pushcert watch:", err)
			return exitUnreachable
		}
	}
	return p.watch(ctx, c, stderr)
}

// watchPrinter prints what a watched connection receives.
type watchPrinter struct {
	w    io.Writer
	json bool
}

// watch prints every frame until ctx ends (exit 0) or the server closes the connection (1).
func (p watchPrinter) watch(ctx context.Context, c *client.Conn, stderr io.Writer) int {
	for {
		f, err := c.Expect(ctx, func(client.Frame) bool { return true })
		switch {
		case ctx.Err() != nil:
			return exitOK
		case err != nil:
			var ce *client.CloseError
			if errors.As(err, &ce) {
				fmt.Fprintf(stderr, "pushcert watch: the server closed the connection: %v\n", err)
			} else {
				fmt.Fprintln(stderr, "pushcert watch:", err)
			}
			return exitFail
		case f.Msg.Event == protocol.EventPing:
			_ = c.Send(map[string]any{"event": protocol.EventPong, "data": map[string]any{}})
			continue
		}
		p.print(f)
	}
}

func (p watchPrinter) print(f client.Frame) {
	m := f.Msg
	if f.Err != nil { // not a protocol message: shown as it came, with why
		m = protocol.Message{Event: "(not a Pusher message: " + f.Err.Error() + ")", Data: []byte(strconv.Quote(f.Raw))}
	}
	data := string(m.Data)
	if b, err := m.DataBytes(); err == nil {
		data = string(b)
	}
	if p.json {
		b, _ := json.Marshal(struct {
			Time    time.Time `json:"time"`
			Channel string    `json:"channel,omitempty"`
			Event   string    `json:"event"`
			Data    string    `json:"data,omitempty"`
			UserID  string    `json:"user_id,omitempty"`
		}{f.At.UTC(), m.Channel, m.Event, data, m.UserID})
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	what := m.Event
	switch m.Event {
	case protocol.EventSubscriptionSucceeded:
		what = "subscribed"
	case protocol.EventMemberAdded:
		what = "+ member"
	case protocol.EventMemberRemoved:
		what = "- member"
	case protocol.EventSubscriptionCount:
		what = "count"
	}
	if m.UserID != "" {
		what += " (user " + m.UserID + ")"
	}
	fmt.Fprintf(p.w, "%s  %s  %s  %s\n", f.At.Format("15:04:05.000"), orDash(m.Channel), what, strings.TrimSpace(data))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
