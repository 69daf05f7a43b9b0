package ticketing

import (
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// App is the seed application running on loopback for one run: a directory whose ids start at a
// random offset (so two runs against one server never share channel names), its auth endpoints
// and its webhook endpoint, as the conformance suite and the load generator both need it.
type App struct {
	Directory *Directory
	Auth      *AuthHandler
	Webhooks  *WebhookHandler // also served at URL + EndpointWebhook
	URL       string          // base URL of the endpoints, e.g. http://127.0.0.1:41234
	stop      func()
}

// StartApp starts the auth and webhook endpoints on a free loopback port; cfg.Directory is
// filled in.
func StartApp(cfg AuthConfig) (*App, error) {
	cfg.Directory = NewDirectoryFrom(1 + rand.IntN(1_000_000_000))
	h, err := NewAuthHandler(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hooks := NewWebhookHandler(cfg.Key, cfg.Secret)
	mux := http.NewServeMux()
	mux.Handle(EndpointWebhook, hooks)
	mux.Handle("/", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return &App{Directory: cfg.Directory, Auth: h, Webhooks: hooks, URL: "http://" + ln.Addr().String(),
		stop: func() { hs.Close() }}, nil
}

// Stop closes the endpoints.
func (a *App) Stop() { a.stop() }
