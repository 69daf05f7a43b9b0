package ticketing_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pushcert/pushcert/internal/protocol"
	"github.com/pushcert/pushcert/internal/ticketing"
)

// fuzzAuthPaths and fuzzAuthContentTypes are what FuzzAuthEndpoint's indexes pick; the last
// entry of each is replaced by the fuzzed string.
var (
	fuzzAuthPaths = [...]string{
		ticketing.EndpointChannelAuth, ticketing.EndpointUserAuth,
		"/api" + ticketing.EndpointChannelAuth, "/api" + ticketing.EndpointUserAuth,
		"", // the fuzzed path
	}
	fuzzAuthContentTypes = [...]string{
		"application/x-www-form-urlencoded", "application/json", "application/json; charset=utf-8",
		"", // the fuzzed Content-Type
	}
	fuzzAuthStatuses = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 429: true}
	fuzzAuthValue    = regexp.MustCompile(`^` + regexp.QuoteMeta(appKey) + `:[0-9a-f]{64}$`)
)

// fuzzAuthParse reads socket_id and channel_name from a request the way the handler does: a
// JSON body when the media type is application/json, else the form (body, then query).
func fuzzAuthParse(method, target, contentType string, body []byte) (socketID, channel string) {
	r := httptest.NewRequest(method, "/", bytes.NewReader(body))
	r.URL = &url.URL{Path: target}
	r.Header.Set("Content-Type", contentType)
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/json" {
		var req struct {
			SocketID    string `json:"socket_id"`
			ChannelName string `json:"channel_name"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		return req.SocketID, req.ChannelName
	}
	_ = r.ParseForm()
	return r.Form.Get("socket_id"), r.Form.Get("channel_name")
}

// FuzzAuthEndpoint sends fuzzed auth requests (method, path, Content-Type, body, bearer token)
// to an in-process AuthHandler without rate limiting. It checks that the handler never panics,
// answers 200, 400, 401, 403, 404, 405 or 429, gives every refusal a JSON {"error": "..."} body,
// refuses a routed POST with 401 exactly when no valid token is sent, and answers 200 only to an
// authenticated request with an "auth" of the form key:64-hex that verifies for the request's
// socket_id and channel (or user_data, for sign-in).
func FuzzAuthEndpoint(f *testing.F) {
	const post, get = 0, 3
	const channelAuth, userAuth, apiChannelAuth, apiUserAuth, otherPath = 0, 1, 2, 3, 4
	const form, jsonCT, jsonUTF8, otherCT = 0, 1, 2, 3
	const noToken, validToken, sloppyToken, wrongToken = 0, 1, 2, 3
	// The customer below is the Directory's first record: id 1.
	seeds := []struct {
		method, path uint8
		otherPath    string
		ct           uint8
		otherCT      string
		body         string
		token        uint8
	}{
		{post, channelAuth, "", form, "", "socket_id=1234.5678&channel_name=private-customer.1", validToken},
		{post, apiChannelAuth, "", jsonCT, "", `{"socket_id":"1234.5678","channel_name":"presence-event.9.seats"}`, sloppyToken},
		{post, channelAuth, "", jsonUTF8, "", `{"socket_id":"1234.5678","channel_name":"presence-virtual-event.3"}`, validToken},
		{post, userAuth, "", form, "", "socket_id=1.2", validToken},
		{post, apiUserAuth, "", jsonCT, "", `{"socket_id":"1.2"}`, noToken},
		{post, channelAuth, "", form, "", "socket_id=1234.5678&channel_name=private-customer.2", validToken},
		{post, channelAuth, "", form, "", "socket_id=abc&channel_name=event.1", wrongToken},
		{post, channelAuth, "", jsonCT, "", `{"socket_id":`, validToken},
		{post, channelAuth, "", otherCT, "multipart/form-data; boundary=x", "--x--", validToken},
		{post, channelAuth, "", otherCT, "text/plain; charset=\xff", "socket_id=1.2&channel_name=event.1", validToken},
		{post, channelAuth, "", form, "", "socket_id=1.2&channel_name=%zz", validToken},
		{get, userAuth, "", form, "", "", validToken},
		{post, otherPath, "/api/broadcasting/auth/", form, "", "socket_id=1.2&channel_name=event.1", validToken},
		{post, otherPath, "/broadcasting/Auth", form, "", "", noToken},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.otherPath, s.ct, s.otherCT, []byte(s.body), s.token)
	}

	dir := ticketing.NewDirectory()
	cust := dir.AddCustomer(ticketing.Customer{FirstName: "Zoë", FullName: "Zoë \"Ω\" <Núñez>", TenantID: 1})
	tok, err := dir.IssueToken(cust.ID)
	if err != nil {
		f.Fatal(err)
	}
	h, err := ticketing.NewAuthHandler(ticketing.AuthConfig{Key: appKey, Secret: appSecret, Directory: dir, RateLimit: -1})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, methodIdx, pathIdx uint8, otherPath string, ctIdx uint8, otherCT string, body []byte, tokenIdx uint8) {
		method := http.MethodPost
		if methodIdx%4 == 3 {
			method = http.MethodGet
		}
		path := fuzzAuthPaths[int(pathIdx)%len(fuzzAuthPaths)]
		if path == "" {
			path = otherPath
		}
		ct := fuzzAuthContentTypes[int(ctIdx)%len(fuzzAuthContentTypes)]
		if ct == "" {
			ct = otherCT
		}
		authz, authed := "", false
		switch tokenIdx % 4 {
		case validToken:
			authz, authed = tok.Header(), true
		case sloppyToken:
			authz, authed = "bearer   "+string(tok)+" ", true
		case wrongToken:
			authz = "Bearer " + string(tok) + "x"
		}

		req := httptest.NewRequest(method, "/", bytes.NewReader(body))
		req.URL = &url.URL{Path: path}
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Content-Type", ct)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status, got := rec.Code, rec.Body.Bytes()
		desc := fmt.Sprintf("%s %q Content-Type %q Authorization %q body %q: %d %s", method, path, ct, authz, body, status, got)

		if !fuzzAuthStatuses[status] {
			t.Fatalf("unexpected status; got %s", desc)
		}
		var ans map[string]string
		if err := json.Unmarshal(got, &ans); err != nil {
			t.Fatalf("body is not a JSON object of strings (%v); got %s", err, desc)
		}
		endpoint := strings.TrimPrefix(path, "/api")
		routed := endpoint == ticketing.EndpointChannelAuth || endpoint == ticketing.EndpointUserAuth
		switch {
		case !routed:
			if status != http.StatusNotFound {
				t.Fatalf("unknown path: want 404; got %s", desc)
			}
		case method != http.MethodPost:
			if status != http.StatusMethodNotAllowed {
				t.Fatalf("%s: want 405; got %s", method, desc)
			}
		case !authed && status != http.StatusUnauthorized:
			t.Fatalf("no valid token: want 401; got %s", desc)
		case authed && status == http.StatusUnauthorized:
			t.Fatalf("valid token: got 401; got %s", desc)
		}
		if status != http.StatusOK {
			if ans["error"] == "" {
				t.Fatalf(`refusal without a non-empty "error"; got %s`, desc)
			}
			return
		}

		auth := ans["auth"]
		if !fuzzAuthValue.MatchString(auth) {
			t.Fatalf(`200 whose "auth" is not %s:<64 hex>; got %s`, appKey, desc)
		}
		socketID, channel := fuzzAuthParse(method, path, ct, body)
		if !protocol.ValidSocketID(socketID) {
			t.Fatalf("200 for socket_id %q; got %s", socketID, desc)
		}
		if endpoint == ticketing.EndpointUserAuth {
			if ans["user_data"] != ticketing.UserData(cust) {
				t.Fatalf("user_data is not the customer's %s; got %s", ticketing.UserData(cust), desc)
			}
			if !protocol.VerifyUserAuth(appKey, appSecret, socketID, ans["user_data"], auth) {
				t.Fatalf("auth does not verify for socket_id %q; got %s", socketID, desc)
			}
			return
		}
		if !protocol.ValidChannelName(channel) {
			t.Fatalf("200 for channel %q; got %s", channel, desc)
		}
		if cd, ok := ans["channel_data"]; ok != (protocol.KindOf(channel) == protocol.Presence) || (ok && !json.Valid([]byte(cd))) {
			t.Fatalf("channel_data (present %v) does not fit channel %q; got %s", ok, channel, desc)
		}
		if !protocol.VerifyChannelAuth(appKey, appSecret, socketID, channel, ans["channel_data"], auth) {
			t.Fatalf("auth does not verify for socket_id %q channel %q; got %s", socketID, channel, desc)
		}
	})
}
