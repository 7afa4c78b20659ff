package badgerfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSyncerLooksOnlyAfterAChange: a Sync looks for new and removed files only when a name
// was added to or removed from the directory since the last Sync, and then finds the file
// Badger moved on to; writes into the open files are not a change.
func TestSyncerLooksOnlyAfterAChange(t *testing.T) {
	dir, touch, s := startSyncer(t)
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	base := s.looked
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, "000001.vlog"), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		if rotated, err := s.Sync(); err != nil || rotated != 0 {
			t.Fatalf("sync %d: %d rotated, %v", i, rotated, err)
		}
	}
	if s.looked != base {
		t.Fatalf("%d Syncs looked at an unchanged directory", s.looked-base)
	}
	touch("00002.mem")
	if rotated, err := s.Sync(); err != nil || rotated != 1 || s.looked != base+1 {
		t.Fatalf("sync after a new WAL: %d rotated, %v, looked %d times", rotated, err, s.looked-base)
	}
	if _, n := s.Current(WAL); n != 2 {
		t.Fatalf("current WAL %d, want 2", n)
	}
	if err := os.Remove(filepath.Join(dir, "00001.mem")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(); err != nil || s.looked != base+2 {
		t.Fatalf("sync after a removal: %v, looked %d times", err, s.looked-base)
	}
	if _, err := s.Sync(); err != nil || s.looked != base+2 {
		t.Fatalf("sync after nothing: %v, looked %d times", err, s.looked-base)
	}
}

// TestDirWatchGivesUpWhenTheDirectoryGoes: once the watched directory is removed, the kernel
// drops the watch, and the watch reports a change at every call from then on.
func TestDirWatchGivesUpWhenTheDirectoryGoes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newDirWatch(dir)
	t.Cleanup(w.close)
	if w.fd < 0 {
		t.Skip("inotify is not available here")
	}
	if w.changed() {
		t.Fatal("a change reported before anything changed")
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !w.changed() {
			t.Fatalf("call %d after the directory went: no change reported", i)
		}
	}
}
