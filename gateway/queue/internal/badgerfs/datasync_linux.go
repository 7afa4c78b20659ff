//go:build linux

package badgerfs

import (
	"os"
	"syscall"
)

// datasync is fdatasync: the file's data and the metadata needed to read it back (its size),
// not its times.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
