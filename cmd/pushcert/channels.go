package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/client"
)

const channelsUsage = `usage: pushcert channels [flags] [CHANNEL]

Asks the server's HTTP API which channels are occupied (GET /apps/ID/channels), or about one
channel (GET /apps/ID/channels/CHANNEL), or with --users who is on a presence channel
(GET /apps/ID/channels/CHANNEL/users). --json prints the server's answer as it came.

  pushcert channels --target ws://127.0.0.1:6001 --app-id 1 --key k --secret s --prefix presence- --info user_count
  pushcert channels --target ws://127.0.0.1:6001 --app-id 1 --key k --secret s presence-event.42.seats --users`

func runChannels(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("channels", pflag.ContinueOnError)
	ta := runningTargetFlags(fs)
	prefix := fs.String("prefix", "", "only channels whose name starts so (filter_by_prefix), e.g. presence-")
	info := fs.String("info", "", "attributes to ask for: user_count (presence), subscription_count, cache")
	users := fs.Bool("users", false, "list the users of the presence CHANNEL")
	asJSON := fs.Bool("json", false, "print the server's JSON answer as it came")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), channelsUsage+"\n\nflags:"); fs.PrintDefaults() }
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	var path string
	q := url.Values{}
	switch {
	case fs.NArg() > 1:
		fmt.Fprintf(stderr, "pushcert channels: want at most one CHANNEL, got %d\n", fs.NArg())
		return exitUsage
	case *users && fs.NArg() == 0:
		fmt.Fprintln(stderr, "pushcert channels: --users needs the presence CHANNEL: pushcert channels presence-room --users")
		return exitUsage
	case *users:
		path = "/channels/" + url.PathEscape(fs.Arg(0)) + "/users"
	case fs.NArg() == 1:
		path = "/channels/" + url.PathEscape(fs.Arg(0))
	default:
		path = "/channels"
		if *prefix != "" {
			q.Set("filter_by_prefix", *prefix)
		}
	}
	if *info != "" && !*users {
		q.Set("info", *info)
	}
	t, code := runningTarget("channels", ta, stderr)
	if code >= 0 {
		return code
	}
	resp, err := t.API(nil).Do(ctx, "GET", path, q, nil)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert channels:", err)
		return exitUnreachable
	}
	if resp.Status != 200 {
		fmt.Fprintf(stderr, "pushcert channels: the server answered %d %s\n", resp.Status, bytes.TrimSpace(resp.Body))
		return exitFail
	}
	if *asJSON {
		fmt.Fprintf(stdout, "%s\n", bytes.TrimSpace(resp.Body))
		return exitOK
	}
	if err := printChannels(stdout, resp, *users, fs.NArg() == 1); err != nil {
		fmt.Fprintf(stderr, "pushcert channels: the answer is not what the HTTP API documents: %v: %s\n", err, bytes.TrimSpace(resp.Body))
		return exitFail
	}
	return exitOK
}

// printChannels formats an answer: a table of channels, one channel's attributes, or its users.
func printChannels(w io.Writer, resp client.Response, users, one bool) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	switch {
	case users:
		var a struct {
			Users []struct {
				ID json.RawMessage `json:"id"`
			} `json:"users"`
		}
		if err := resp.JSON(&a); err != nil {
			return err
		}
		for _, u := range a.Users {
			fmt.Fprintln(tw, strings.Trim(string(u.ID), `"`))
		}
		fmt.Fprintf(tw, "%d user(s)\n", len(a.Users))
	case one:
		var a map[string]json.RawMessage
		if err := resp.JSON(&a); err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(a)) {
			fmt.Fprintf(tw, "%s\t%s\n", k, a[k])
		}
	default:
		var a struct {
			Channels map[string]map[string]json.RawMessage `json:"channels"`
		}
		if err := resp.JSON(&a); err != nil {
			return err
		}
		cols := map[string]bool{}
		for _, attrs := range a.Channels {
			for k := range attrs {
				cols[k] = true
			}
		}
		names, keys := slices.Sorted(maps.Keys(a.Channels)), slices.Sorted(maps.Keys(cols))
		fmt.Fprintln(tw, strings.Join(append([]string{"CHANNEL"}, upper(keys)...), "\t"))
		for _, n := range names {
			row := []string{n}
			for _, k := range keys {
				v := "-"
				if raw, ok := a.Channels[n][k]; ok {
					v = string(raw)
				}
				row = append(row, v)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		fmt.Fprintf(tw, "%d channel(s)\n", len(names))
	}
	return nil
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToUpper(s)
	}
	return out
}
