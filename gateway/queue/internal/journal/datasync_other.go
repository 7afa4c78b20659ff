//go:build !linux

package journal

import "os"

// datasync is a full fsync off Linux, where the project is built for development.
func datasync(f *os.File) error { return f.Sync() }
