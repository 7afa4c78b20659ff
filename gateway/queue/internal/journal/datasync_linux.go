//go:build linux

package journal

import (
	"os"
	"syscall"
)

// datasync is fdatasync: the segment's data, and its size when a write grew it.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
