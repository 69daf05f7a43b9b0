package refserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pushcert/pushcert/internal/protocol"
)

// fuzzAPIMethods and fuzzAPIEndpoints are what FuzzHTTPAPI's method and endpoint indexes pick.
var fuzzAPIMethods = [...]string{http.MethodPost, http.MethodGet}

var fuzzAPIEndpoints = [...]struct {
	method  string // the one method the route accepts
	path    string // under /apps/{app}; "{seg}" is replaced by the fuzzed, escaped path segment
	withSeg bool
}{
	{http.MethodPost, "/events", false},
	{http.MethodPost, "/batch_events", false},
	{http.MethodGet, "/channels", false},
	{http.MethodGet, "/channels/{seg}", true},
	{http.MethodGet, "/channels/{seg}/users", true},
	{http.MethodPost, "/users/{seg}/terminate_connections", true},
}

// fuzzAPIStatuses are the statuses a routed, properly signed HTTP API request may get.
var fuzzAPIStatuses = map[int]bool{
	http.StatusOK:                    true,
	http.StatusBadRequest:            true,
	http.StatusNotFound:              true,
	http.StatusMethodNotAllowed:      true,
	http.StatusRequestEntityTooLarge: true,
}

// fuzzAuthParam reports whether a query key names an authentication parameter once lowercased,
// as the server's verification sees it.
func fuzzAuthParam(k string) bool {
	switch strings.ToLower(k) {
	case protocol.ParamKey, protocol.ParamTimestamp, protocol.ParamVersion, protocol.ParamSignature, protocol.ParamBodyMD5:
		return true
	}
	return false
}

// fuzzAPIRequest builds a request signed with the test app's credentials; the fuzzed query
// parameters ride along as extra parameters, and the path segment is escaped so it stays one
// segment. It returns the request and whether extra tried to set an auth parameter.
func fuzzAPIRequest(method, endpointPath, seg, rawQuery string, body []byte) (*http.Request, bool) {
	extra, _ := url.ParseQuery(rawQuery) // the pairs that parse; malformed ones are dropped
	overridesAuth := false
	for k := range extra {
		overridesAuth = overridesAuth || fuzzAuthParam(k)
	}
	prefix := "/apps/" + testAppID
	path := prefix + strings.Replace(endpointPath, "{seg}", seg, 1)
	rawPath := prefix + strings.Replace(endpointPath, "{seg}", url.PathEscape(seg), 1)
	q := protocol.SignRequest(testKey, testSecret, method, path, body, extra, time.Now())
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL = &url.URL{Path: path, RawPath: rawPath, RawQuery: q.Encode()}
	req.RequestURI = req.URL.RequestURI()
	req.Header.Set("Content-Type", "application/json")
	return req, overridesAuth
}

