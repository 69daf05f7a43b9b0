package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	cases := []struct {
		name      string
		frame     string
		want      Message
		wantData  string // raw Data; "" means absent
		wantIsStr bool
		wantErr   error
	}{
		{
			name:     "object data",
			frame:    `{"event":"pusher:subscribe","data":{"channel":"private-foo","auth":"k:s"}}`,
			want:     Message{Event: "pusher:subscribe"},
			wantData: `{"channel":"private-foo","auth":"k:s"}`,
		},
		{
			name:      "string data (double encoded)",
			frame:     `{"event":"my-event","channel":"c","data":"{\"a\":1}"}`,
			want:      Message{Event: "my-event", Channel: "c"},
			wantData:  `"{\"a\":1}"`,
			wantIsStr: true,
		},
		{name: "missing data", frame: `{"event":"pusher:pong"}`, want: Message{Event: "pusher:pong"}},
		{name: "null data", frame: `{"event":"pusher:pong","data":null}`, want: Message{Event: "pusher:pong"}},
		{name: "surrounding whitespace", frame: " \n\t{\"event\":\"e\"}\r\n ", want: Message{Event: "e"}},
		{
			name:     "string user_id",
			frame:    `{"event":"client-x","channel":"presence-a","data":{},"user_id":"42"}`,
			want:     Message{Event: "client-x", Channel: "presence-a", UserID: "42"},
			wantData: `{}`,
		},
		{
			name:     "numeric user_id",
			frame:    `{"event":"client-x","channel":"presence-a","data":{},"user_id":42}`,
			want:     Message{Event: "client-x", Channel: "presence-a", UserID: "42"},
			wantData: `{}`,
		},
		{name: "null user_id and channel", frame: `{"event":"e","channel":null,"user_id":null}`, want: Message{Event: "e"}},
		{name: "array data kept", frame: `{"event":"e","data":[1,2]}`, want: Message{Event: "e"}, wantData: `[1,2]`},
		{name: "number data kept", frame: `{"event":"e","data":3}`, want: Message{Event: "e"}, wantData: `3`},
		{name: "unknown members ignored", frame: `{"event":"e","extra":{"x":[1]}}`, want: Message{Event: "e"}},

		{name: "invalid JSON", frame: `{"event":"e"`, wantErr: ErrNotJSONObject},
		{name: "trailing garbage", frame: `{"event":"e"} {}`, wantErr: ErrNotJSONObject},
		{name: "array", frame: `[{"event":"e"}]`, wantErr: ErrNotJSONObject},
		{name: "string", frame: `"pusher:ping"`, wantErr: ErrNotJSONObject},
		{name: "number", frame: `42`, wantErr: ErrNotJSONObject},
		{name: "null", frame: `null`, wantErr: ErrNotJSONObject},
		{name: "empty", frame: ``, wantErr: ErrNotJSONObject},
		{name: "whitespace only", frame: "  \n", wantErr: ErrNotJSONObject},
		{name: "missing event", frame: `{"channel":"c","data":{}}`, wantErr: ErrMissingEvent},
		{name: "empty event", frame: `{"event":""}`, wantErr: ErrMissingEvent},
		{name: "null event", frame: `{"event":null}`, wantErr: ErrMissingEvent},
		{name: "event is a number", frame: `{"event":1}`, wantErr: ErrFieldType},
		{name: "event is an object", frame: `{"event":{"name":"e"}}`, wantErr: ErrFieldType},
		{name: "channel is a number", frame: `{"event":"e","channel":7}`, wantErr: ErrFieldType},
		{name: "channel is an array", frame: `{"event":"e","channel":["a"]}`, wantErr: ErrFieldType},
		{name: "user_id is a bool", frame: `{"event":"e","user_id":true}`, wantErr: ErrFieldType},
		{name: "user_id is an object", frame: `{"event":"e","user_id":{"id":1}}`, wantErr: ErrFieldType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tc.frame))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v, want %v", err, tc.wantErr)
				}
				if m.Event != "" || m.Channel != "" || m.Data != nil || m.UserID != "" {
					t.Errorf("message on error: got %+v, want zero", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if m.Event != tc.want.Event || m.Channel != tc.want.Channel || m.UserID != tc.want.UserID {
				t.Errorf("message: got %+v, want %+v", m, tc.want)
			}
			if string(m.Data) != tc.wantData {
				t.Errorf("Data: got %q, want %q", m.Data, tc.wantData)
			}
			if tc.wantData == "" && m.Data != nil {
				t.Errorf("Data: got %q, want nil", m.Data)
			}
			if got := m.DataIsString(); got != tc.wantIsStr {
				t.Errorf("DataIsString: got %v, want %v", got, tc.wantIsStr)
			}
		})
	}
}

