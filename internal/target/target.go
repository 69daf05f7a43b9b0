// Package target says how a server under test is reached: the embedded reference server started
// in-process, or any server given by its URLs and app credentials.
package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pushcert/pushcert/internal/client"
	"github.com/pushcert/pushcert/refserver"
)

// Target is a server under test and the app the suite uses on it.
type Target struct {
	WebSocketURL string // base, e.g. ws://127.0.0.1:6001 (the suite adds /app/{key}?protocol=7)
	APIURL       string // base of the HTTP API, e.g. http://127.0.0.1:6001
	AppID        string
	Key          string
	Secret       string
	Embedded     bool
	// Nodes, when there are two or more, are the nodes of one cluster: the first is the one
	// above (WebSocketURL, APIURL), where every step goes unless it names another node.
	Nodes   []Node `json:",omitempty"`
	Name    string // implementation name for reports
	Version string
	// InProcess is true when the server runs in this process: its CPU and memory are then in
	// every figure of the process.
	InProcess bool `json:"-"`
	// Restart, set for the embedded server only, stops the server (every connection closed with
	// 4200) and starts a fresh one on the same address.
	Restart func() error `json:"-"`
	// Crash, set for the embedded server only, ends the server as SIGKILL would (its
	// connections cut without a close frame, its cluster told nothing) and starts a fresh one on
	// the same address. CrashNode does it to node n of an embedded cluster.
	Crash     func() error      `json:"-"`
	CrashNode func(n int) error `json:"-"`
	// TLS is how clients verify a wss:// or https:// server (--ca-file, --insecure); nil is the
	// system's roots.
	TLS *tls.Config `json:"-"`
	// Header goes with every WebSocket handshake (--header), e.g. an Origin.
	Header http.Header `json:"-"`
	// HTTP, when set, is the client for the HTTP API (made with TLS's settings); nil is the
	// API client's default.
	HTTP *http.Client `json:"-"`
}

// Options are the client options that reach the target (its TLS settings and headers) with o's
// own.
func (t *Target) Options(o client.Options) client.Options {
	o.TLS = t.TLS
	if len(t.Header) > 0 {
		h := t.Header.Clone()
		for k, v := range o.Header {
			h[k] = v
		}
		o.Header = h
	}
	return o
}

// API is a signed HTTP API client of the target's app.
func (t *Target) API(log *client.WireLog) *client.API {
	return &client.API{BaseURL: t.APIURL, AppID: t.AppID, Key: t.Key, Secret: t.Secret, HTTP: t.HTTP, Log: log}
}

// HTTPClient is an HTTP client for the target's API: its TLS settings, the environment's proxy
// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), and timeout.
func (t *Target) HTTPClient(timeout time.Duration, conns int) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, TLSClientConfig: t.TLS, MaxIdleConnsPerHost: conns,
	}}
}

// AppURL is the WebSocket URL of the app with the given query (e.g. "?protocol=7").
func (t *Target) AppURL(key, query string) string {
	return strings.TrimSuffix(t.WebSocketURL, "/") + "/app/" + key + query
}

// Validate checks that the target is usable.
func (t *Target) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{{"--target", t.WebSocketURL}, {"--api-url", t.APIURL}, {"--app-id", t.AppID}, {"--key", t.Key}, {"--secret", t.Secret}} {
		if f.v == "" { // in the order of the flags, every time
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if u, err := url.Parse(t.WebSocketURL); t.WebSocketURL != "" && (err != nil || (u.Scheme != "ws" && u.Scheme != "wss")) {
		errs = append(errs, fmt.Errorf("--target %q must be a ws:// or wss:// URL", t.WebSocketURL))
	}
	if u, err := url.Parse(t.APIURL); t.APIURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https")) {
		errs = append(errs, fmt.Errorf("--api-url %q must be an http:// or https:// URL", t.APIURL))
	}
	return errors.Join(errs...)
}

// Reachable checks that the WebSocket endpoint's host accepts TCP connections. Behind a proxy
// of the environment's (HTTPS_PROXY for wss://, HTTP_PROXY for ws://) it is not dialed directly:
// the preflight's handshake goes through the proxy and tells.
func (t *Target) Reachable(ctx context.Context) error {
	u, err := url.Parse(t.WebSocketURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host += map[string]string{"ws": ":80", "wss": ":443"}[u.Scheme]
	}
	scheme := map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: scheme, Host: host}}); err == nil && p != nil {
		return nil
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("target %s unreachable: %w", t.WebSocketURL, err)
	}
	return c.Close()
}

