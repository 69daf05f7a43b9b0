package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/target"
)

// imageArgs are the flags of --target-image: a vendor's server image started as the target.
type imageArgs struct {
	ref   string
	port  int
	env   []string
	cmd   []string
	logs  string
	ready time.Duration
}

// fromProfile takes the image settings of a server profile that no flag gave: the port, the
// command, and the environment (a flag's --image-env wins over the profile's name).
func (im *imageArgs) fromProfile(p *target.ProfileImage, changed func(string) bool) {
	if p.Port > 0 && !changed("image-port") {
		im.port = p.Port
	}
	if len(p.Args) > 0 && !changed("image-arg") {
		im.cmd = p.Args
	}
	env := make([]string, 0, len(p.Env)+len(im.env))
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		env = append(env, k+"="+p.Env[k])
	}
	im.env = append(env, im.env...) // later entries win
}

// imageFlags adds the --target-image flags (check and load).
func imageFlags(fs *pflag.FlagSet, t *targetArgs) {
	im := &t.image
	fs.StringVar(&im.ref, "target-image", "", "a server image to start and test (Docker, host networking): it must listen on 127.0.0.1:--image-port with the app of --app-id, --key and --secret; removed at the end, Ctrl-C included")
	fs.IntVar(&im.port, "image-port", 6001, "the port the image's server listens on, on 127.0.0.1")
	fs.StringArrayVar(&im.env, "image-env", nil, "KEY=VALUE set in the container, repeatable (PUSHCERT_APP_ID, PUSHCERT_APP_KEY, PUSHCERT_APP_SECRET and PUSHCERT_ADDR are set from the flags)")
	fs.StringArrayVar(&im.cmd, "image-arg", nil, "an argument of the container's command, repeatable, instead of the image's own command")
	fs.StringVar(&im.logs, "image-logs", "", "write the container's output to this file (default: container.log in --out, else pushcert-container.log)")
	fs.DurationVar(&im.ready, "image-ready", time.Minute, "how long the image's server may take to listen")
}

// startImage starts --target-image and points the target at it; the function it returns saves
// the container's logs beside the reports and removes the container.
func startImage(ctx context.Context, cmd string, ta *targetArgs, outDir string, stderr io.Writer) (func(), int) {
	im := ta.image
	if ta.WebSocketURL != "" || ta.APIURL != "" {
		fmt.Fprintf(stderr, "pushcert %s: --target-image starts the server to test: give it without --target and --api-url\n", cmd)
		return nil, exitUsage
	}
	if ta.AppID == "" || ta.Key == "" || ta.Secret == "" {
		fmt.Fprintf(stderr, "pushcert %s: --target-image needs the app the image serves: --app-id, --key and --secret (they are given to the container as PUSHCERT_APP_ID, PUSHCERT_APP_KEY, PUSHCERT_APP_SECRET)\n", cmd)
		return nil, exitUsage
	}
	if im.port <= 0 || im.port > 65535 {
		fmt.Fprintf(stderr, "pushcert %s: --image-port %d: the port the image's server listens on, 1 to 65535\n", cmd, im.port)
		return nil, exitUsage
	}
	addr := fmt.Sprintf("127.0.0.1:%d", im.port)
	env := map[string]string{"PUSHCERT_APP_ID": ta.AppID, "PUSHCERT_APP_KEY": ta.Key, "PUSHCERT_APP_SECRET": ta.Secret, "PUSHCERT_ADDR": addr}
	for _, kv := range im.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "pushcert %s: --image-env %q: want KEY=VALUE\n", cmd, kv)
			return nil, exitUsage
		}
		env[k] = v
	}
	logs := im.logs
	switch {
	case logs == "" && outDir != "":
		logs = filepath.Join(outDir, "container.log")
	case logs == "":
		logs = "pushcert-container.log"
	}
	fmt.Fprintf(stderr, "pushcert %s: starting %s (host network, %s)\n", cmd, im.ref, addr)
	run, err := target.StartImage(ctx, target.Image{Ref: im.ref, Port: im.port, Env: env, Cmd: im.cmd, Ready: im.ready})
	if err != nil {
		fmt.Fprintf(stderr, "pushcert %s: --target-image: %v\n", cmd, err)
		return nil, exitUnreachable
	}
	ta.WebSocketURL, ta.APIURL = "ws://"+addr, "http://"+addr
	ta.Target.Name = im.ref
	stop := func() {
		lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if b, err := run.Logs(lctx); err != nil {
			fmt.Fprintf(stderr, "pushcert %s: the container's logs: %v\n", cmd, err)
		} else if err := writeFileIn(logs, b); err != nil {
			fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		} else {
			fmt.Fprintf(stderr, "wrote %s\n", logs)
		}
		if err := run.Remove(); err != nil {
			fmt.Fprintf(stderr, "pushcert %s: remove container %.12s: %v\n", cmd, run.ID(), err)
		}
	}
	return stop, -1
}

// writeFileIn writes b to path, making its directory.
func writeFileIn(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
