//go:build linux

package ceiling

import "syscall"

// datasync is fdatasync, as the gateway's queue syncs its logs.
func datasync(fd int) error { return syscall.Fdatasync(fd) }
