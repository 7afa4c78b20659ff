//go:build linux

package main

import "syscall"

// childAttr has the kernel kill a child when the scenario dies.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
