package protocol

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"
)

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:connection_established","data":"{\"socket_id\":\"1234.5678\",\"activity_timeout\":120}"}`,
		`{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:s","channel_data":"{\"user_id\":\"1\"}"}}`,
		`{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\"id\":\"1\"}"}}`,
		`{"event":"pusher:ping","data":{}}`,
		`{"event":"pusher:pong"}`,
		`{"event":"client-typing","channel":"presence-x","data":{"t":true},"user_id":42}`,
		`{"event":"pusher:error","data":{"message":"x","code":null}}`,
		`{"event":"e","channel":"c","data":"\u2028<b>&\ud800"}`,
		`{"event":"","data":{}}`,
		`{"event":1}`,
		`{"event":"e","channel":["a"]}`,
		`{"event":"e","user_id":1e400}`,
		`{"EVENT":"e","Channel":"c"}`,
		`[{"event":"e"}]`,
		`{"event":"e"`,
		"\xff\xfe{",
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeMessage(frame)
		if err != nil {
			if !errors.Is(err, ErrNotJSONObject) && !errors.Is(err, ErrMissingEvent) && !errors.Is(err, ErrFieldType) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if m.Event == "" {
			t.Fatalf("decoded %q with an empty Event", frame)
		}
		if m.Data != nil && !json.Valid(m.Data) {
			t.Fatalf("Data is not valid JSON: %q", m.Data)
		}
		b1, err1 := m.DataBytes()
		var v any
		_ = m.DecodeData(&v)
		_, _ = ParseSubscribe(m)
		_, _ = ParseSignin(m)

		again, err := DecodeMessage(EncodeRawEvent(m.Event, m.Channel, m.Data, m.UserID))
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if again.Event != m.Event || again.Channel != m.Channel || again.UserID != m.UserID {
			t.Fatalf("round trip: got %+v, want %+v", again, m)
		}
		if (again.Data == nil) != (m.Data == nil) || again.DataIsString() != m.DataIsString() {
			t.Fatalf("round trip Data: got %q, want %q", again.Data, m.Data)
		}
		if m.DataIsString() {
			b2, err2 := again.DataBytes()
			if err1 != nil || err2 != nil || string(b1) != string(b2) {
				t.Fatalf("round trip string data: got %q (%v), want %q (%v)", b2, err2, b1, err1)
			}
		}
	})
}

func FuzzVerifyRequest(f *testing.F) {
	f.Add("POST", "/apps/3/events", "", []byte(`{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}`))
	f.Add("GET", "/apps/3/channels", "filter_by_prefix=presence-&info=user_count", []byte(nil))
	f.Add("GET", "/apps/3/channels", "channels[]=a&channels[]=b", []byte(nil))
	f.Add("get", "/apps/3/channels/presence-x/users", "A=1&a=2", []byte(nil))
	f.Add("POST", "/apps/3/events", "AUTH_KEY=x&Auth_Signature=y&body_md5=z", []byte("{}"))
	f.Add("POST", "/", "auth_timestamp=-9223372036854775808&auth_version=2.0", []byte("x"))
	f.Add("PUT", "/a b", "name=Something%20else&%zz", []byte(nil))
	f.Add("", "", ";;&&==", []byte("\x00"))
	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte) {
		const key, secret = "278d425bdf160c739803", "7ad3773142a6692b25b8"
		now := time.Unix(1353088179, 0)
		extra, _ := url.ParseQuery(rawQuery) // keep what parsed, as a lenient server would

		// The fuzzed request as sent: any verdict, no panic.
		_ = VerifyRequest(RequestCheck{Method: method, Path: path, Query: extra, Body: body, Key: key, Secret: secret, Now: now})

		q := SignRequest(key, secret, method, path, body, extra, now)
		check := RequestCheck{Method: method, Path: path, Query: q, Body: body, Key: key, Secret: secret, Now: now}
		if err := VerifyRequest(check); err != nil {
			t.Fatalf("signed request refused: %v\nquery %v", err, q)
		}
		wire, err := url.ParseQuery(q.Encode())
		if err != nil {
			t.Fatalf("encoded query does not parse: %v", err)
		}
		check.Query = wire
		if err := VerifyRequest(check); err != nil {
			t.Fatalf("signed request refused after the wire: %v\nquery %s", err, q.Encode())
		}

		sig := []byte(q.Get(ParamSignature))
		for _, i := range []int{0, len(sig) / 2, len(sig) - 1} {
			flipped := append([]byte(nil), sig...)
			if flipped[i] == '0' {
				flipped[i] = '1'
			} else {
				flipped[i] = '0'
			}
			bad := url.Values{}
			for k, vs := range q {
				bad[k] = vs
			}
			bad.Set(ParamSignature, string(flipped))
			check.Query = bad
			if err := VerifyRequest(check); !errors.Is(err, ErrAuthSignature) {
				t.Fatalf("signature with byte %d flipped: got %v, want %v", i, err, ErrAuthSignature)
			}
		}
	})
}

func FuzzParseSubscribe(f *testing.F) {
	for _, s := range []string{
		`{"event":"pusher:subscribe","data":{"channel":"private-foo","auth":"k:s"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:s","channel_data":"{\"user_id\":10}"}}`,
		`{"event":"pusher:subscribe","data":{"channel":"presence-x","channel_data":{"user_id":"1"}}}`,
		`{"event":"pusher:subscribe","data":"{\"channel\":\"a\"}"}`,
		`{"event":"pusher:subscribe","data":{"channel":1}}`,
		`{"event":"pusher:subscribe","data":"null"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeMessage(frame)
		if err != nil {
			return
		}
		d, err := ParseSubscribe(m)
		if err != nil {
			return
		}
		if d.ChannelData != "" {
			if pm, err := ParseChannelData(d.ChannelData); err == nil {
				_ = EncodeMemberAdded(d.Channel, pm.UserID, pm.UserInfo)
			}
		}
		_ = EncodeSubscriptionSucceeded(d.Channel, nil)
		_ = KindOf(d.Channel)
		_ = ValidChannelName(d.Channel)
	})
}

