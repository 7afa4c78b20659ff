//go:build !linux

package ceiling

import "syscall"

// datasync is fsync where there is no fdatasync (macOS), so that the project builds there;
// the durable reference is measured on Linux.
func datasync(fd int) error { return syscall.Fsync(fd) }
