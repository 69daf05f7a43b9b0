package steps

import (
	"cmp"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pushcert/pushcert/features"
	"github.com/pushcert/pushcert/internal/target"
	"github.com/pushcert/pushcert/refserver"
)

// TestSuite runs the conformance suite against the embedded reference server, or against the
// server of PUSHCERT_TARGET, PUSHCERT_API_URL, PUSHCERT_APP_ID, PUSHCERT_APP_KEY, PUSHCERT_APP_SECRET
// (PUSHCERT_SUPPORTS lists its capabilities). Every MUST and SHOULD case must pass.
func TestSuite(t *testing.T) {
	opts := Options{TimeoutFactor: testTimeoutFactor(), Concurrency: 8, Output: testWriter{t}}
	if u := os.Getenv("PUSHCERT_TARGET"); u != "" {
		opts.Target = &target.Target{WebSocketURL: u, APIURL: os.Getenv("PUSHCERT_API_URL"), AppID: os.Getenv("PUSHCERT_APP_ID"),
			Key: cmp.Or(os.Getenv("PUSHCERT_APP_KEY"), os.Getenv("PUSHCERT_KEY")), Secret: cmp.Or(os.Getenv("PUSHCERT_APP_SECRET"), os.Getenv("PUSHCERT_SECRET"))}
		if err := opts.Target.Validate(); err != nil {
			t.Fatal(err)
		}
		opts.Capabilities = strings.Split(os.Getenv("PUSHCERT_SUPPORTS"), ",")
	} else {
		tg, stop, err := target.StartEmbedded(refserver.Config{}, refserver.App{SubscriptionCount: true})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		opts.Target, opts.Capabilities, opts.Control = tg, AllCapabilities, true
	}
	results, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, r := range results {
		if r.Outcome != Skipped && r.Outcome != NotSupported && r.Outcome != NotSelected {
			ran++
		}
		switch r.Outcome {
		case Fail, NonStrict:
			t.Errorf("%s %s (%s): %s\n%s", r.Case.ID, r.Outcome, r.Case.Name, r.Message, wire(r))
		case Skipped:
			t.Logf("%s skipped: %s", r.Case.ID, r.Message)
		}
	}
	if ran == 0 {
		t.Fatal("no case ran")
	}
	t.Logf("%d cases ran", ran)
}

// testTimeoutFactor is 1, or 3 under the race detector, or PUSHCERT_TIMEOUT_FACTOR.
func testTimeoutFactor() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("PUSHCERT_TIMEOUT_FACTOR"), 64); err == nil && v > 0 {
		return v
	}
	if raceEnabled {
		return 3
	}
	return 1
}

func wire(r Result) string {
	var b strings.Builder
	for _, e := range r.Wire {
		b.WriteString("    " + e.Conn + " " + string(e.Dir) + " " + e.Text + "\n")
	}
	return b.String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("PUSHCERT_VERBOSE") != "" {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

func TestCatalog(t *testing.T) {
	if _, err := features.Catalog(features.FS); err != nil {
		t.Fatal(err)
	}
}
