//go:build linux

package queue

import "golang.org/x/sys/unix"

// statDisk returns the bytes free to the gateway (f_bavail: what an unprivileged process may
// still use) and the size of the filesystem holding dir.
func statDisk(dir string) (free, size int64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), true
}
