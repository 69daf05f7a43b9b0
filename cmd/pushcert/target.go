package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// targetArgs are the flags that name a server under test and say how to reach it.
type targetArgs struct {
	*target.Target
	caFile   string
	insecure bool
	headers  []string
	envNote  string // what --env-file set, said once the target is resolved
	cluster  int    // --cluster: embedded nodes on a real Redis (check)
	targets  urls   // every --target: the nodes of one cluster when there are several
	apis     urls   // every --api-url, in the same order
	image    imageArgs
	outDir   string // where the reports go: the container's logs go beside them
}

// urls is a repeatable URL flag whose first value is also the target's own field: the first
// Set replaces the environment's default, each further one adds a node.
type urls struct {
	first *string
	all   []string
	set   bool
}

func (u *urls) String() string { return strings.Join(u.all, ",") }
func (u *urls) Type() string   { return "URL" }
func (u *urls) Set(v string) error {
	if !u.set {
		u.all, u.set = nil, true
	}
	u.all = append(u.all, v)
	*u.first = u.all[0]
	return nil
}

// nodes gives the target its cluster's nodes when --target was given more than once: one
// --api-url for each, in the same order.
func (t *targetArgs) nodes() error {
	if len(t.targets.all) < 2 {
		if len(t.apis.all) > 1 {
			return fmt.Errorf("--api-url is given %d times for one --target: give --target once per node, in the same order", len(t.apis.all))
		}
		return nil
	}
	if len(t.apis.all) != len(t.targets.all) {
		return fmt.Errorf("%d --target nodes but %d --api-url: give one --api-url per --target, in the same order", len(t.targets.all), len(t.apis.all))
	}
	t.Nodes = make([]target.Node, len(t.targets.all))
	for i := range t.Nodes {
		t.Nodes[i] = target.Node{WebSocketURL: t.targets.all[i], APIURL: t.apis.all[i]}
	}
	return nil
}

// eachNode runs f on the target as reached through each of its nodes, and takes back what f
// changed of each node's URLs.
func eachNode(t *target.Target, f func(*target.Target) error) error {
	for n := 1; n <= t.NodeCount(); n++ {
		nt, err := t.OnNode(n)
		if err != nil {
			return err
		}
		if err := f(nt); err != nil {
			return err
		}
		if len(t.Nodes) > 0 {
			t.Nodes[n-1] = target.Node{WebSocketURL: nt.WebSocketURL, APIURL: nt.APIURL}
		}
		if n == 1 {
			t.WebSocketURL, t.APIURL, t.Key = nt.WebSocketURL, nt.APIURL, nt.Key
		}
	}
	return nil
}

// targetFlags adds the flags that name a server under test, shared by check and load.
func targetFlags(fs *pflag.FlagSet) *targetArgs {
	t := &targetArgs{Target: &target.Target{}}
	t.WebSocketURL, t.APIURL = os.Getenv(envTarget), os.Getenv(envAPIURL)
	t.targets, t.apis = urls{first: &t.WebSocketURL}, urls{first: &t.APIURL}
	fs.Var(&t.targets, "target", "WebSocket base URL of the server, e.g. ws://127.0.0.1:6001; repeated, the nodes of one cluster; none runs the embedded reference server; env "+envTarget)
	fs.Var(&t.apis, "api-url", "HTTP API base URL, e.g. http://127.0.0.1:6001; repeated, one per --target in the same order; env "+envAPIURL)
	fs.StringVar(&t.AppID, "app-id", os.Getenv(envAppID), "app id on the target; env "+envAppID)
	fs.StringVar(&t.Key, "key", envOrOld(envKey, "PUSHCERT_KEY"), "app key; env "+envKey)
	fs.StringVar(&t.Secret, "secret", envOrOld(envSecret, "PUSHCERT_SECRET"), "app secret; env "+envSecret)
	fs.Var(&envFileValue{fs: fs, ta: t}, "env-file", "take the target from a Laravel app's .env: its REVERB_* or PUSHER_* broadcasting settings (HOST, PORT, SCHEME, APP_ID, APP_KEY, APP_SECRET), or PUSHCERT_* names; flags given win")
	fs.StringVar(&t.caFile, "ca-file", os.Getenv("PUSHCERT_CA_FILE"), "PEM file of the CA certificates that sign a wss:// or https:// target's certificate (added to the system's); env PUSHCERT_CA_FILE")
	fs.BoolVar(&t.insecure, "insecure", false, "do not verify the target's TLS certificate (a self-signed staging server); the connection is still encrypted")
	fs.StringArrayVar(&t.headers, "header", nil, `"Name: value" sent with every WebSocket handshake, repeatable, e.g. --header "Origin: https://tickets.example" for a server with allowed origins`)
	return t
}

// runningTargetFlags are targetFlags for a verb that talks to a running server: no embedded
// default, and the API's URL defaults to the --target's host.
func runningTargetFlags(fs *pflag.FlagSet) *targetArgs {
	t := targetFlags(fs)
	fs.Lookup("target").Usage = "WebSocket base URL of the running server, e.g. ws://127.0.0.1:6001; env PUSHCERT_TARGET"
	fs.Lookup("api-url").Usage = "HTTP API base URL (default: the --target's host over http or https); env PUSHCERT_API_URL"
	return t
}

// embedded says whether the run is against the embedded reference server: no --target.
func (t *targetArgs) embedded() bool { return t.WebSocketURL == "" && t.image.ref == "" }

// given says whether any target flag was given: none runs the embedded reference server.
func (t *targetArgs) given() bool {
	return t.WebSocketURL != "" || t.APIURL != "" || t.AppID != "" || t.Key != "" || t.Secret != "" || t.image.ref != "" ||
		t.caFile != "" || t.insecure || len(t.headers) > 0
}

