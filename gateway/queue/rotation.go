package queue

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// logSyncer makes Badger's logs durable in place of db.Sync. db.Sync syncs the current
// memtable WAL and value-log file only: Badger does not sync a file when it moves on to the
// next one, so data committed just before it moved would be acknowledged without an fsync.
// The syncer fdatasyncs its own descriptors of the files, notices that Badger moved on (the
// next file exists), syncs the file left behind and the directory that gained a file. A file
// Badger has already removed needs nothing: a memtable's WAL is removed once its table is
// written and synced. fdatasync on another descriptor covers pages written through Badger's
// mmap: they are dirty in the page cache, and msync(MS_SYNC), which db.Sync uses, is the
// same range fdatasync in the kernel. (db.Sync also holds Badger's DB lock, which every write
// takes, through the WAL's msync.)
//
// This follows Badger v4's file names: value logs "%06d.vlog", memtable WALs "%05d.mem",
// numbered up by one. TestRotatedFilesAreSynced fails if that changes.
type logSyncer struct {
	mu   sync.Mutex
	dir  string
	log  *slog.Logger
	kind [2]logKind
	// between, when set (tests), runs after the value log's sync and before the WAL's.
	between func()
}

type logKind struct {
	ext    string
	format string   // of the file name, from its number
	cur    int      // the newest file seen
	f      *os.File // cur, open; nil when it could not be opened (removed already)
	synced int      // files left behind and synced, for tests
}

func newLogSyncer(dir string, log *slog.Logger) (*logSyncer, error) {
	s := &logSyncer{dir: dir, log: log, kind: [2]logKind{
		{ext: ".vlog", format: "%06d.vlog"},
		{ext: ".mem", format: "%05d.mem"},
	}}
	for i := range s.kind {
		if err := s.scan(&s.kind[i]); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// scan finds k's newest file and opens it. Files newer than the one k had but older than
// the newest are synced: Badger left them while the syncer was not looking. k's own file
// is not synced: scan is called at start, and when Badger has removed it.
func (s *logSyncer) scan(k *logKind) error {
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

// sync makes everything Badger has written to its logs so far durable.
func (s *logSyncer) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := false
	for i := range s.kind {
		k := &s.kind[i]
		for {
			next := s.path(k, k.cur+1)
			if _, err := os.Stat(next); err != nil {
				if k.gone() {
					// Badger removed the file: it moved on at least once, and the next one
					// may be gone too. Find the newest from the directory.
					if err := s.scan(k); err != nil {
						return err
					}
					moved = true
				}
				break // not moved on
			}
			if err := k.datasync(); err != nil {
				return fmt.Errorf("cannot sync %s: %w", s.path(k, k.cur), err)
			}
			k.close()
			k.cur++
			k.synced++
			rotatedSyncs.Inc()
			moved = true
			if err := s.open(k); err != nil {
				return err
			}
		}
		if err := k.datasync(); err != nil {
			return fmt.Errorf("cannot sync %s: %w", s.path(k, k.cur), err)
		}
		if i == 0 && s.between != nil {
			s.between()
		}
	}
	if moved {
		// New files' names must survive a power loss too.
		return fsyncFile(s.dir)
	}
	return nil
}

// open opens k's current file, and advises the kernel on Badger's mapping of it (advise.go);
// one already removed is left closed.
func (s *logSyncer) open(k *logKind) error {
	f, err := os.Open(s.path(k, k.cur))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", s.path(k, k.cur), err)
	}
	k.f = f
	if err := adviseRandom(f); err != nil {
		s.log.Warn("cannot advise the kernel on a queue log's mapping", "file", f.Name(), "err", err)
	}
	return nil
}

func (s *logSyncer) path(k *logKind, n int) string {
	return filepath.Join(s.dir, fmt.Sprintf(k.format, n))
}

func (s *logSyncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.kind {
		s.kind[i].close()
	}
}

func (k *logKind) datasync() error {
	if k.f == nil {
		return nil
	}
	return syscall.Fdatasync(int(k.f.Fd()))
}

// gone reports whether k's current file has been removed.
func (k *logKind) gone() bool {
	if k.f == nil {
		return true
	}
	var st syscall.Stat_t
	return syscall.Fstat(int(k.f.Fd()), &st) == nil && st.Nlink == 0
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
