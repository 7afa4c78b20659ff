package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// rotationSyncer closes a gap in Badger's durability without SyncWrites: db.Sync syncs the
// current memtable WAL and value-log file only, and Badger does not sync a file when it moves
// on to the next one. Data committed to a file just before it was left behind would then be
// acknowledged without an fsync (a crash of the process loses nothing, the kernel has it; a
// power loss could). After every Sync the syncer checks whether Badger has moved on (the next
// file exists) and fsyncs the files it left. A file Badger has already removed needs nothing:
// a memtable's WAL is removed once its table is written and synced.
//
// This follows Badger v4's file names: value logs "%06d.vlog", memtable WALs "%05d.mem",
// numbered up by one. TestRotatedFilesAreSynced fails if that changes.
type rotationSyncer struct {
	mu   sync.Mutex
	dir  string
	kind [2]logKind
}

type logKind struct {
	ext    string
	format string // of the file name, from its number
	cur    int    // the newest file seen: the one db.Sync covers
	synced int    // files left behind and synced, for tests
}

func newRotationSyncer(dir string) (*rotationSyncer, error) {
	r := &rotationSyncer{dir: dir, kind: [2]logKind{
		{ext: ".vlog", format: "%06d.vlog"},
		{ext: ".mem", format: "%05d.mem"},
	}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		for i := range r.kind {
			k := &r.kind[i]
			if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), k.ext)); err == nil && strings.HasSuffix(e.Name(), k.ext) {
				k.cur = max(k.cur, n)
			}
		}
	}
	return r, nil
}

// syncRotated fsyncs the files Badger has left since the last call. Call it after db.Sync.
func (r *rotationSyncer) syncRotated() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.kind {
		k := &r.kind[i]
		for {
			if _, err := os.Stat(r.path(k, k.cur+1)); err != nil {
				break // not moved on (or cannot tell: the next Sync looks again)
			}
			if err := fsyncFile(r.path(k, k.cur)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("cannot sync %s: %w", r.path(k, k.cur), err)
			}
			k.cur++
			k.synced++
			rotatedSyncs.Inc()
		}
	}
	return nil
}

func (r *rotationSyncer) path(k *logKind, n int) string {
	return filepath.Join(r.dir, fmt.Sprintf(k.format, n))
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
