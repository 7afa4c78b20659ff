//go:build !linux

package queue

// statDisk does not know the free space off Linux, where the project is built for
// development: the disk reserve is not checked there (a production gateway runs on Linux).
func statDisk(string) (free, size int64, ok bool) { return 0, 0, false }
