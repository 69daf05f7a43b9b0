//go:build unix && !linux

package main

import "syscall"

// dieWithParent has no equivalent here: a child outlives a run killed without a word.
func dieWithParent(*syscall.SysProcAttr) {}
