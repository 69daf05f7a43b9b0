package loadgen

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/internal/testcert"
	"github.com/pushcert/pushcert/refserver"
	"github.com/pushcert/pushcert/reports"
)

// embeddedTLS starts the reference server in-process serving wss:// and https:// with a fresh
// self-signed certificate; the target trusts it.
func embeddedTLS(t *testing.T) *target.Target {
	t.Helper()
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := refserver.Config{Apps: []refserver.App{{ID: target.EmbeddedAppID, Key: target.EmbeddedKey, Secret: target.EmbeddedSecret, ClientEventRate: 1000}}}
	tg, stop, err := target.StartServerTLS("127.0.0.1:0", cfg, &cert.Server, cert.Pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return tg
}

// TestSeatsOverTLS: a wss:// run reaches every client through the pollers, TLS decrypted over
// the bytes they read, and the HTTP API over https.
func TestSeatsOverTLS(t *testing.T) {
	tg := embeddedTLS(t)
	res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioSeats, ScenarioAvailability},
		Clients: 60, Rooms: 2, Rate: 20, Duration: 2 * time.Second, Ramp: 300 * time.Millisecond, Drain: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if d := s.Delivery; !passed(s, "connected") || d.Expected == 0 || d.Lost != 0 || d.Reach != 1 {
		t.Errorf("%s, delivery %+v, errors %v", checkOf(s, "connected").Detail, d, s.Errors)
	}
	// A busy machine may make the run INVALID (a late timetable): a measurement verdict, not
	// TLS's.
	for _, c := range s.Checks {
		if !c.Pass {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
	}
}

// TestTLSWithoutTheServersCA: a certificate the clients do not trust fails every dial, and the
// run says so (TestSaturation judges whom a late timetable blames).
func TestTLSWithoutTheServersCA(t *testing.T) {
	tg := embeddedTLS(t)
	tg.TLS = nil // the system's roots do not hold the test certificate
	res, err := Run(context.Background(), Config{Target: tg, Clients: 10, Rooms: 1, Rate: 5, Duration: 500 * time.Millisecond, Ramp: 100 * time.Millisecond, Drain: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if checkOf(s, "connected").Detail != "0 of 10 clients connected and subscribed" || s.Errors["dial"] != 10 {
		t.Errorf("%s, errors %v", checkOf(s, "connected").Detail, s.Errors)
	}
}

// TestDialsThroughAProxy: with a proxy, every client's connection is a CONNECT tunnel through
// it, TLS inside the tunnel, and the handshake carries the target's headers.
func TestDialsThroughAProxy(t *testing.T) {
	tg := embeddedTLS(t)
	tg.Header = http.Header{"Origin": {"https://tickets.example"}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var tunnels atomic.Int64
	go serveConnectProxy(ln, &tunnels)
	proxyURL := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	res, err := Run(context.Background(), Config{Target: tg, Clients: 20, Rooms: 1, Rate: 10, Duration: time.Second, Ramp: 200 * time.Millisecond, Drain: 2 * time.Second,
		Proxy: func(*http.Request) (*url.URL, error) { return proxyURL, nil }})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if !passed(s, "connected") || s.Delivery.Reach != 1 {
		t.Errorf("%s, delivery %+v, errors %v", checkOf(s, "connected").Detail, s.Delivery, s.Errors)
	}
	// Every client, and at least one of the HTTP API's connections to https (also CONNECT).
	if n := tunnels.Load(); n <= 20 {
		t.Errorf("%d tunnels through the proxy, want the 20 clients' and the HTTP API's", n)
	}
}

// serveConnectProxy is an HTTP CONNECT proxy on ln, counting the tunnels it opened.
func serveConnectProxy(ln net.Listener, tunnels *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil || req.Method != http.MethodConnect {
				io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
				return
			}
			up, err := net.Dial("tcp", req.Host)
			if err != nil {
				io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
				return
			}
			defer up.Close()
			tunnels.Add(1)
			io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
			go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite() }()
			io.Copy(c, up)
		}()
	}
}

func checkOf(s *reports.LoadSummary, name string) reports.Check {
	for _, c := range s.Checks {
		if c.Name == name {
			return c
		}
	}
	return reports.Check{Name: name, Detail: "no such check"}
}

func passed(s *reports.LoadSummary, name string) bool { return checkOf(s, name).Pass }

// TestHandshakeCarriesTheHeaders: the target's headers go with the WebSocket handshake, so a
// server that allows one origin lets the clients in.
func TestHandshakeCarriesTheHeaders(t *testing.T) {
	origin := make(chan string, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://tickets.example" }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin <- r.Header.Get("Origin")
		if c, err := up.Upgrade(w, r, nil); err == nil {
			c.Close()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	w, err := dialWire(context.Background(), "ws://"+ln.Addr().String()+"/app/k", net.IPv4(127, 0, 0, 1),
		dialing{header: http.Header{"Origin": {"https://tickets.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	if got := <-origin; got != "https://tickets.example" {
		t.Errorf("Origin %q", got)
	}
}

// TestSourceFor: the run's loopback sources bind only dials to loopback addresses of their
// family; a remote target or proxy is dialed from the system's address.
func TestSourceFor(t *testing.T) {
	src := net.IPv4(127, 0, 0, 2)
	for _, tc := range []struct {
		addr string
		bind bool
	}{
		{"127.0.0.1:6001", true}, {"localhost:6001", true}, {"[::1]:6001", false},
		{"10.1.2.3:443", false}, {"staging.example:443", false}, {"nonsense", false},
	} {
		if got := sourceFor(tc.addr, src); (got != nil) != tc.bind {
			t.Errorf("%s: bound %v, want %v", tc.addr, got, tc.bind)
		}
	}
}

// TestTLSKeepsCloseCodes: over wss:// the server's close code is read as over ws://, even when
// its close frame and TLS's close_notify come in one read: a restart's 4200 makes the clients
// reconnect at once, not a protocol error.
func TestTLSKeepsCloseCodes(t *testing.T) {
	tg := embeddedTLS(t)
	const clients = 20
	res, err := Run(context.Background(), Config{Target: tg, Scenarios: []string{ScenarioAvailability}, Clients: clients, Rooms: 1, Rate: 10,
		Duration: 2 * time.Second, Ramp: 200 * time.Millisecond, Drain: 2 * time.Second, Restart: tg.Restart, RestartAt: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Errors["4200"] < clients || s.Errors["1002"] != 0 || s.Errors["1006"] != 0 || s.Delivery.Reconnects != clients {
		t.Errorf("errors %v, reconnects %d; want %d closes with 4200 and as many reconnections", s.Errors, s.Delivery.Reconnects, clients)
	}
}

// TestProxySchemes: a proxy other than http:// is refused with a reason, not spoken to in
// plaintext.
func TestProxySchemes(t *testing.T) {
	for _, p := range []string{"https://127.0.0.1:1", "socks5://127.0.0.1:1"} {
		pu, _ := url.Parse(p)
		_, err := dialTCP(context.Background(), "tcp", "127.0.0.1:6001", "wss://127.0.0.1:6001/app/k", net.IPv4(127, 0, 0, 1),
			func(*http.Request) (*url.URL, error) { return pu, nil })
		if err == nil || !strings.Contains(err.Error(), "only http:// proxies") {
			t.Errorf("%s: %v", p, err)
		}
	}
}