func TestDataBytesAndDecodeData(t *testing.T) {
	type payload struct {
		Channel string `json:"channel"`
		N       int    `json:"n"`
	}
	cases := []struct {
		name      string
		frame     string
		wantBytes string
		wantNil   bool
		want      payload
		wantErr   error // of DecodeData
	}{
		{name: "object", frame: `{"event":"e","data":{"channel":"a","n":1}}`, wantBytes: `{"channel":"a","n":1}`, want: payload{"a", 1}},
		{name: "string", frame: `{"event":"e","data":"{\"channel\":\"a\",\"n\":1}"}`, wantBytes: `{"channel":"a","n":1}`, want: payload{"a", 1}},
		{name: "string with escapes", frame: `{"event":"e","data":"{\"channel\":\"\\u00e9\\n\",\"n\":2}"}`, wantBytes: "{\"channel\":\"\\u00e9\\n\",\"n\":2}", want: payload{"é\n", 2}},
		{name: "absent", frame: `{"event":"e"}`, wantNil: true, wantErr: ErrFieldType},
		{name: "string that is not JSON", frame: `{"event":"e","data":"hello"}`, wantBytes: `hello`, wantErr: ErrFieldType},
		{name: "empty string", frame: `{"event":"e","data":""}`, wantBytes: ``, wantErr: ErrFieldType},
		{name: "array into struct", frame: `{"event":"e","data":[1]}`, wantBytes: `[1]`, wantErr: ErrFieldType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tc.frame))
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			b, err := m.DataBytes()
			if err != nil {
				t.Fatalf("DataBytes: got %v, want nil", err)
			}
			if string(b) != tc.wantBytes {
				t.Errorf("DataBytes: got %q, want %q", b, tc.wantBytes)
			}
			if tc.wantNil && b != nil {
				t.Errorf("DataBytes: got %q, want nil", b)
			}
			var p payload
			err = m.DecodeData(&p)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("DecodeData: got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeData: got %v, want nil", err)
			}
			if p != tc.want {
				t.Errorf("DecodeData: got %+v, want %+v", p, tc.want)
			}
		})
	}
}

func TestDataBytesBrokenString(t *testing.T) {
	// A Message built by hand can hold a broken string; DataBytes reports it instead of panicking.
	m := Message{Event: "e", Data: json.RawMessage(`"unterminated`)}
	if _, err := m.DataBytes(); !errors.Is(err, ErrFieldType) {
		t.Fatalf("DataBytes: got %v, want %v", err, ErrFieldType)
	}
}

