//go:build !linux

package badgerfs

import "os"

// datasync is a full fsync off Linux, where the project is built for development: there the
// syncer's reasoning (pages written through Badger's mmap are synced through another
// descriptor) is not checked, and a gateway that must not lose messages runs on Linux.
func datasync(f *os.File) error { return f.Sync() }
