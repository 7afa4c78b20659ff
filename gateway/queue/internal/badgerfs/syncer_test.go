package badgerfs

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestSyncerFollowsRemovedFiles: when Badger has moved on twice and removed the file the
// syncer had open (a memtable flushed between two syncs), the syncer finds the newest file
// from the directory and syncs the one in between.
func TestSyncerFollowsRemovedFiles(t *testing.T) {
	dir, touch, s := startSyncer(t)
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	touch("00002.mem")
	touch("00003.mem")
	touch("00004.mem")
	for _, n := range []string{"00001.mem", "00002.mem"} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if mem := s.kind[WAL]; mem.cur != 4 || mem.f == nil {
		t.Fatalf("memtable WAL %d (open %v), want 4", mem.cur, mem.f != nil)
	}
	if vlog := s.kind[ValueLog]; vlog.cur != 1 || vlog.f == nil {
		t.Fatalf("value log %d (open %v), want 1", vlog.cur, vlog.f != nil)
	}
}

// TestSyncerFollowsRotation: a file Badger moved on from is synced and counted once, and the
// syncer goes on with the next.
func TestSyncerFollowsRotation(t *testing.T) {
	dir, touch, s := startSyncer(t)
	touch("000002.vlog")
	touch("000003.vlog")
	rotated, err := s.Sync()
	if err != nil || rotated != 2 || s.Synced(ValueLog) != 2 || s.Synced(WAL) != 0 {
		t.Fatalf("sync: %d rotated, %v; synced %d value logs, %d WALs", rotated, err, s.Synced(ValueLog), s.Synced(WAL))
	}
	if path, n := s.Current(ValueLog); n != 3 || path != filepath.Join(dir, "000003.vlog") {
		t.Fatalf("current value log %s (%d)", path, n)
	}
	if rotated, err := s.Sync(); err != nil || rotated != 0 {
		t.Fatalf("sync again: %d rotated, %v", rotated, err)
	}
}

// startSyncer makes a directory with Badger's first value log and WAL, and a Syncer on it,
// closed when the test ends; touch creates a file there.
func startSyncer(t *testing.T) (dir string, touch func(name string), s *Syncer) {
	dir = t.TempDir()
	touch = func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	touch("000001.vlog")
	touch("00001.mem")
	return dir, touch, newSyncer(t, dir)
}

// newSyncer opens a Syncer on dir, closed when the test ends.
func newSyncer(t *testing.T, dir string) *Syncer {
	s, err := NewSyncer(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
