package target

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		url, key         string
		wantURL, wantKey string
		wantErr          string
	}{
		{url: "ws://127.0.0.1:6001", key: "k", wantURL: "ws://127.0.0.1:6001", wantKey: "k"},
		{url: "ws://127.0.0.1:6001/app/k?protocol=7&client=js", wantURL: "ws://127.0.0.1:6001", wantKey: "k"},
		{url: "wss://rt.example.test/ws/app/k/", key: "k", wantURL: "wss://rt.example.test/ws", wantKey: "k"},
		{url: "https://rt.example.test", key: "k", wantURL: "wss://rt.example.test", wantKey: "k"},
		{url: "ws://127.0.0.1:6001/app/other", key: "k", wantErr: `names the app key "other" but --key is "k"`},
		{url: "ftp://127.0.0.1", key: "k", wantErr: "must be a ws:// or wss:// URL"},
		{url: "127.0.0.1:6001", key: "k", wantErr: "is not a URL"},
	} {
		tg := &Target{WebSocketURL: tc.url, Key: tc.key}
		_, err := tg.Normalize()
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.url, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tg.WebSocketURL != tc.wantURL || tg.Key != tc.wantKey:
			t.Errorf("%s: got %s key %q, want %s key %q", tc.url, tg.WebSocketURL, tg.Key, tc.wantURL, tc.wantKey)
		}
	}
}
