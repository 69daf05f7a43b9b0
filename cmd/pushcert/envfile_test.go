package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeEnv(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A Laravel .env names the target through its broadcasting connection's settings.
func TestLaravelSettings(t *testing.T) {
	for _, tc := range []struct {
		name                               string
		env                                map[string]string
		target, api, id, key, secret, fail string
	}{
		{name: "reverb as reverb:install writes it", env: map[string]string{"BROADCAST_CONNECTION": "reverb", "REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s",
			"REVERB_HOST": "localhost", "REVERB_PORT": "8080", "REVERB_SCHEME": "http", "PUSHER_APP_KEY": "other"},
			target: "ws://localhost:8080", api: "http://localhost:8080", id: "1", key: "k", secret: "s"},
		{name: "pusher on a host, https by default", env: map[string]string{"BROADCAST_DRIVER": "pusher", "PUSHER_APP_ID": "2", "PUSHER_APP_KEY": "pk", "PUSHER_APP_SECRET": "ps", "PUSHER_HOST": "soketi.example"},
			target: "wss://soketi.example:443", api: "https://soketi.example:443", id: "2", key: "pk", secret: "ps"},
		{name: "Pusher's service by cluster", env: map[string]string{"PUSHER_APP_ID": "3", "PUSHER_APP_KEY": "ck", "PUSHER_APP_SECRET": "cs", "PUSHER_APP_CLUSTER": "eu"},
			target: "wss://ws-eu.pusher.com", api: "https://api-eu.pusher.com", id: "3", key: "ck", secret: "cs"},
		{name: "no connection named, reverb keys", env: map[string]string{"REVERB_APP_ID": "4", "REVERB_APP_KEY": "rk", "REVERB_APP_SECRET": "rs", "REVERB_HOST": "::1", "REVERB_PORT": "6001", "REVERB_SCHEME": "http"},
			target: "ws://[::1]:6001", api: "http://[::1]:6001", id: "4", key: "rk", secret: "rs"},
		{name: "PUSHCERT names first", env: map[string]string{"PUSHCERT_TARGET": "ws://127.0.0.1:1", "PUSHCERT_APP_ID": "5", "PUSHCERT_APP_KEY": "xk", "PUSHCERT_APP_SECRET": "xs", "REVERB_APP_KEY": "rk"},
			target: "ws://127.0.0.1:1", id: "5", key: "xk", secret: "xs"},
		{name: "log driver", env: map[string]string{"BROADCAST_CONNECTION": "log"}, fail: `BROADCAST_CONNECTION is "log"`},
		{name: "bad scheme", env: map[string]string{"REVERB_APP_KEY": "k", "REVERB_HOST": "h", "REVERB_SCHEME": "ftp"}, fail: `REVERB_SCHEME is "ftp"`},
		{name: "nothing", env: map[string]string{"APP_NAME": "Tickets"}, fail: "no broadcasting settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := laravelSettings(tc.env)
			if tc.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Fatalf("err %v, want one saying %q", err, tc.fail)
				}
				return
			}
			if err != nil || s.target != tc.target || s.apiURL != tc.api || s.appID != tc.id || s.key != tc.key || s.secret != tc.secret {
				t.Errorf("got %+v %v, want target %s api %s id %s key %s secret %s", s, err, tc.target, tc.api, tc.id, tc.key, tc.secret)
			}
		})
	}
}

// check --env-file tests the server a Laravel app is configured for (with ${} references as
// the .env has them); a flag given wins over the file, wherever it stands; a file that names no
// server is a usage error.
func TestCheckEnvFile(t *testing.T) {
	tg, _ := verbTarget(t)
	u, _ := url.Parse(tg.WebSocketURL)
	env := writeEnv(t, "APP_NAME=Tickets\nBROADCAST_CONNECTION=reverb\nREVERB_APP_ID="+tg.AppID+"\nREVERB_APP_KEY="+tg.Key+
		"\nREVERB_APP_SECRET=\"wrong\"\nREVERB_HOST=\""+u.Hostname()+"\"\nREVERB_PORT="+u.Port()+"\nREVERB_SCHEME=http\nVITE_REVERB_HOST=\"${REVERB_HOST}\"\n")
	code, out, errs := runCmd("check", "--secret", tg.Secret, "--env-file", env, "CONN-001")
	if code != exitOK || !strings.Contains(out, "1 passed") || !strings.Contains(errs, "--env-file "+env+": --target "+tg.WebSocketURL) {
		t.Errorf("check --env-file: exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs := runCmd("channels", "--env-file", env, "--secret", tg.Secret); code != exitOK {
		t.Errorf("channels --env-file with --secret after it: exit %d %s", code, errs)
	}
	if code, _, errs := runCmd("check", "--env-file", writeEnv(t, "APP_NAME=Tickets\n")); code != exitUsage || !strings.Contains(errs, "no broadcasting settings") {
		t.Errorf("a .env without broadcasting settings: exit %d %q", code, errs)
	}
	if code, _, errs := runCmd("check", "--env-file", "/nonexistent/.env"); code != exitUsage || !strings.Contains(errs, "/nonexistent/.env") {
		t.Errorf("a missing .env: exit %d %q", code, errs)
	}
}
