package badgerfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestHoldFilesDefersGCRemoval: while HoldFiles holds, a value-log file that GC rewrote stays
// on disk; once released, Badger removes it. (The queue syncs the moved values in between.)
func TestHoldFilesDefersGCRemoval(t *testing.T) {
	dir := t.TempDir()
	open := func() *badger.DB {
		db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).
			WithValueLogFileSize(1 << 20).WithNumVersionsToKeep(1).WithValueThreshold(64).
			WithNumLevelZeroTables(1)) // compact every table, counting the garbage
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	var db *badger.DB
	val := bytes.Repeat([]byte("v"), 8<<10)
	for round := range 2 { // the second round makes the first one's values garbage
		if db != nil {
			db.Close() // flushes the memtable to a table
		}
		db = open()
		for i := range 300 {
			if err := db.Update(func(txn *badger.Txn) error {
				return txn.Set(fmt.Appendf(nil, "key%04d", i), val)
			}); err != nil {
				t.Fatal(err, round)
			}
		}
	}
	db.Close()
	db = open()
	defer db.Close()
	// The compaction of the last table runs in the background; GC finds nothing until it has.
	var before map[string]bool
	var release func()
	for deadline := time.Now().Add(10 * time.Second); ; {
		before = vlogFiles(t, dir)
		release = HoldFiles(db)
		err := db.RunValueLogGC(0.5)
		if err == nil {
			break
		}
		release()
		if time.Now().After(deadline) {
			t.Fatalf("GC rewrote nothing: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	held := vlogFiles(t, dir)
	for name := range before {
		if !held[name] {
			release()
			t.Fatalf("%s removed while held", name)
		}
	}
	release()
	after := vlogFiles(t, dir)
	removed := 0
	for name := range before {
		if !after[name] {
			removed++
		}
	}
	if removed == 0 {
		t.Fatalf("no value-log file removed after release: before %v, after %v", before, after)
	}
}

func vlogFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+vlogExt))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		if _, err := os.Stat(n); err == nil {
			out[filepath.Base(n)] = true
		}
	}
	return out
}
