package badgerfs

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Syncer makes Badger's logs durable in place of db.Sync. db.Sync syncs the current memtable
// WAL and value-log file only: Badger does not sync a file when it moves on to the next one,
// so data committed just before it moved would be acknowledged without an fsync. The syncer
// syncs its own descriptors of the files (datasync), notices that Badger moved on (the next
// file exists), syncs the file left behind and the directory that gained a file. A file
// Badger has already removed needs nothing: a memtable's WAL is removed once its table is
// written and synced. On Linux, fdatasync on another descriptor covers pages written through
// Badger's mmap: they are dirty in the page cache, and msync(MS_SYNC), which db.Sync uses, is
// the same range fdatasync in the kernel. (db.Sync also holds Badger's DB lock, which every
// write takes, through the WAL's msync.)
//
// TestRotatedFilesAreSynced (in the queue) fails if Badger's file names change.
type Syncer struct {
	mu   sync.Mutex
	dir  string
	log  *slog.Logger
	kind [2]logKind // by Log
	// watch says whether the directory changed since the last Sync; looked counts the Syncs
	// that looked for new and removed files because it had (for tests).
	watch  *dirWatch
	looked int
	// relook makes the next Sync look whatever the watch says: this one failed, perhaps
	// halfway through following Badger.
	relook bool
	// between, when set (tests), runs after the value log's sync and before the WAL's.
	between func()
}

type logKind struct {
	ext    string
	format string   // of the file name, from its number
	cur    int      // the newest file seen
	f      *os.File // cur, open; nil when it could not be opened (removed already)
	synced int      // files left behind and synced
}

// NewSyncer opens the newest log files in Badger's directory dir, which Badger has opened.
func NewSyncer(dir string, log *slog.Logger) (*Syncer, error) {
	s := &Syncer{dir: dir, log: log, watch: newDirWatch(dir), kind: [2]logKind{
		ValueLog: {ext: vlogExt, format: vlogFormat},
		WAL:      {ext: walExt, format: walFormat},
	}}
	for i := range s.kind {
		if err := s.scan(&s.kind[i]); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// scan finds k's newest file and opens it. Files newer than the one k had but older than
// the newest are synced: Badger left them while the syncer was not looking. k's own file
// is not synced: scan is called at start, and when Badger has removed it.
func (s *Syncer) scan(k *logKind) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var nums []int
	newest := k.cur
	for _, e := range entries {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), k.ext)); err == nil && strings.HasSuffix(e.Name(), k.ext) && n > k.cur {
			nums = append(nums, n)
			newest = max(newest, n)
		}
	}
	for _, n := range nums {
		if n < newest {
			if err := fsyncFile(s.path(k, n)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("cannot sync %s: %w", s.path(k, n), err)
			}
		}
	}
	if newest > k.cur {
		k.close()
		k.cur = newest
	}
	if k.f == nil && k.cur > 0 {
		return s.open(k)
	}
	return nil
}

// Sync makes everything Badger has written to its logs so far durable, the value log before
// the WAL. It returns how many files Badger had left behind since the last Sync (synced now).
// It looks for files Badger moved on to or removed only when the directory changed since the
// last Sync (dirWatch): otherwise the files it has open are still the newest.
func (s *Syncer) Sync() (rotated int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := false
	look := s.watch.changed() || s.relook
	if look {
		s.looked++
	}
	s.relook = false
	defer func() {
		if err != nil {
			s.relook = true
		}
	}()
	for i := range s.kind {
		k := &s.kind[i]
		for look {
			next := s.path(k, k.cur+1)
			if _, err := os.Stat(next); err != nil {
				if k.gone(s) {
					// Badger removed the file: it moved on at least once, and the next one
					// may be gone too. Find the newest from the directory.
					if err := s.scan(k); err != nil {
						return rotated, err
					}
					moved = true
				}
				break // not moved on
			}
			if err := s.datasync(k); err != nil {
				return rotated, fmt.Errorf("cannot sync %s: %w", s.path(k, k.cur), err)
			}
			k.close()
			k.cur++
			k.synced++
			rotated++
			moved = true
			if err := s.open(k); err != nil {
				return rotated, err
			}
		}
		if err := s.datasync(k); err != nil {
			return rotated, fmt.Errorf("cannot sync %s: %w", s.path(k, k.cur), err)
		}
		if Log(i) == ValueLog && s.between != nil {
			s.between()
		}
	}
	if moved {
		// New files' names must survive a power loss too.
		return rotated, fsyncFile(s.dir)
	}
	return rotated, nil
}

// open opens k's current file, and advises the kernel on Badger's mapping of it
// (AdviseRandom); one already removed is left closed.
func (s *Syncer) open(k *logKind) error {
	f, err := os.Open(s.path(k, k.cur))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", s.path(k, k.cur), err)
	}
	k.f = f
	if err := AdviseRandom(f); err != nil {
		s.log.Warn("cannot advise the kernel on a queue log's mapping", "file", f.Name(), "err", err)
	}
	return nil
}

func (s *Syncer) path(k *logKind, n int) string {
	return filepath.Join(s.dir, fmt.Sprintf(k.format, n))
}

// Close closes the syncer's descriptors.
func (s *Syncer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.kind {
		s.kind[i].close()
	}
	s.watch.close()
}

// Current is the path of log's newest file and its number, for tests.
func (s *Syncer) Current(log Log) (path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &s.kind[log]
	return s.path(k, k.cur), k.cur
}

// Synced is how many of log's files Badger left behind and the syncer followed and synced,
// for tests.
func (s *Syncer) Synced(log Log) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kind[log].synced
}

// SetBetween has the next Sync run f (once) after the value log's sync and before the WAL's,
// for tests.
func (s *Syncer) SetBetween(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.between = func() {
		s.between = nil
		f()
	}
}

// datasync syncs k's current file's data.
func (s *Syncer) datasync(k *logKind) error {
	if k.f == nil {
		return nil
	}
	return datasync(k.f)
}

// gone reports whether k's current file has been removed. Badger never reuses a file's
// number, so its name is enough.
func (k *logKind) gone(s *Syncer) bool {
	if k.f == nil {
		return true
	}
	_, err := os.Stat(s.path(k, k.cur))
	return os.IsNotExist(err)
}

func (k *logKind) close() {
	if k.f != nil {
		k.f.Close()
		k.f = nil
	}
}

func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
