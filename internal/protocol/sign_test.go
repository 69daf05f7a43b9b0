package protocol

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testKey    = "278d425bdf160c739803"
	testSecret = "7ad3773142a6692b25b8"
	testPath   = "/apps/3/events"
)

var testNow = time.Unix(1353088179, 0)

// resign recomputes auth_signature after a test edited the query, so that only the edited
// property is wrong.
func resign(method, path string, q url.Values) url.Values {
	q.Del(ParamSignature)
	q.Set(ParamSignature, HMACHex(testSecret, StringToSign(method, path, q)))
	return q
}

func TestVerifyRequest(t *testing.T) {
	body := []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`)
	signed := func() url.Values {
		return SignRequest(testKey, testSecret, "POST", testPath, body, nil, testNow)
	}
	signedAt := func(ts time.Time) url.Values {
		return SignRequest(testKey, testSecret, "POST", testPath, body, nil, ts)
	}
	// set returns a signed query whose parameter p is v, re-signed so only p is wrong.
	set := func(p, v string) url.Values {
		q := signed()
		q.Set(p, v)
		return resign("POST", testPath, q)
	}
	without := func(p string) url.Values {
		q := signed()
		q.Del(p)
		if p != ParamSignature {
			q = resign("POST", testPath, q)
		}
		return q
	}

	cases := []struct {
		name    string
		method  string // default POST
		path    string // default testPath
		query   url.Values
		body    []byte // default body; use empty to send none
		noBody  bool
		key     string // default testKey
		now     time.Time
		window  time.Duration
		wantErr error
	}{
		{name: "valid", query: signed()},
		{name: "missing auth_key", query: without(ParamKey), wantErr: ErrAuthMissing},
		{name: "missing auth_timestamp", query: without(ParamTimestamp), wantErr: ErrAuthMissing},
		{name: "missing auth_version", query: without(ParamVersion), wantErr: ErrAuthMissing},
		{name: "missing auth_signature", query: without(ParamSignature), wantErr: ErrAuthMissing},
		{name: "empty auth_key", query: set(ParamKey, ""), wantErr: ErrAuthMissing},
		{name: "wrong key", query: signed(), key: "otherkey", wantErr: ErrAuthKey},
		{name: "key of another app in query", query: set(ParamKey, "otherkey"), wantErr: ErrAuthKey},
		{name: "stale timestamp now-601s", query: signedAt(testNow.Add(-601 * time.Second)), wantErr: ErrAuthTimestamp},
		{name: "future timestamp now+601s", query: signedAt(testNow.Add(601 * time.Second)), wantErr: ErrAuthTimestamp},
		{name: "exactly now-600s accepted", query: signedAt(testNow.Add(-600 * time.Second))},
		{name: "exactly now+600s accepted", query: signedAt(testNow.Add(600 * time.Second))},
		{name: "custom window 10s refuses 11s", query: signedAt(testNow.Add(-11 * time.Second)), window: 10 * time.Second, wantErr: ErrAuthTimestamp},
		{name: "custom window 10s accepts 10s", query: signedAt(testNow.Add(-10 * time.Second)), window: 10 * time.Second},
		{name: "negative window disables check", query: signedAt(testNow.Add(-48 * time.Hour)), window: -1},
		{name: "timestamp not a number", query: set(ParamTimestamp, "yesterday"), wantErr: ErrAuthTimestamp},
		{
			// now - 2^63 made |now-ts| overflow to a negative number, which passed the window.
			name:    "timestamp overflowing the skew",
			query:   set(ParamTimestamp, strconv.FormatInt(testNow.Unix()+math.MinInt64, 10)),
			wantErr: ErrAuthTimestamp,
		},
		{name: "timestamp max int64", query: set(ParamTimestamp, strconv.FormatInt(math.MaxInt64, 10)), wantErr: ErrAuthTimestamp},
		{name: "timestamp min int64", query: set(ParamTimestamp, strconv.FormatInt(math.MinInt64, 10)), wantErr: ErrAuthTimestamp},
		{name: "wrong body_md5", query: set(ParamBodyMD5, BodyMD5([]byte("other"))), wantErr: ErrBodyMD5},
		{name: "uppercase body_md5 hex", query: set(ParamBodyMD5, strings.ToUpper(BodyMD5(body))), wantErr: ErrBodyMD5},
		{name: "body_md5 missing with non-empty body", query: without(ParamBodyMD5), wantErr: ErrBodyMD5},
		{name: "body changed after signing", query: signed(), body: []byte(`{"name":"bar"}`), wantErr: ErrBodyMD5},
		{name: "body_md5 present with empty body", query: signed(), noBody: true, wantErr: ErrBodyMD5},
		{name: "empty body, no body_md5", query: SignRequest(testKey, testSecret, "GET", "/apps/3/channels", nil, nil, testNow), method: "GET", path: "/apps/3/channels", noBody: true},
		{name: "empty body, body_md5 of empty body", method: "GET", path: "/apps/3/channels", noBody: true,
			query: resign("GET", "/apps/3/channels", func() url.Values {
				q := SignRequest(testKey, testSecret, "GET", "/apps/3/channels", nil, nil, testNow)
				q.Set(ParamBodyMD5, BodyMD5(nil))
				return q
			}())},
		{name: "bad signature", query: func() url.Values { q := signed(); q.Set(ParamSignature, strings.Repeat("0", 64)); return q }(), wantErr: ErrAuthSignature},
		{name: "uppercase signature hex", query: func() url.Values {
			q := signed()
			q.Set(ParamSignature, strings.ToUpper(q.Get(ParamSignature)))
			return q
		}(), wantErr: ErrAuthSignature},
		{name: "signature of another secret", query: func() url.Values {
			q := signed()
			q.Del(ParamSignature)
			q.Set(ParamSignature, HMACHex("other-secret", StringToSign("POST", testPath, q)))
			return q
		}(), wantErr: ErrAuthSignature},
		{name: "extra parameter added after signing", query: func() url.Values { q := signed(); q.Set("info", "user_count"); return q }(), wantErr: ErrAuthSignature},
		{name: "tampered path", query: signed(), path: "/apps/4/events", wantErr: ErrAuthSignature},
		{name: "tampered method", query: signed(), method: "PUT", wantErr: ErrAuthSignature},
		{name: "lowercase method signs as uppercase", query: signed(), method: "post"},
		{name: "auth_version 2.0", query: set(ParamVersion, "2.0"), wantErr: ErrAuthVersion},
		{name: "auth_version 1", query: set(ParamVersion, "1"), wantErr: ErrAuthVersion},
		{name: "uppercase query keys", query: func() url.Values {
			// Signed with the keys lowercased; sent with mixed case. Lookup and signing both
			// lowercase, so the request is valid.
			q := signed()
			upper := url.Values{}
			for k, vs := range q {
				upper[strings.ToUpper(k[:1])+k[1:]] = vs
			}
			upper["Auth_Key"] = upper["Auth_key"]
			delete(upper, "Auth_key")
			return upper
		}()},
		{name: "uppercase query keys, signed as sent", query: resign("POST", testPath, func() url.Values {
			q := signed()
			q["AUTH_TIMESTAMP"] = q[ParamTimestamp]
			delete(q, ParamTimestamp)
			return q
		}())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := RequestCheck{
				Method: tc.method, Path: tc.path, Query: tc.query, Body: tc.body,
				Key: tc.key, Secret: testSecret, Now: tc.now, Window: tc.window,
			}
			if c.Method == "" {
				c.Method = "POST"
			}
			if c.Path == "" {
				c.Path = testPath
			}
			if c.Body == nil && !tc.noBody {
				c.Body = body
			}
			if c.Key == "" {
				c.Key = testKey
			}
			if c.Now.IsZero() {
				c.Now = testNow
			}
			err := VerifyRequest(c)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifyRequest: got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("VerifyRequest: got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyRequestZeroNowUsesClock(t *testing.T) {
	q := SignRequest(testKey, testSecret, "GET", "/apps/3/channels", nil, nil, time.Now())
	err := VerifyRequest(RequestCheck{Method: "GET", Path: "/apps/3/channels", Query: q, Key: testKey, Secret: testSecret})
	if err != nil {
		t.Fatalf("VerifyRequest with zero Now: got %v, want nil", err)
	}
}

func TestSignRequestRoundTrip(t *testing.T) {
	cases := []struct {
		name, method, path string
		body               []byte
		extra              url.Values
	}{
		{"post with body", "POST", "/apps/3/events", []byte(`{"name":"e","channel":"c","data":"x"}`), nil},
		{"get without body", "GET", "/apps/3/channels", nil, url.Values{"filter_by_prefix": {"presence-"}, "info": {"user_count"}}},
		{"get with array params", "GET", "/apps/3/channels", nil, url.Values{"channels[]": {"a", "b"}}},
		{"unescaped values", "GET", "/apps/3/channels/presence-x", nil, url.Values{"name": {"Something else&x=y"}}},
		{"mixed-case extra key", "GET", "/apps/3/channels", nil, url.Values{"Info": {"user_count"}}},
		{"extra keys differing by case", "GET", "/apps/3/channels", nil, url.Values{"a": {"1"}, "A": {"2"}}},
		{"extra shadowing auth params", "POST", "/apps/3/events", []byte("{}"), url.Values{
			"auth_key": {"x"}, "AUTH_KEY": {"y"}, "Auth_Signature": {"z"}, "BODY_MD5": {"w"}, "auth_timestamp": {"0"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := SignRequest(testKey, testSecret, tc.method, tc.path, tc.body, tc.extra, testNow)
			// Through the wire: encode and parse the query as a server would.
			parsed, err := url.ParseQuery(q.Encode())
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			err = VerifyRequest(RequestCheck{
				Method: tc.method, Path: tc.path, Query: parsed, Body: tc.body,
				Key: testKey, Secret: testSecret, Now: testNow.Add(5 * time.Second),
			})
			if err != nil {
				t.Fatalf("VerifyRequest(SignRequest(...)): got %v, want nil", err)
			}
			for k, vs := range tc.extra {
				if authParam(k) {
					continue
				}
				if got := parsed[k]; strings.Join(got, ",") != strings.Join(vs, ",") {
					t.Errorf("extra %s: got %v, want %v", k, got, vs)
				}
			}
			if got := parsed.Get(ParamKey); got != testKey {
				t.Errorf("auth_key: got %q, want %q", got, testKey)
			}
		})
	}
}

func TestSignRequestDoesNotAliasExtra(t *testing.T) {
	extra := url.Values{"info": {"a"}}
	q := SignRequest(testKey, testSecret, "GET", "/p", nil, extra, testNow)
	q["info"][0] = "changed"
	if got := extra["info"][0]; got != "a" {
		t.Errorf("extra after SignRequest: got %q, want %q", got, "a")
	}
	if _, ok := extra[ParamKey]; ok {
		t.Errorf("SignRequest added %s to extra", ParamKey)
	}
}

func TestStringToSign(t *testing.T) {
	cases := []struct {
		name, method, path string
		query              url.Values
		want               string
	}{
		{"empty query", "get", "/p", nil, "GET\n/p\n"},
		{"signature excluded", "GET", "/p", url.Values{"auth_signature": {"x"}, "a": {"1"}}, "GET\n/p\na=1"},
		{"uppercase signature key excluded", "GET", "/p", url.Values{"AUTH_SIGNATURE": {"x"}, "a": {"1"}}, "GET\n/p\na=1"},
		{"keys lowercased and sorted", "GET", "/p", url.Values{"B": {"2"}, "a": {"1"}, "C": {"3"}}, "GET\n/p\na=1&b=2&c=3"},
		{"sorted by byte order", "GET", "/p", url.Values{"b": {"1"}, "a_b": {"2"}, "a": {"3"}, "a[]": {"4"}}, "GET\n/p\na=3&a[]=4&a_b=2&b=1"},
		{"not escaped", "GET", "/p", url.Values{"name": {"Something else"}}, "GET\n/p\nname=Something else"},
		{"repeated key joined by comma", "GET", "/p", url.Values{"channels[]": {"a", "b"}}, "GET\n/p\nchannels[]=a,b"},
		// Keys differing only by case merge in byte order of the original keys ("A" < "a").
		{"case variants merge deterministically", "GET", "/p", url.Values{"a": {"1"}, "A": {"2"}}, "GET\n/p\na=2,1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 20; i++ { // map order must not matter
				if got := StringToSign(tc.method, tc.path, tc.query); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestVerifyWebhookCase(t *testing.T) {
	body := []byte(`{"time_ms":1,"events":[]}`)
	sig := WebhookSignature(testSecret, body)
	cases := []struct {
		name, sig string
		want      bool
	}{
		{"exact", sig, true},
		{"uppercase hex", strings.ToUpper(sig), true},
		{"truncated", sig[:63], false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyWebhook(testSecret, body, tc.sig); got != tc.want {
				t.Errorf("VerifyWebhook: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestChannelAndUserAuthRefusals(t *testing.T) {
	good := SignChannel(testKey, testSecret, "1.1", "private-a", "")
	cases := []struct {
		name string
		ok   bool
	}{
		{"good", VerifyChannelAuth(testKey, testSecret, "1.1", "private-a", "", good)},
		{"signature only, no key", !VerifyChannelAuth(testKey, testSecret, "1.1", "private-a", "", good[len(testKey)+1:])},
		{"other channel", !VerifyChannelAuth(testKey, testSecret, "1.1", "private-b", "", good)},
		{"presence data added", !VerifyChannelAuth(testKey, testSecret, "1.1", "private-a", `{"user_id":"1"}`, good)},
		{"empty auth", !VerifyChannelAuth(testKey, testSecret, "1.1", "private-a", "", "")},
		{"user auth is not channel auth", !VerifyUserAuth(testKey, testSecret, "1.1", "private-a", good)},
	}
	for _, tc := range cases {
		if !tc.ok {
			t.Errorf("%s: got the wrong verdict", tc.name)
		}
	}
}
