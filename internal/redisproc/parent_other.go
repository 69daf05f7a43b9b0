//go:build !linux

package redisproc

import "os/exec"

// dieWithParent has no equivalent here: a redis-server outlives a run killed without a word.
func dieWithParent(*exec.Cmd) {}
