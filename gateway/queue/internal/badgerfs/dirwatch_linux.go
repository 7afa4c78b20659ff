//go:build linux

package badgerfs

import (
	"encoding/binary"
	"errors"

	"golang.org/x/sys/unix"
)

// dirWatchMask is every event that adds or removes a name in the directory, or the
// directory itself: Badger moving on to a new log file or removing one is always one of them.
const dirWatchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// dirWatch tells the syncer whether a name was added to or removed from Badger's directory
// since it last asked, so that a Sync that finds nothing changed syncs its two open files
// without looking for new or removed ones (four stats and their paths a sync before). It
// is an inotify descriptor, read without blocking. The kernel queues an event inside the
// call that creates or removes the file, before that call returns; so a file Badger
// created before a commit that a Sync must cover is in the queue when that Sync reads it.
type dirWatch struct {
	fd  int // -1: no watch; changed is always true
	buf [4096]byte
}

// newDirWatch watches dir. It is made before the syncer first scans dir, so that nothing
// created after the scan goes unseen. Without inotify (a limit reached) the syncer looks
// at every Sync, as it did before.
func newDirWatch(dir string) *dirWatch {
	w := &dirWatch{fd: -1}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return w
	}
	if _, err := unix.InotifyAddWatch(fd, dir, dirWatchMask); err != nil {
		unix.Close(fd)
		return w
	}
	w.fd = fd
	return w
}

// dirWatchLost are the events after which the watch no longer says everything: the queue
// overflowed, or the directory itself went (the kernel then drops the watch).
const dirWatchLost = unix.IN_Q_OVERFLOW | unix.IN_IGNORED | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_UNMOUNT

// changed drains the events queued since the last call and reports whether there were
// any. It is called before the syncer looks at the directory, so an event queued while it
// looks is seen by the next Sync. An error counts as a change; after an event that says
// the watch is no longer complete, every call reports a change.
func (w *dirWatch) changed() bool {
	if w.fd < 0 {
		return true
	}
	any := false
	for {
		n, err := unix.Read(w.fd, w.buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			// EAGAIN: drained. Anything else: count it as a change and let the stats decide.
			return any || !errors.Is(err, unix.EAGAIN)
		}
		any = true
		// Each event: wd int32, mask uint32, cookie uint32, len uint32, then len bytes of name.
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			if binary.NativeEndian.Uint32(w.buf[off+4:])&dirWatchLost != 0 {
				w.close()
				return true
			}
			off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(w.buf[off+12:]))
		}
	}
}

func (w *dirWatch) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}