// reach sets how the target is reached from --ca-file, --insecure and --header. HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY are honoured for every connection.
func (t *targetArgs) reach() error {
	if t.caFile != "" || t.insecure {
		cfg := &tls.Config{InsecureSkipVerify: t.insecure}
		if t.caFile != "" {
			pem, err := os.ReadFile(t.caFile)
			if err != nil {
				return fmt.Errorf("--ca-file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--ca-file %s: no PEM certificate in it", t.caFile)
			}
			cfg.RootCAs = pool
		}
		t.TLS = cfg
	}
	h, err := parseHeaders("--header", t.headers)
	if err != nil {
		return err
	}
	t.Header = h
	t.HTTP = t.HTTPClient(10*time.Second, 0)
	return nil
}

// parseHeaders reads "Name: value" flags; none is nil.
func parseHeaders(flag string, hs []string) (http.Header, error) {
	var out http.Header
	for _, h := range hs {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%s %q: want \"Name: value\"", flag, h)
		}
		if out == nil {
			out = http.Header{}
		}
		out.Add(name, value)
	}
	return out, nil
}

// resolveTarget starts the embedded reference server (with app's settings) when no --target was
// given, or checks the given target and that it answers. It returns the target, a function to
// call at the end, and -1, or an exit code after printing why.
func resolveTarget(ctx context.Context, cmd string, ta *targetArgs, app refserver.App, stderr io.Writer) (*target.Target, func(), int) {
	t := ta.Target
	if ta.envNote != "" {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, ta.envNote)
	}
	if ta.image.ref != "" {
		stopImage, code := startImage(ctx, cmd, ta, ta.outDir, stderr)
		if code >= 0 {
			return nil, nil, code
		}
		tg, _, code := resolveGiven(ctx, cmd, ta, stderr)
		if code >= 0 {
			stopImage()
			return nil, nil, code
		}
		return tg, stopImage, -1
	}
	if t.WebSocketURL == "" {
		if ta.given() {
			fmt.Fprintf(stderr, "pushcert %s: --api-url, --app-id, --key, --secret, --ca-file, --insecure and --header need --target\n", cmd)
			return nil, nil, exitUsage
		}
		start := target.StartEmbedded
		if ta.cluster > 0 {
			start = func(cfg refserver.Config, app refserver.App) (*target.Target, func(), error) {
				return target.StartEmbeddedCluster(ta.cluster, cfg, app)
			}
		}
		tg, stop, err := start(refserver.Config{}, app)
		if err != nil {
			fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
			return nil, nil, exitFail
		}
		return tg, stop, -1
	}
	return resolveGiven(ctx, cmd, ta, stderr)
}

// resolveGiven checks a given target (its nodes, URLs, TLS and headers) and that it answers.
func resolveGiven(ctx context.Context, cmd string, ta *targetArgs, stderr io.Writer) (*target.Target, func(), int) {
	t := ta.Target
	if err := ta.nodes(); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUsage
	}
	err := eachNode(t, func(nt *target.Target) error {
		note, err := nt.Normalize()
		if note != "" {
			fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, note)
		}
		if err != nil {
			return err // Validate would say it again
		}
		return nt.Validate()
	})
	if err = errors.Join(err, ta.reach()); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil, nil, exitUsage
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := eachNode(t, func(nt *target.Target) error { return nt.Reachable(rctx) }); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUnreachable
	}
	var ce *target.ConfigError
	switch err := eachNode(t, func(nt *target.Target) error { return target.Preflight(ctx, nt) }); {
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, nil, exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		var cv *tls.CertificateVerificationError
		if errors.As(err, &cv) {
			fmt.Fprintf(stderr, "pushcert %s: the target's certificate is not trusted here: give its CA with --ca-file FILE, or --insecure to skip the check\n", cmd)
		}
		return nil, nil, exitUnreachable
	}
	return t, func() {}, -1
}

// runningTarget checks the target flags of a verb that talks to a running server (trigger,
// channels, watch): there is no embedded default. A missing --api-url is the --target's host
// over http(s), said on stderr. It returns the target, or an exit code after printing why.
func runningTarget(cmd string, ta *targetArgs, stderr io.Writer) (*target.Target, int) {
	t := ta.Target
	if ta.envNote != "" {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, ta.envNote)
	}
	if len(ta.targets.all) > 1 || len(ta.apis.all) > 1 {
		fmt.Fprintf(stderr, "pushcert %s talks to one node: give --target (and --api-url) once; any node of a cluster answers for all of it\n", cmd)
		return nil, exitUsage
	}
	if t.WebSocketURL == "" {
		fmt.Fprintf(stderr, "pushcert %s talks to a running server: give --target ws://HOST:PORT, --app-id, --key and --secret (env %s, %s, %s, %s), or --env-file .env\n", cmd, envTarget, envAppID, envKey, envSecret)
		return nil, exitUsage
	}
	note, err := t.Normalize()
	if err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	if note != "" {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, note)
	}
	if t.APIURL == "" {
		if u, err := url.Parse(t.WebSocketURL); err == nil && (u.Scheme == "ws" || u.Scheme == "wss") {
			t.APIURL = strings.Replace(u.Scheme, "ws", "http", 1) + "://" + u.Host
		}
	}
	if err := errors.Join(t.Validate(), ta.reach()); err != nil {
		fmt.Fprintf(stderr, "pushcert %s: %s\n", cmd, strings.ReplaceAll(err.Error(), "\n", "; "))
		return nil, exitUsage
	}
	return t, -1
}
