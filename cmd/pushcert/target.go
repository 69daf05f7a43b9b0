package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// targetFlags adds the flags that name a server under test, shared by check and load.
func targetFlags(fs *pflag.FlagSet) *target.Target {
	t := &target.Target{}
	fs.StringVar(&t.WebSocketURL, "target", os.Getenv("PUSHCERT_TARGET"), "WebSocket base URL of the server, e.g. ws://127.0.0.1:6001; none runs the embedded reference server; env PUSHCERT_TARGET")
	fs.StringVar(&t.APIURL, "api-url", os.Getenv("PUSHCERT_API_URL"), "HTTP API base URL, e.g. http://127.0.0.1:6001; env PUSHCERT_API_URL")
	fs.StringVar(&t.AppID, "app-id", os.Getenv("PUSHCERT_APP_ID"), "app id on the target; env PUSHCERT_APP_ID")
	fs.StringVar(&t.Key, "key", os.Getenv("PUSHCERT_KEY"), "app key; env PUSHCERT_KEY")
	fs.StringVar(&t.Secret, "secret", os.Getenv("PUSHCERT_SECRET"), "app secret; env PUSHCERT_SECRET")
	return t
}

// resolveTarget starts the embedded reference server (with app's settings) when no --target was
// given, or checks the given target and that it answers. It returns the target, a function to
// call at the end, and -1, or an exit code after printing why.
func resolveTarget(ctx context.Context, cmd string, t *target.Target, app refserver.App, stderr io.Writer) (*target.Target, func(), int) {
	if t.WebSocketURL == "" {
		if t.APIURL != "" || t.AppID != "" || t.Key != "" || t.Secret != "" {
			fmt.Fprintf(stderr, "pushcert %s: --api-url, --app-id, --key and --secret need --target\n", cmd)
			return nil, nil, exitUsage
		}
		tg, stop, err := target.StartEmbedded(refserver.Config{}, app)
		if err != nil {
			fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
			return nil, nil, exitFail
		}
		return tg, stop, -1
	}
	note, err := t.Normalize()
	if err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUsage
	}
	if note != "" {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, note)
	}
	if err := t.Validate(); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUsage
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := t.Reachable(rctx); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUnreachable
	}
	var ce *target.ConfigError
	switch err := target.Preflight(ctx, t); {
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUnreachable
	}
	return t, func() {}, -1
}