func TestParseSubscribe(t *testing.T) {
	const cd = `{"user_id":"1","user_info":{"name":"a"}}`
	cases := []struct {
		name    string
		frame   string
		want    SubscribeData
		wantErr error
	}{
		{
			name:  "public from pusher-js with empty auth",
			frame: `{"event":"pusher:subscribe","data":{"auth":"","channel":"my-channel"}}`,
			want:  SubscribeData{Channel: "my-channel"},
		},
		{
			name:  "private",
			frame: `{"event":"pusher:subscribe","data":{"channel":"private-foo","auth":"k:sig"}}`,
			want:  SubscribeData{Channel: "private-foo", Auth: "k:sig"},
		},
		{
			name:  "presence channel_data as string",
			frame: `{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:sig","channel_data":"{\"user_id\":\"1\",\"user_info\":{\"name\":\"a\"}}"}}`,
			want:  SubscribeData{Channel: "presence-x", Auth: "k:sig", ChannelData: cd},
		},
		{
			name:  "presence channel_data as object keeps raw text",
			frame: `{"event":"pusher:subscribe","data":{"channel":"presence-x","auth":"k:sig","channel_data":{"user_id":"1", "user_info":{"name":"a"}}}}`,
			want:  SubscribeData{Channel: "presence-x", Auth: "k:sig", ChannelData: `{"user_id":"1", "user_info":{"name":"a"}}`},
		},
		{
			name:  "whole data double encoded (2013 spec)",
			frame: `{"event":"pusher:subscribe","data":"{\"channel\":\"private-foo\",\"auth\":\"k:sig\"}"}`,
			want:  SubscribeData{Channel: "private-foo", Auth: "k:sig"},
		},
		{
			name:  "null channel_data",
			frame: `{"event":"pusher:subscribe","data":{"channel":"a","channel_data":null}}`,
			want:  SubscribeData{Channel: "a"},
		},
		{
			name:  "unsubscribe",
			frame: `{"event":"pusher:unsubscribe","data":{"channel":"private-foo"}}`,
			want:  SubscribeData{Channel: "private-foo"},
		},
		{name: "missing data", frame: `{"event":"pusher:subscribe"}`, wantErr: ErrFieldType},
		{name: "channel is a number", frame: `{"event":"pusher:subscribe","data":{"channel":1}}`, wantErr: ErrFieldType},
		{name: "auth is an object", frame: `{"event":"pusher:subscribe","data":{"channel":"a","auth":{}}}`, wantErr: ErrFieldType},
		{name: "data is an array", frame: `{"event":"pusher:subscribe","data":["a"]}`, wantErr: ErrFieldType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(tc.frame))
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			got, err := ParseSubscribe(m)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error: got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSignin(t *testing.T) {
	m, err := DecodeMessage([]byte(`{"event":"pusher:signin","data":{"auth":"k:s","user_data":"{\"id\":\"1\"}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSignin(m)
	if err != nil {
		t.Fatalf("ParseSignin: got %v, want nil", err)
	}
	if want := (SigninData{Auth: "k:s", UserData: `{"id":"1"}`}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	m, _ = DecodeMessage([]byte(`{"event":"pusher:signin","data":{"auth":1}}`))
	if _, err := ParseSignin(m); !errors.Is(err, ErrFieldType) {
		t.Errorf("auth number: got %v, want %v", err, ErrFieldType)
	}
}

func TestParseChannelData(t *testing.T) {
	cases := []struct {
		name         string
		in           string
		wantID       string
		wantInfo     string // "" means nil
		wantErrMatch string // substring of the error; "" means success
	}{
		{name: "string id", in: `{"user_id":"10","user_info":{"name":"Mr. Pusher"}}`, wantID: "10", wantInfo: `{"name":"Mr. Pusher"}`},
		{name: "numeric id", in: `{"user_id":10,"user_info":{"name":"Mr. Channels"}}`, wantID: "10", wantInfo: `{"name":"Mr. Channels"}`},
		{name: "large numeric id kept as written", in: `{"user_id":9007199254740992}`, wantID: "9007199254740992"},
		{name: "no user_info", in: `{"user_id":"u"}`, wantID: "u"},
		{name: "null user_info", in: `{"user_id":"u","user_info":null}`, wantID: "u"},
		{name: "128-char id", in: `{"user_id":"` + strings.Repeat("a", 128) + `"}`, wantID: strings.Repeat("a", 128)},
		{name: "missing id", in: `{"user_info":{}}`, wantErrMatch: "no user_id"},
		{name: "null id", in: `{"user_id":null}`, wantErrMatch: "no user_id"},
		{name: "empty id", in: `{"user_id":""}`, wantErrMatch: "empty"},
		{name: "129-char id", in: `{"user_id":"` + strings.Repeat("a", 129) + `"}`, wantErrMatch: "longer than 128"},
		{name: "bool id", in: `{"user_id":true}`, wantErrMatch: "string or a number"},
		{name: "not JSON", in: `user_id=1`, wantErrMatch: "not a JSON object"},
		{name: "array", in: `[{"user_id":"1"}]`, wantErrMatch: "not a JSON object"},
		{name: "empty", in: ``, wantErrMatch: "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChannelData(tc.in)
			if tc.wantErrMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrMatch) {
					t.Fatalf("error: got %v, want one containing %q", err, tc.wantErrMatch)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if got.UserID != tc.wantID {
				t.Errorf("UserID: got %q, want %q", got.UserID, tc.wantID)
			}
			if string(got.UserInfo) != tc.wantInfo || (tc.wantInfo == "" && got.UserInfo != nil) {
				t.Errorf("UserInfo: got %q, want %q", got.UserInfo, tc.wantInfo)
			}
		})
	}
}

func TestParseUserData(t *testing.T) {
	cases := []struct {
		name          string
		in            string
		wantID        string
		wantWatchlist []string
		wantErr       bool
	}{
		{name: "ok", in: `{"id":"12345"}`, wantID: "12345"},
		{name: "ok with user_info", in: `{"id":"a-b_c","user_info":{"name":"x"}}`, wantID: "a-b_c"},
		{name: "watchlist", in: `{"id":"A","watchlist":["B","C"]}`, wantID: "A", wantWatchlist: []string{"B", "C"}},
		{name: "numeric id refused", in: `{"id":12345}`, wantErr: true},
		{name: "empty id", in: `{"id":""}`, wantErr: true},
		{name: "missing id", in: `{"user_info":{}}`, wantErr: true},
		{name: "empty string", in: ``, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "id with space", in: `{"id":"a b"}`, wantErr: true},
		{name: "id with hash", in: `{"id":"#a"}`, wantErr: true},
		{name: "id with slash", in: `{"id":"a/b"}`, wantErr: true},
		{name: "id non-ASCII", in: `{"id":"é"}`, wantErr: true},
		{name: "watchlist of numbers", in: `{"id":"A","watchlist":[1]}`, wantErr: true},
		{name: "watchlist not an array", in: `{"id":"A","watchlist":"B"}`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUserData(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("error: got nil, want one (parsed %+v)", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if got.ID != tc.wantID {
				t.Errorf("ID: got %q, want %q", got.ID, tc.wantID)
			}
			if strings.Join(got.Watchlist, ",") != strings.Join(tc.wantWatchlist, ",") {
				t.Errorf("Watchlist: got %q, want %q", got.Watchlist, tc.wantWatchlist)
			}
			if got.Raw != tc.in {
				t.Errorf("Raw: got %q, want %q", got.Raw, tc.in)
			}
		})
	}
}

func TestEncoders(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{
			name: "connection_established",
			got:  EncodeConnectionEstablished("1234.5678", 120),
			want: `{"event":"pusher:connection_established","data":"{\"socket_id\":\"1234.5678\",\"activity_timeout\":120}"}`,
		},
		{
			name: "error with code",
			got:  EncodeError(4001, "Application does not exist", ""),
			want: `{"event":"pusher:error","data":{"message":"Application does not exist","code":4001}}`,
		},
		{
			name: "error code 0 is null",
			got:  EncodeError(0, "Existing subscription to channel a", ""),
			want: `{"event":"pusher:error","data":{"message":"Existing subscription to channel a","code":null}}`,
		},
		{
			name: "error with channel",
			got:  EncodeError(4301, "Rate limit exceeded", "private-a"),
			want: `{"event":"pusher:error","channel":"private-a","data":{"message":"Rate limit exceeded","code":4301}}`,
		},
		{
			name: "subscription_succeeded public",
			got:  EncodeSubscriptionSucceeded("my-channel", nil),
			want: `{"event":"pusher_internal:subscription_succeeded","channel":"my-channel","data":"{}"}`,
		},
		{
			name: "subscription_succeeded presence",
			got: EncodeSubscriptionSucceeded("presence-x", &PresenceData{
				IDs:   []string{"1", "2"},
				Hash:  map[string]json.RawMessage{"2": json.RawMessage(`{"name":"b"}`), "1": json.RawMessage(`{"name":"a"}`)},
				Count: 2,
			}),
			want: `{"event":"pusher_internal:subscription_succeeded","channel":"presence-x","data":"{\"presence\":{\"ids\":[\"1\",\"2\"],\"hash\":{\"1\":{\"name\":\"a\"},\"2\":{\"name\":\"b\"}},\"count\":2}}"}`,
		},
		{
			name: "subscription_succeeded presence, member without user_info",
			got: EncodeSubscriptionSucceeded("presence-x", &PresenceData{
				IDs: []string{"1"}, Hash: map[string]json.RawMessage{"1": nil}, Count: 1,
			}),
			want: `{"event":"pusher_internal:subscription_succeeded","channel":"presence-x","data":"{\"presence\":{\"ids\":[\"1\"],\"hash\":{\"1\":null},\"count\":1}}"}`,
		},
		{
			name: "subscription_succeeded presence, nil lists encode empty",
			got:  EncodeSubscriptionSucceeded("presence-x", &PresenceData{}),
			want: `{"event":"pusher_internal:subscription_succeeded","channel":"presence-x","data":"{\"presence\":{\"ids\":[],\"hash\":{},\"count\":0}}"}`,
		},
		{
			name: "subscription_succeeded presence, broken user_info does not panic",
			got: EncodeSubscriptionSucceeded("presence-x", &PresenceData{
				IDs: []string{"1", "2"}, Hash: map[string]json.RawMessage{"1": {}, "2": json.RawMessage(`{`)}, Count: 2,
			}),
			want: `{"event":"pusher_internal:subscription_succeeded","channel":"presence-x","data":"{\"presence\":{\"ids\":[\"1\",\"2\"],\"hash\":{\"1\":null,\"2\":null},\"count\":2}}"}`,
		},
		{
			name: "member_added",
			got:  EncodeMemberAdded("presence-x", "1", json.RawMessage(`{"name":"a"}`)),
			want: `{"event":"pusher_internal:member_added","channel":"presence-x","data":"{\"user_id\":\"1\",\"user_info\":{\"name\":\"a\"}}"}`,
		},
		{
			name: "member_added without user_info",
			got:  EncodeMemberAdded("presence-x", "1", nil),
			want: `{"event":"pusher_internal:member_added","channel":"presence-x","data":"{\"user_id\":\"1\"}"}`,
		},
		{
			name: "member_added with broken user_info does not panic",
			got:  EncodeMemberAdded("presence-x", "1", json.RawMessage(`{"name":`)),
			want: `{"event":"pusher_internal:member_added","channel":"presence-x","data":"{\"user_id\":\"1\"}"}`,
		},
		{
			name: "member_removed",
			got:  EncodeMemberRemoved("presence-x", "1"),
			want: `{"event":"pusher_internal:member_removed","channel":"presence-x","data":"{\"user_id\":\"1\"}"}`,
		},
		{
			name: "event data forwarded verbatim as a string",
			got:  EncodeEvent("my-event", "my-channel", `{"some":"data"}`, ""),
			want: `{"event":"my-event","channel":"my-channel","data":"{\"some\":\"data\"}"}`,
		},
		{
			name: "event data that is not JSON",
			got:  EncodeEvent("my-event", "my-channel", "hello world", ""),
			want: `{"event":"my-event","channel":"my-channel","data":"hello world"}`,
		},
		{
			name: "event with user_id",
			got:  EncodeEvent("client-x", "presence-x", `{}`, "7"),
			want: `{"event":"client-x","channel":"presence-x","data":"{}","user_id":"7"}`,
		},
		{
			name: "raw event with object data and user_id",
			got:  EncodeRawEvent("client-typing", "presence-x", json.RawMessage(`{"typing":true}`), "7"),
			want: `{"event":"client-typing","channel":"presence-x","data":{"typing":true},"user_id":"7"}`,
		},
		{
			name: "raw event with string data",
			got:  EncodeRawEvent("client-x", "private-x", json.RawMessage(`"hi"`), ""),
			want: `{"event":"client-x","channel":"private-x","data":"hi"}`,
		},
		{
			name: "raw event compacts data",
			got:  EncodeRawEvent("client-x", "private-x", json.RawMessage("{ \"a\" : [1, 2] }"), ""),
			want: `{"event":"client-x","channel":"private-x","data":{"a":[1,2]}}`,
		},
		{
			name: "raw event drops invalid data",
			got:  EncodeRawEvent("client-x", "private-x", json.RawMessage(`{"a"`), ""),
			want: `{"event":"client-x","channel":"private-x"}`,
		},
		{
			name: "signin_success",
			got:  EncodeSigninSuccess(`{"id":"1"}`),
			want: `{"event":"pusher:signin_success","data":{"user_data":"{\"id\":\"1\"}"}}`,
		},
		{
			name: "watchlist",
			got:  EncodeWatchlist([]WatchlistEvent{{Name: "online", UserIDs: []string{"B"}}, {Name: "offline", UserIDs: []string{"C", "D"}}}),
			want: `{"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":["B"]},{"name":"offline","user_ids":["C","D"]}]}}`,
		},
		{
			name: "watchlist nil lists encode empty",
			got:  EncodeWatchlist([]WatchlistEvent{{Name: "online"}}),
			want: `{"event":"pusher_internal:watchlist_events","data":{"events":[{"name":"online","user_ids":[]}]}}`,
		},
		{
			name: "watchlist nil",
			got:  EncodeWatchlist(nil),
			want: `{"event":"pusher_internal:watchlist_events","data":{"events":[]}}`,
		},
		{
			name: "cache_miss",
			got:  EncodeCacheMiss("cache-x"),
			want: `{"event":"pusher:cache_miss","channel":"cache-x"}`,
		},
		{name: "ping", got: FramePing, want: `{"event":"pusher:ping","data":{}}`},
		{name: "pong", got: FramePong, want: `{"event":"pusher:pong","data":{}}`},
		{
			name: "internal event without data",
			got:  EncodeInternal(EventSubscriptionCount, "c", nil),
			want: `{"event":"pusher_internal:subscription_count","channel":"c"}`,
		},
		{
			name: "subscription_count",
			got:  EncodeSubscriptionCount("room", 12),
			want: `{"event":"pusher_internal:subscription_count","channel":"room","data":"{\"subscription_count\":12}"}`,
		},
		{
			name: "internal event with data",
			got:  EncodeInternal(EventSubscriptionCount, "c", map[string]int{"subscription_count": 3}),
			want: `{"event":"pusher_internal:subscription_count","channel":"c","data":"{\"subscription_count\":3}"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.got) != tc.want {
				t.Errorf("got  %s\nwant %s", tc.got, tc.want)
			}
			if !json.Valid(tc.got) {
				t.Errorf("frame is not valid JSON: %s", tc.got)
			}
		})
	}
}

// TestEncodersDecodeBack checks the encodings clients depend on through DecodeMessage: the
// handshake's data is a JSON string holding an object, pusher:error's data is an object.
func TestEncodersDecodeBack(t *testing.T) {
	m, err := DecodeMessage(EncodeConnectionEstablished("1.2", 30))
	if err != nil {
		t.Fatal(err)
	}
	if !m.DataIsString() {
		t.Errorf("connection_established data: got %s, want a JSON string", m.Data)
	}
	var ce ConnectionEstablished
	if err := m.DecodeData(&ce); err != nil {
		t.Fatal(err)
	}
	if want := (ConnectionEstablished{SocketID: "1.2", ActivityTimeout: 30}); ce != want {
		t.Errorf("connection_established: got %+v, want %+v", ce, want)
	}

	m, err = DecodeMessage(EncodeError(4009, "Connection is unauthorized", "private-a"))
	if err != nil {
		t.Fatal(err)
	}
	if m.DataIsString() {
		t.Errorf("pusher:error data: got a string %s, want an object", m.Data)
	}
	var ed ErrorData
	if err := m.DecodeData(&ed); err != nil {
		t.Fatal(err)
	}
	if ed.Code == nil || *ed.Code != 4009 || ed.Message != "Connection is unauthorized" || m.Channel != "private-a" {
		t.Errorf("pusher:error: got %+v code %v channel %q", ed, ed.Code, m.Channel)
	}

	// A data string with characters JSON escapes survives the double encoding unchanged.
	data := "<b>\"quoted\" & \\ \u2028 é</b>"
	m, err = DecodeMessage(EncodeEvent("e", "c", data, ""))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.DataBytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != data {
		t.Errorf("EncodeEvent data round trip: got %q, want %q", got, data)
	}
}

func TestSocketID(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"1234.5678", true},
		{"0.0", true},
		{"18446744073709551615.18446744073709551615", true},
		{"", false},
		{".", false},
		{"1234.", false},
		{".5678", false},
		{"1234", false},
		{"1234.5678.9", false},
		{"12a4.5678", false},
		{"-1.5", false},
		{"+1.5", false},
		{"1.5 ", false},
		{" 1.5", false},
		{"1,5", false},
		{"١.٢", false}, // Arabic-Indic digits are not \d in the SDK regexp
	}
	for _, tc := range cases {
		if got := ValidSocketID(tc.id); got != tc.want {
			t.Errorf("ValidSocketID(%q): got %v, want %v", tc.id, got, tc.want)
		}
	}
	formats := []struct {
		a, b uint64
		want string
	}{
		{1234, 5678, "1234.5678"},
		{0, 0, "0.0"},
		{^uint64(0), 1, "18446744073709551615.1"},
	}
	for _, tc := range formats {
		got := FormatSocketID(tc.a, tc.b)
		if got != tc.want {
			t.Errorf("FormatSocketID(%d, %d): got %q, want %q", tc.a, tc.b, got, tc.want)
		}
		if !ValidSocketID(got) {
			t.Errorf("ValidSocketID(FormatSocketID(%d, %d)): got false, want true", tc.a, tc.b)
		}
	}
}
