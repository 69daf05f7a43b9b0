package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gobwas/ws"
)

// dialing is how the clients reach the server: the target's TLS settings for wss:// and extra
// handshake headers (an Origin for servers that check allowed origins), and the HTTP proxy to
// tunnel through (nil: none).
type dialing struct {
	tls    *tls.Config
	header http.Header
	proxy  func(*http.Request) (*url.URL, error)
}

// dialWire opens a WebSocket to url from the local address src, as d says, and returns the
// wire before unhook: the handshake is done, and TLS, for wss://, runs over the socket.
func dialWire(ctx context.Context, rawURL string, src net.IP, d dialing) (*wire, error) {
	w := &wire{}
	dialer := ws.Dialer{
		Timeout: setupTimeout,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialTCP(ctx, network, addr, rawURL, src, d.proxy)
			if err == nil {
				w.tcp = conn
			}
			return conn, err
		},
		TLSClient: func(conn net.Conn, host string) net.Conn {
			cfg := d.tls.Clone()
			if cfg == nil {
				cfg = &tls.Config{}
			}
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
			w.tr = &tlsTransport{Conn: conn}
			w.sec = tls.Client(w.tr, cfg)
			return w.sec
		},
	}
	if len(d.header) > 0 {
		dialer.Header = ws.HandshakeHeaderHTTP(d.header)
	}
	conn, br, _, err := dialer.Dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	if br != nil { // the server's first frames came with the handshake response
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			w.in = append(w.in, b...)
		}
		ws.PutReader(br)
	}
	return w, nil
}

// dialTCP connects to addr from src, through the HTTP proxy that proxy picks for the
// WebSocket URL, if any.
func dialTCP(ctx context.Context, network, addr, wsURL string, src net.IP, proxy func(*http.Request) (*url.URL, error)) (net.Conn, error) {
	dial := func(to string) (net.Conn, error) {
		nd := &net.Dialer{LocalAddr: sourceFor(to, src), Timeout: setupTimeout, Control: dialControl}
		return nd.DialContext(ctx, network, to)
	}
	if proxy == nil {
		return dial(addr)
	}
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, err
	}
	// The proxy is chosen as for the HTTP request the handshake is: https for wss.
	scheme := map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	pu, err := proxy(&http.Request{URL: &url.URL{Scheme: scheme, Host: addr}})
	if err != nil || pu == nil {
		if err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		return dial(addr)
	}
	if pu.Scheme != "http" {
		return nil, fmt.Errorf("proxy %s: only http:// proxies tunnel WebSocket connections here (HTTP CONNECT)", pu.Redacted())
	}
	host := pu.Host
	if pu.Port() == "" {
		host = net.JoinHostPort(pu.Hostname(), "80")
	}
	conn, err := dial(host)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", host, err)
	}
	if err := connect(conn, pu, addr); err != nil {
		conn.Close()
		return nil, fmt.Errorf("proxy %s: %w", host, err)
	}
	return conn, nil
}

// sourceFor is the local address to dial addr from: src (one of the run's loopback sources)
// towards a loopback address, and the system's choice towards any other, which no loopback
// source can reach (nor an IPv6 one an IPv4 source).
func sourceFor(addr string, src net.IP) *net.TCPAddr {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	sameFamily := ip != nil && (ip.To4() != nil) == (src.To4() != nil)
	if (ip != nil && ip.IsLoopback() && sameFamily) || host == "localhost" {
		return &net.TCPAddr{IP: src}
	}
	return nil
}

// connect asks the proxy on conn for a tunnel to addr (RFC 9110 CONNECT), with the proxy URL's
// user and password as Basic credentials.
func connect(conn net.Conn, proxy *url.URL, addr string) error {
	_ = conn.SetDeadline(time.Now().Add(setupTimeout))
	defer conn.SetDeadline(time.Time{})
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		return err
	}
	// The answer is read a byte at a time: nothing past it may be taken from the tunnel.
	br := bufio.NewReaderSize(oneByte{conn}, 16)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CONNECT %s: %s", addr, resp.Status)
	}
	return nil
}

// oneByte reads at most one byte per call.
type oneByte struct{ c net.Conn }

func (o oneByte) Read(b []byte) (int, error) { return o.c.Read(b[:min(1, len(b))]) }
