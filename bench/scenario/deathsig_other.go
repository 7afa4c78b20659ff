//go:build !linux

package main

import "syscall"

// childAttr is empty where there is no parent-death signal (macOS): an interrupted bench
// may leave its children behind there. The benchmark is run on Linux.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
