package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pushcert/pushcert/refserver"
)

// The demo app of `pushcert serve --demo` and `make run`: ready to use, never for production.
const (
	demoAppID  = "pushcert-demo"
	demoKey    = "demo-key"
	demoSecret = "demo-secret"
)

// shutdownTimeout bounds how long in-flight requests and closing sockets may take on SIGTERM.
const shutdownTimeout = 10 * time.Second

// serveFiles is the open-file limit serve asks for: about a million connections.
const serveFiles = 1 << 20

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	addr := fs.String("addr", envOr("PUSHCERT_ADDR", "127.0.0.1:6001"), "listen address (WebSocket, HTTP API, /up, /metrics); env PUSHCERT_ADDR")
	configPath := fs.String("config", os.Getenv("PUSHCERT_CONFIG"), "JSON config file with one or more apps; env PUSHCERT_CONFIG")
	demo := fs.Bool("demo", false, "serve a ready-to-use demo app (id "+demoAppID+", key "+demoKey+", secret "+demoSecret+")")
	var app refserver.App
	fs.StringVar(&app.ID, "app-id", os.Getenv("PUSHCERT_APP_ID"), "app id of a single app; env PUSHCERT_APP_ID")
	fs.StringVar(&app.Key, "key", os.Getenv("PUSHCERT_APP_KEY"), "app key; env PUSHCERT_APP_KEY")
	fs.StringVar(&app.Secret, "secret", os.Getenv("PUSHCERT_APP_SECRET"), "app secret; env PUSHCERT_APP_SECRET")
	clientEvents := fs.Bool("client-events", true, "accept client events on private and presence channels")
	fs.IntVar(&app.MaxConnections, "max-connections", 0, "connection quota of the app, 0 for none (over it: 4004)")
	fs.IntVar(&app.MaxPresenceMembers, "max-presence-members", refserver.DefaultMaxPresenceMembers, "members per presence channel")
	fs.IntVar(&app.MaxPresenceInfo, "max-presence-user-info", refserver.DefaultMaxPresenceInfo, "bytes of user_info per presence member")
	fs.IntVar(&app.ClientEventRate, "client-event-rate", refserver.DefaultClientEventRate, "client events per second per connection (over it: 4301)")
	userAuthTimeout := fs.Duration("user-auth-timeout", 0, "close with 4009 connections neither signed in nor on an authorized channel after this long; 0 disables")
	activity := fs.Duration("activity-timeout", refserver.DefaultActivityTimeout, "idle time before the server pings a client; sent to clients as activity_timeout")
	pong := fs.Duration("pong-timeout", refserver.DefaultPongTimeout, "wait for any frame after a server ping before closing with 4201")
	tlsCert := fs.String("tls-cert", os.Getenv("PUSHCERT_TLS_CERT"), "serve wss:// and https:// with this PEM certificate (chain); needs --tls-key; env PUSHCERT_TLS_CERT")
	tlsKey := fs.String("tls-key", os.Getenv("PUSHCERT_TLS_KEY"), "the PEM private key of --tls-cert; env PUSHCERT_TLS_KEY")
	webhookURLs := fs.StringArray("webhook-url", nil, "post the webhooks of the app of --app-id or --demo to this URL (repeatable); a config file gives each app its own")
	debounce := fs.Duration("webhook-debounce", refserver.DefaultWebhookDebounce, "hold channel_vacated and member_removed webhooks this long; a reconnect within it cancels both; 0 sends at once")
	fs.BoolVar(&app.SubscriptionCount, "subscription-count", false, "count subscriptions (opt-in, as on Pusher): a public or private channel's subscribers get pusher_internal:subscription_count after each subscribe and unsubscribe (past 100 subscribers, at most every 5 s), and the app's webhooks include subscription_count")
	retryFor := fs.Duration("webhook-retry-for", refserver.DefaultWebhookRetryFor, "retry a webhook batch not acknowledged with 2xx this long, waiting 1s, 2s, 4s ... (at most 1m) between attempts")
	redisURL := fs.String("redis", os.Getenv("PUSHCERT_REDIS"), "join the cluster of every node on this Redis (redis://127.0.0.1:6379/0): publishes, client events, presence, counts and webhooks are the cluster's; env PUSHCERT_REDIS")
	redisPrefix := fs.String("redis-prefix", "pushcert", "start every Redis key and the pub/sub channel with this, so that clusters can share a Redis")
	deadAfter := fs.Duration("node-dead-after", refserver.DefaultNodeDeadAfter, "a node silent this long (no heartbeat) is dead: the others remove its subscribers and members, with member_removed")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	pprofAddr := fs.String("pprof", "", "serve Go's profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060; off by default")
	faults := fs.StringArray("fault", nil, "break the protocol on purpose, to see the conformance suite fail (repeatable): "+strings.Join(refserver.FaultNames(), ", "))
	if code := parseFlags(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert serve:", err)
		return exitUsage
	}
	var cert *tls.Certificate
	if *tlsCert != "" || *tlsKey != "" {
		if cert, err = loadCert(*tlsCert, *tlsKey); err != nil {
			fmt.Fprintln(stderr, "pushcert serve:", err)
			return exitUsage
		}
	}
	// Every connection is an open file: take as many as the system allows this process.
	if limit, err := raiseFileLimit(serveFiles); err != nil {
		logger.Info("open file limit", "limit", limit, "note", err.Error())
	}
	cfg := refserver.Config{ActivityTimeout: *activity, PongTimeout: *pong, Logger: logger,
		WebhookDebounce: *debounce, WebhookRetryFor: *retryFor,
		Redis: *redisURL, RedisPrefix: *redisPrefix, NodeDeadAfter: *deadAfter}
	if *deadAfter <= 0 {
		fmt.Fprintln(stderr, "pushcert serve: --node-dead-after must be positive, like 5s")
		return exitUsage
	}
	if *debounce == 0 {
		cfg.WebhookDebounce = -1 // the Config's zero is the default
	}
	for _, f := range *faults {
		if err := refserver.ParseFault(&cfg.Faults, f); err != nil {
			fmt.Fprintln(stderr, "pushcert serve: --fault:", err)
			return exitUsage
		}
		logger.Warn("fault injected: this server breaks the protocol on purpose", "fault", f)
	}
	if *configPath != "" {
		fc, err := refserver.LoadFile(*configPath)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert serve:", err)
			return exitUsage
		}
		cfg.Apps = fc.Apps
		if fc.Addr != "" && !fs.Changed("addr") {
			*addr = fc.Addr
		}
		if fc.ActivityTimeout > 0 && !fs.Changed("activity-timeout") {
			cfg.ActivityTimeout = time.Duration(fc.ActivityTimeout)
		}
		if fc.PongTimeout > 0 && !fs.Changed("pong-timeout") {
			cfg.PongTimeout = time.Duration(fc.PongTimeout)
		}
		fileWebhookTiming(&cfg, fc, fs.Changed)
		fileCluster(&cfg, fc, fs.Changed)
	}
	if *demo {
		app.ID, app.Key, app.Secret = demoAppID, demoKey, demoSecret
	}
	if app.ID != "" || app.Key != "" || app.Secret != "" {
		app.ClientEvents = clientEvents
		app.UserAuthTimeout = refserver.Duration(*userAuthTimeout)
		for _, u := range *webhookURLs {
			app.Webhooks = append(app.Webhooks, refserver.Webhook{URL: u})
		}
		cfg.Apps = append(cfg.Apps, app)
	} else if len(*webhookURLs) > 0 || app.SubscriptionCount {
		fmt.Fprintln(stderr, "pushcert serve: --webhook-url and --subscription-count are for the app of --app-id, --key and --secret (or --demo); in a config file, give each app its \"webhooks\" and \"subscription_count\"")
		return exitUsage
	}
	if *pprofAddr != "" {
		if err := loopbackAddr("--pprof", *pprofAddr); err != nil {
			fmt.Fprintln(stderr, "pushcert serve:", err)
			return exitUsage
		}
	}
	srv, err := refserver.New(cfg)
	if errors.Is(err, refserver.ErrCluster) {
		fmt.Fprintln(stderr, "pushcert serve:", err)
		return exitFail
	}
	if err != nil {
		fmt.Fprintln(stderr, "pushcert serve:", err)
		return exitUsage
	}
	if node := srv.Node(); node != "" {
		logger.Info("cluster node", "node", node, "redis", redactURL(cfg.Redis), "prefix", cfg.RedisPrefix, "dead_after", cfg.NodeDeadAfter)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "pushcert serve:", err)
		return exitFail
	}
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
	}
	printBanner(stdout, ln.Addr().String(), cfg.Apps, cert != nil)
	if *pprofAddr != "" {
		at, err := servePprof(ctx, *pprofAddr)
		if err != nil {
			fmt.Fprintln(stderr, "pushcert serve: --pprof:", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "  pprof      http://%s/debug/pprof/\n", at)
	}
	// Failed TLS handshakes and the like go to the log at debug level.
	hs := srv.HTTPServer(slog.NewLogLogger(logger.Handler(), slog.LevelDebug))
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintln(stderr, "pushcert serve:", err)
		return exitFail
	case <-ctx.Done():
	}
	logger.Info("shutting down: closing clients with 4200, finishing HTTP requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(sctx) }()
	wsErr := srv.Shutdown(sctx)
	httpErr := <-httpDone
	if errors.Is(httpErr, context.DeadlineExceeded) {
		logger.Warn("grace period over: cutting the HTTP requests still running")
		httpErr = hs.Close()
	}
	if err := errors.Join(wsErr, httpErr); err != nil {
		fmt.Fprintln(stderr, "pushcert serve: shutdown:", err)
		return exitFail
	}
	logger.Info("stopped")
	return exitOK
}