// Embedded app credentials: the suite's own, used only in-process.
const (
	EmbeddedAppID  = "pushcert"
	EmbeddedKey    = "pushcert-key"
	EmbeddedSecret = "pushcert-secret"
)

// StartEmbedded runs the reference server on a free loopback port with cfg (its Apps are replaced
// by the suite's app, configured by app) and returns the target and a stop function.
func StartEmbedded(cfg refserver.Config, app refserver.App) (*Target, func(), error) {
	return StartEmbeddedOn("127.0.0.1:0", cfg, app)
}

// StartEmbeddedOn is StartEmbedded on a given address, so a restarted server can take the place
// of a stopped one.
func StartEmbeddedOn(addr string, cfg refserver.Config, app refserver.App) (*Target, func(), error) {
	app.ID, app.Key, app.Secret = EmbeddedAppID, EmbeddedKey, EmbeddedSecret
	cfg.Apps = []refserver.App{app}
	return StartServer(addr, cfg)
}

// StartServer runs the reference server with cfg's apps as they are on addr; the target's app
// is the first of them.
func StartServer(addr string, cfg refserver.Config) (*Target, func(), error) {
	return StartServerTLS(addr, cfg, nil, nil)
}

// StartServerTLS is StartServer serving wss:// and https:// with cert (nil: plain ws and http).
// The target's clients trust roots (nil: the system's).
func StartServerTLS(addr string, cfg refserver.Config, cert *tls.Certificate, roots *x509.CertPool) (*Target, func(), error) {
	if len(cfg.Apps) == 0 {
		return nil, nil, fmt.Errorf("no app to start the server with")
	}
	first := cfg.Apps[0]
	cur, addr, err := serve(addr, cfg, cert)
	if err != nil {
		return nil, nil, err
	}
	var mu sync.Mutex
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		cur.stop()
		cur = stopped
	}
	// again ends the server, gracefully or as a crash, and starts a fresh one on the same
	// address.
	again := func(crash bool) error {
		mu.Lock()
		defer mu.Unlock()
		if crash {
			cur.crash()
		} else {
			cur.stop()
		}
		cur = stopped
		next, _, err := serve(addr, cfg, cert)
		if err != nil {
			return fmt.Errorf("start the embedded server again on %s: %w", addr, err)
		}
		cur = next
		return nil
	}
	restart := func() error { return again(false) }
	crash := func() error { return again(true) }
	t := &Target{
		WebSocketURL: "ws://" + addr, APIURL: "http://" + addr,
		AppID: first.ID, Key: first.Key, Secret: first.Secret,
		Embedded: true, InProcess: true, Name: "pushcert refserver", Restart: restart, Crash: crash,
	}
	if cert != nil {
		t.WebSocketURL, t.APIURL = "wss://"+addr, "https://"+addr
		t.TLS = &tls.Config{RootCAs: roots}
	}
	return t, stop, nil
}

// stopGrace bounds how long an embedded server's stop waits for its clients to take what they
// are owed.
const stopGrace = 30 * time.Second

// running is one reference server the target started: stop ends it gracefully, crash as a
// killed process ends.
type running struct{ stop, crash func() }

var stopped = running{stop: func() {}, crash: func() {}}

// serve starts one reference server on addr, over TLS with cert if given, and returns it and
// its address.
func serve(addr string, cfg refserver.Config, cert *tls.Certificate) (running, string, error) {
	srv, err := refserver.New(cfg)
	if err != nil {
		return stopped, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return stopped, "", err
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	// The server's own log of failed TLS handshakes and the like is not the caller's concern.
	hs := srv.HTTPServer(log.New(io.Discard, "", 0))
	go hs.Serve(ln)
	stop := func() {
		// A generous grace: the clients of a restart are owed what was queued for them, and on
		// a busy machine a reader may take seconds to drain it (cut, it would be a loss).
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
	}
	crash := func() {
		_ = hs.Close() // the listener, and the connections not yet upgraded
		srv.Crash()
	}
	return running{stop: stop, crash: crash}, ln.Addr().String(), nil
}
