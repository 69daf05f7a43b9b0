package main

import (
	"strings"
	"testing"

	"github.com/pushcert/pushcert/internal/testcert"
)

// TestLoadAndCheckOverTLS: `pushcert serve --tls-cert --tls-key` serves wss:// and https://,
// and load and check reach it with --ca-file; without it, the certificate is refused and the
// run says the clients could not dial, or check that the target is unreachable.
func TestLoadAndCheckOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := cert.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	addr := startServe(t, bin, "--demo", "--tls-cert", certFile, "--tls-key", keyFile, "--log-level", "error")
	to := []string{"--target", "wss://" + addr, "--api-url", "https://" + addr, "--app-id", demoAppID, "--key", demoKey, "--secret", demoSecret}
	plan := []string{"--scenario", "seats,availability", "--clients", "40", "--rooms", "2", "--rate", "10", "--duration", "1s", "--ramp", "200ms", "--quiet"}

	// A busy machine may make a run INVALID (exit 4, a late timetable); every check must pass.
	for _, how := range []string{"--ca-file=" + certFile, "--insecure"} {
		code, out, errs := runCmd(append(append([]string{"load", how}, to...), plan...)...)
		if (code != exitOK && code != exitInvalid) || !strings.Contains(out, "all 4 checks passed") {
			t.Errorf("load %s: exit %d\n%s\n%s", how, code, out, errs)
		}
	}
	code, _, errs := runCmd(append(append([]string{"load"}, to...), plan...)...)
	if code != exitUnreachable || !strings.Contains(errs, "certificate") {
		t.Errorf("load without the CA: exit %d, want %d naming the certificate\n%s", code, exitUnreachable, errs)
	}
	code, out, errs := runCmd(append(append([]string{"check", "--ca-file", certFile}, to...), "CONN-", "API-")...)
	if code != exitOK {
		t.Errorf("check --ca-file: exit %d\n%s\n%s", code, out, errs)
	}
}

// TestTargetFlagMistakes: TLS and header flags that cannot work are refused with one line.
func TestTargetFlagMistakes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "--ca-file", "x.pem"}, "need --target"},
		{[]string{"load", "--target", "wss://127.0.0.1:1", "--api-url", "https://127.0.0.1:1", "--app-id", "1", "--key", "k", "--secret", "s", "--ca-file", "/nonexistent.pem"}, "--ca-file"},
		{[]string{"check", "--target", "ws://127.0.0.1:1", "--api-url", "http://127.0.0.1:1", "--app-id", "1", "--key", "k", "--secret", "s", "--header", "Origin https://x"}, `want "Name: value"`},
		{[]string{"serve", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"load", "--target", "wss://127.0.0.1:1"}, "--api-url is required; --app-id is required; --key is required; --secret is required"},
	} {
		code, _, errs := runCmd(tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%q: exit %d, stderr %q; want exit %d saying %q in one line", tc.args, code, errs, exitUsage, tc.want)
		}
	}
}
