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
	if err := runLogged(context.Background(), "restart", "sleep 5 & echo started", nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("took %v: it waited for the background process", d)
	}
	err := runLogged(context.Background(), "restart", "echo something went wrong; exit 3", nil)
	if err == nil || !strings.Contains(err.Error(), "something went wrong") || !strings.Contains(err.Error(), "restart command") {
		t.Errorf("a failing command: %v, want its output in the error", err)
	}
	if err := runLogged(context.Background(), "node crash", `test "$PUSHCERT_NODE" = 2`, []string{"PUSHCERT_NODE=2"}); err != nil {
		t.Errorf("the command did not get its environment: %v", err)
	}
}