// FuzzHTTPAPI sends properly signed HTTP API requests with fuzzed endpoint, method, path
// segment, extra query parameters and body to an in-process server. It checks that the server
// never panics, answers a routed request with 200, 400, 404, 405 or 413 (401 only when the
// fuzzed query names an auth parameter), gives every API refusal a JSON {"error": "..."} body and
// every 200 a JSON body, and keeps publishing (a valid publish every 500 inputs gets 200).
func FuzzHTTPAPI(f *testing.F) {
	event := func(channel, data string) []byte {
		b, _ := json.Marshal(map[string]any{"name": "my-event", "channel": channel, "data": data})
		return b
	}
	batch := func(n int) []byte {
		items := make([]map[string]any, n)
		for i := range items {
			items[i] = map[string]any{"name": "e", "channel": fmt.Sprintf("c-%d", i), "data": "{}"}
		}
		b, _ := json.Marshal(map[string]any{"batch": items})
		return b
	}
	const post, get = 0, 1
	const events, batchEvents, channels, channel, users, terminate = 0, 1, 2, 3, 4, 5
	seeds := []struct {
		method, endpoint uint8
		seg, query       string
		body             []byte
	}{
		{post, events, "", "", event("my-channel", `{"message":"hello"}`)},
		{post, events, "", "", []byte(`{"name":"e","channels":["a","private-b"],"data":"x","socket_id":"123.456","info":"subscription_count"}`)},
		{post, batchEvents, "", "", batch(2)},
		{post, batchEvents, "", "", batch(11)},
		{post, events, "", "", event("my-channel", strings.Repeat("x", DefaultMaxEventData+1))},
		{post, events, "", "", []byte(`{"name":"e","channel":"my-channel","data":{"message":"an object"}}`)},
		{post, events, "", "", []byte(`{"name":"e","channel":`)},
		{post, events, "", "", []byte(`{"name":"e","channel":"public-x","data":"x","info":"user_count"}`)},
		{get, channels, "", "filter_by_prefix=presence-&info=user_count", nil},
		{get, channels, "", "info=user_count", nil},
		{post, events, "", "", event("#server-to-user-1", "for user 1")},
		{get, channel, "#server-to-user-1", "info=subscription_count", nil},
		{get, channel, "cache-ünïcödé", "info=cache", nil},
		{get, users, "presence-日本語", "", nil},
		{post, terminate, "user/1 ü", "", nil},
		{post, events, "", "", nil},
		{get, events, "", "AUTH_KEY=other&x=1", []byte(`{}`)},
		{post, channel, "..", "", nil},
		{post, terminate, "/", "", []byte("0")}, // found by the fuzzer: the mux's 404 for %2F
	}
	for _, s := range seeds {
		f.Add(s.method, s.endpoint, s.seg, s.query, s.body)
	}

	srv, err := New(Config{Apps: []App{{ID: testAppID, Key: testKey, Secret: testSecret}}})
	if err != nil {
		f.Fatalf("New: %v", err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	inputs := 0

	f.Fuzz(func(t *testing.T, methodIdx, endpointIdx uint8, seg, rawQuery string, body []byte) {
		method := fuzzAPIMethods[int(methodIdx)%len(fuzzAPIMethods)]
		ep := fuzzAPIEndpoints[int(endpointIdx)%len(fuzzAPIEndpoints)]
		req, overridesAuth := fuzzAPIRequest(method, ep.path, seg, rawQuery, body)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		status, got := rec.Code, rec.Body.Bytes()
		desc := fmt.Sprintf("%s %s?%s body %q: %d %q", method, req.URL.EscapedPath(), req.URL.RawQuery, truncate(string(body), 300), status, truncate(string(got), 300))

		switch {
		case ep.withSeg && (seg == "" || seg == "." || seg == ".." || seg == "/"):
			// The mux answers, not the API: an unclean path is redirected, a missing segment is not
			// found, and neither is a segment that is only an escaped slash (%2F), which the mux's
			// routing tree takes for its trailing-slash marker (net/http/routing_tree.go).
			if status != http.StatusTemporaryRedirect && status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
				t.Fatalf("unroutable path: want 307, 404 or 405 from the mux; got %s", desc)
			}
		case method != ep.method:
			// The mux's 405 is plain text ("Method Not Allowed") with an Allow header.
			if status != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
				t.Fatalf("want a 405 with Allow from the mux; got %s", desc)
			}
		default:
			if !fuzzAPIStatuses[status] && !(status == http.StatusUnauthorized && overridesAuth) {
				t.Fatalf("unexpected status; got %s", desc)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q, want application/json; got %s", ct, desc)
			}
			if status == http.StatusOK {
				if !json.Valid(got) {
					t.Fatalf("200 with a body that is not JSON; got %s", desc)
				}
				break
			}
			var e map[string]any
			if err := json.Unmarshal(got, &e); err != nil {
				t.Fatalf("error body is not a JSON object (%v); got %s", err, desc)
			}
			if msg, _ := e["error"].(string); msg == "" {
				t.Fatalf(`error body has no non-empty "error" string; got %s`, desc)
			}
		}

		inputs++
		if inputs%500 == 0 {
			b := []byte(`{"name":"health","channel":"health-check","data":"ok"}`)
			hreq, _ := fuzzAPIRequest(http.MethodPost, "/events", "", "", b)
			hrec := httptest.NewRecorder()
			srv.ServeHTTP(hrec, hreq)
			if hrec.Code != http.StatusOK {
				t.Fatalf("after %d inputs a valid publish got %d %s", inputs, hrec.Code, hrec.Body)
			}
		}
	})
}
