package target

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A restart command that leaves a process running in the background (the restarted server)
// returns when the command does, not when the background process ends.
func TestRunLoggedDoesNotWaitForBackgroundProcesses(t *testing.T) {
	start := time.Now()
	if err := runLogged(context.Background(), "sleep 5 & echo started"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("took %v: it waited for the background process", d)
	}
	err := runLogged(context.Background(), "echo something went wrong; exit 3")
	if err == nil || !strings.Contains(err.Error(), "something went wrong") {
		t.Errorf("a failing command: %v, want its output in the error", err)
	}
}
