package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/client"
)

const triggerUsage = `usage: pushcert trigger [flags] CHANNEL[,CHANNEL...] EVENT [DATA]
       pushcert trigger [flags] --batch FILE

Publishes an event through the server's HTTP API, signed as an application backend does
(POST /apps/ID/events). DATA is sent as given (JSON or any text; default {}; - reads standard
input). --batch sends POST /apps/ID/batch_events with one event per line of FILE (- for standard
input): {"channel": "...", "name": "...", "data": "..."}. Prints the server's answer; exit 1 when
it is not 2xx.

  pushcert trigger --target ws://127.0.0.1:6001 --app-id 1 --key k --secret s event.42 seat.changed '{"seats":["A1"]}'`

func runTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("trigger", pflag.ContinueOnError)
	ta := runningTargetFlags(fs)
	socketID := fs.String("socket-id", "", "leave out this connection, as the sender's own (toOthers)")
	info := fs.String("info", "", "channel attributes to return, e.g. user_count,subscription_count")
	batch := fs.String("batch", "", "send the events of this file, one JSON object a line (- for standard input), as one batch")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), triggerUsage+"\n\nflags:"); fs.PrintDefaults() }
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	var path string
	var body any
	switch n := fs.NArg(); {
	case *batch != "" && n == 0:
		evs, err := readBatch(*batch)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert trigger: --batch:", err)
			return exitUsage
		}
		path, body = "/batch_events", map[string]any{"batch": evs}
	case *batch == "" && (n == 2 || n == 3):
		data := "{}"
		if n == 3 {
			data = fs.Arg(2)
		}
		if data == "-" {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				fmt.Fprintln(stderr, "pushcert trigger: reading DATA from standard input:", err)
				return exitUsage
			}
			data = string(bytes.TrimSuffix(b, []byte("\n")))
		}
		ev := client.Event{Name: fs.Arg(1), Channels: strings.Split(fs.Arg(0), ","), Data: data, SocketID: *socketID, Info: *info}
		path, body = "/events", ev
	default:
		fmt.Fprintf(stderr, "pushcert trigger: want CHANNEL EVENT [DATA], or --batch FILE alone; got %d argument(s)\n%s\n", n, triggerUsage)
		return exitUsage
	}
	t, code := runningTarget("trigger", ta, stderr)
	if code >= 0 {
		return code
	}
	resp, err := t.API(nil).Do(ctx, "POST", path, nil, body)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert trigger:", err)
		return exitUnreachable
	}
	fmt.Fprintf(stdout, "%d %s\n", resp.Status, bytes.TrimSpace(resp.Body))
	if resp.Status/100 != 2 {
		return exitFail
	}
	return exitOK
}

// readBatch reads one event a line.
func readBatch(name string) ([]client.Event, error) {
	r := io.Reader(os.Stdin)
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var evs []client.Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev client.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("%s holds no event", name)
	}
	return evs, nil
}