func printBanner(w io.Writer, addr string, apps []refserver.App, secure bool) {
	ws, http := "ws", "http"
	if secure {
		ws, http = "wss", "https"
	}
	fmt.Fprintf(w, "pushcert serve %s listening on %s\n", versionString(), addr)
	for _, a := range apps {
		fmt.Fprintf(w, "  app %s  key %s  secret %s\n", a.ID, a.Key, a.Secret)
		fmt.Fprintf(w, "    WebSocket  %s://%s/app/%s?protocol=7\n", ws, addr, a.Key)
		fmt.Fprintf(w, "    HTTP API   %s://%s/apps/%s/events\n", http, addr, a.ID)
		for _, h := range a.Webhooks {
			fmt.Fprintf(w, "    webhooks   %s", h.URL)
			if len(h.EventTypes) > 0 {
				fmt.Fprintf(w, " (%s)", strings.Join(h.EventTypes, ", "))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "  health     %s://%s/up\n  metrics    %s://%s/metrics\n", http, addr, http, addr)
}

// loadCert reads --tls-cert and --tls-key.
func loadCert(certFile, keyFile string) (*tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", certFile, keyFile, err)
	}
	return &c, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// fileCluster takes the cluster settings of a config file that no flag overrides.
func fileCluster(cfg *refserver.Config, fc refserver.FileConfig, changed func(string) bool) {
	if fc.Redis != "" && !changed("redis") {
		cfg.Redis = fc.Redis
	}
	if fc.RedisPrefix != "" && !changed("redis-prefix") {
		cfg.RedisPrefix = fc.RedisPrefix
	}
	if fc.NodeDeadAfter > 0 && !changed("node-dead-after") {
		cfg.NodeDeadAfter = time.Duration(fc.NodeDeadAfter)
	}
}

// redactURL hides a URL's password, for the log.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// fileWebhookTiming takes the config file's webhook timing where no flag set it.
func fileWebhookTiming(cfg *refserver.Config, fc refserver.FileConfig, changed func(string) bool) {
	if fc.WebhookDebounce != 0 && !changed("webhook-debounce") {
		cfg.WebhookDebounce = time.Duration(fc.WebhookDebounce)
	}
	if fc.WebhookRetryFor != 0 && !changed("webhook-retry-for") {
		cfg.WebhookRetryFor = time.Duration(fc.WebhookRetryFor)
	}
	cfg.WebhookBatch = time.Duration(fc.WebhookBatch)
	cfg.WebhookRetryFirst = time.Duration(fc.WebhookRetryFirst)
	cfg.WebhookTimeout = time.Duration(fc.WebhookTimeout)
	cfg.WebhookQueue = fc.WebhookQueue
}