func FuzzParseChannelData(f *testing.F) {
	for _, s := range []string{
		`{"user_id":10,"user_info":{"name":"Mr. Channels"}}`,
		`{"user_id":"10","user_info":{"name":"Mr. Pusher"}}`,
		`{"user_id":"1"}`,
		`{"user_id":""}`,
		`{"user_id":null,"user_info":1}`,
		`{"user_id":-1.5e300}`,
		`{"user_id":[1]}`,
		`null`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, channelData string) {
		pm, err := ParseChannelData(channelData)
		if err != nil {
			return
		}
		if pm.UserID == "" || len(pm.UserID) > MaxPresenceUserIDLength {
			t.Fatalf("accepted user_id %q", pm.UserID)
		}
		if pm.UserInfo != nil && !json.Valid(pm.UserInfo) {
			t.Fatalf("UserInfo is not valid JSON: %q", pm.UserInfo)
		}
		m, err := DecodeMessage(EncodeMemberAdded("presence-x", pm.UserID, pm.UserInfo))
		if err != nil {
			t.Fatalf("member_added does not decode: %v", err)
		}
		var got struct {
			UserID string `json:"user_id"`
		}
		if err := m.DecodeData(&got); err != nil {
			t.Fatalf("member_added data: %v", err)
		}
		if got.UserID != pm.UserID {
			t.Fatalf("member_added user_id: got %q, want %q", got.UserID, pm.UserID)
		}
	})
}

func FuzzParseWebhook(f *testing.F) {
	for _, s := range []string{
		`{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}`,
		`{"time_ms":1,"events":[{"name":"member_added","channel":"presence-x","user_id":42}]}`,
		`{"time_ms":1,"events":[{"name":"client_event","channel":"private-x","event":"client-a","data":"{}","socket_id":"1.2","user_id":"7"}]}`,
		`{"time_ms":1,"events":[{"name":"subscription_count","channel":"x","subscription_count":3}]}`,
		`{"time_ms":"1","events":[]}`,
		`{"time_ms":1.5,"events":[]}`,
		`{"time_ms":1,"events":{}}`,
		`{"time_ms":1,"events":[{"name":""}]}`,
		`{"time_ms":1,"events":[{"name":"x","data":{}}]}`,
		`{"time_ms":1,"events":[null]}`,
		`{"events":[]}`,
		`[]`,
		"\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := ParseWebhook(body)
		if err != nil {
			if !errors.Is(err, ErrWebhookShape) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if w.TimeMs <= 0 {
			t.Fatalf("accepted time_ms %d", w.TimeMs)
		}
		for _, ev := range w.Events {
			if ev.Name == "" {
				t.Fatal("accepted an event without a name")
			}
		}
		// What parses re-encodes to a body that parses to the same value.
		again, err := ParseWebhook(EncodeWebhook(w.TimeMs, w.Events))
		if err != nil || again.TimeMs != w.TimeMs || len(again.Events) != len(w.Events) {
			t.Fatalf("round trip: %v %+v", err, again)
		}
	})
}
