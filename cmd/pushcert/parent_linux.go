package main

import "syscall"

// dieWithParent has the child killed (SIGKILL) when this process ends.
func dieWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
