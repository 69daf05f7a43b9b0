package redisproc

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the redis-server get SIGKILL when this process ends, however it ends (a
// SIGPIPE, a kill -9): none is left listening after a run that could not stop it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
