package badgerfs

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// scannedEntry is a ValueLogEntry copied out of the scan.
type scannedEntry struct {
	key       string
	version   uint64
	userMeta  byte
	expiresAt uint64
	value     string
}

func scanAllValueLogs(t *testing.T, dir string) []scannedEntry {
	t.Helper()
	var got []scannedEntry
	err := ScanValueLogs(dir, func(e ValueLogEntry) error {
		got = append(got, scannedEntry{string(e.Key), e.Version, e.UserMeta, e.ExpiresAt, string(e.Value)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

const scanValueThreshold = 64

// fillBadgerForScan writes keys to a Badger in dir, overwrites some, deletes one and closes it. It
// returns the versions whose values went to the value log, as Badger's API reports them.
func fillBadgerForScan(t *testing.T, dir string) []scannedEntry {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).
		WithValueThreshold(scanValueThreshold).WithValueLogFileSize(1 << 20))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	value := func(key string, size int) []byte {
		v := make([]byte, size)
		for i := range v {
			v[i] = byte('a' + rng.IntN(26))
		}
		copy(v, key)
		return v
	}
	var keys []string
	write := func(entries []*badger.Entry) {
		t.Helper()
		for b := range slices.Chunk(entries, 50) {
			if err := db.Update(func(txn *badger.Txn) error {
				for _, e := range b {
					if err := txn.SetEntry(e); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []scannedEntry
	record := func(keys []string) {
		t.Helper()
		if err := db.View(func(txn *badger.Txn) error {
			for _, k := range keys {
				item, err := txn.Get([]byte(k))
				if err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				v, err := item.ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) >= scanValueThreshold {
					want = append(want, scannedEntry{k, item.Version(), item.UserMeta(), item.ExpiresAt(), string(v)})
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	var entries []*badger.Entry
	for i := range 1500 {
		k := fmt.Sprintf("key%04d", i)
		size := 100 + rng.IntN(2901)
		if i%10 == 9 {
			size = 10 + rng.IntN(scanValueThreshold-10) // inline: not in the value log
		}
		e := badger.NewEntry([]byte(k), value(k, size))
		if i%7 == 0 {
			e = e.WithMeta(byte(1 + i%200))
		}
		if i%11 == 0 {
			e = e.WithTTL(time.Hour)
		}
		keys = append(keys, k)
		entries = append(entries, e)
	}
	write(entries)
	record(keys)

	var overwritten []string
	entries = entries[:0]
	for i := 0; i < len(keys); i += 5 {
		k := keys[i]
		overwritten = append(overwritten, k)
		entries = append(entries, badger.NewEntry([]byte(k), value(k+"/2", 100+rng.IntN(2901))).WithMeta(7))
	}
	write(entries)
	record(overwritten)

	deleted := []byte(keys[1])
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete(deleted) }); err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(deleted)
		return err
	}); !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

// vlogFilesWithEntries are the value-log files in dir that hold entries, in file-number order.
func vlogFilesWithEntries(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+vlogExt))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, n := range names { // Glob sorts, and the names are zero-padded
		if st, err := os.Stat(n); err != nil {
			t.Fatal(err)
		} else if st.Size() > vlogFileHeaderSize {
			files = append(files, n)
		}
	}
	return files
}

// TestScanValueLogs: the scan yields exactly the versions Badger put in its value log, with
// the key, version, user meta, expiry and value Badger's API reports, in commit order.
func TestScanValueLogs(t *testing.T) {
	dir := t.TempDir()
	want := fillBadgerForScan(t, dir)
	if n := len(vlogFilesWithEntries(t, dir)); n < 3 {
		t.Fatalf("%d value-log files with entries, want several", n)
	}
	got := scanAllValueLogs(t, dir)

	// One transaction writer: the value log is in commit order.
	if !slices.IsSortedFunc(got, func(a, b scannedEntry) int { return cmp.Compare(a.version, b.version) }) {
		t.Error("entries not in version order")
	}
	byKV := func(a, b scannedEntry) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.version, b.version))
	}
	slices.SortFunc(got, byKV)
	slices.SortFunc(want, byKV)
	if len(got) != len(want) {
		t.Errorf("%d entries, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			g, w := got[i], want[i]
			t.Fatalf("entry %d: %s@%d meta %d expires %d value %.20q..., want %s@%d meta %d expires %d value %.20q...",
				i, g.key, g.version, g.userMeta, g.expiresAt, g.value, w.key, w.version, w.userMeta, w.expiresAt, w.value)
		}
	}
	var ttl, meta, twice int
	for i, w := range want {
		if w.expiresAt != 0 {
			ttl++
		}
		if w.userMeta != 0 {
			meta++
		}
		if i > 0 && want[i-1].key == w.key {
			twice++
		}
	}
	if ttl == 0 || meta == 0 || twice == 0 {
		t.Errorf("test does not cover: %d with TTL, %d with user meta, %d overwritten", ttl, meta, twice)
	}
}

// TestScanValueLogsStopsAtBadEntry: a file is read up to its first entry that does not check,
// without error, as Badger reads its last file at open.
func TestScanValueLogsStopsAtBadEntry(t *testing.T) {
	dir := t.TempDir()
	fillBadgerForScan(t, dir)
	all := scanAllValueLogs(t, dir)
	files := vlogFilesWithEntries(t, dir)
	last := files[len(files)-1]
	data, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	// The entries of the last file: the scan's tail whose values the file holds.
	first := len(all)
	for first > 0 && bytes.Contains(data, []byte(all[first-1].value)) {
		first--
	}
	if len(all)-first < 3 {
		t.Fatalf("%d entries in the last file", len(all)-first)
	}
	mid := (first + len(all)) / 2
	at := bytes.Index(data, []byte(all[mid].value)) + len(all[mid].value)/2 // inside entry mid

	check := func(t *testing.T, want []scannedEntry, files map[string][]byte) {
		t.Helper()
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for name := range files {
				os.Remove(filepath.Join(dir, name))
			}
			if err := os.WriteFile(last, data, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		if got := scanAllValueLogs(t, dir); !slices.Equal(got, want) {
			t.Fatalf("%d entries, want the first %d of %d", len(got), len(want), len(all))
		}
	}
	name := filepath.Base(last)
	t.Run("corrupt", func(t *testing.T) {
		b := slices.Clone(data)
		b[at] ^= 0xff
		check(t, all[:mid], map[string][]byte{name: b})
	})
	t.Run("torn", func(t *testing.T) {
		check(t, all[:mid], map[string][]byte{name: data[:at]})
	})
	t.Run("zero tail", func(t *testing.T) {
		check(t, all, map[string][]byte{name: append(slices.Clone(data), make([]byte, 1<<20)...)})
	})
	t.Run("shorter than header", func(t *testing.T) {
		check(t, all, map[string][]byte{"999998.vlog": {}, "999999.vlog": data[:vlogFileHeaderSize-1]})
	})
	t.Run("encrypted", func(t *testing.T) {
		b := make([]byte, vlogFileHeaderSize)
		binary.BigEndian.PutUint64(b, 1)
		if err := os.WriteFile(filepath.Join(dir, "999999.vlog"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(dir, "999999.vlog"))
		if err := ScanValueLogs(dir, func(ValueLogEntry) error { return nil }); err == nil {
			t.Fatal("no error for an encrypted file")
		}
	})
	t.Run("fn error", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := ScanValueLogs(dir, func(ValueLogEntry) error { calls++; return stop })
		if err != stop || calls != 1 {
			t.Fatalf("%v after %d calls, want %v after 1", err, calls, stop)
		}
	})
}

// TestScanValueLogsSkipsBadgersEntries: with a value threshold of 0 Badger writes its
// transaction markers and deletions to the value log; the scan passes neither on.
func TestScanValueLogsSkipsBadgersEntries(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithValueThreshold(0))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error {
		for _, k := range []string{"a", "b"} {
			if err := txn.Set([]byte(k), []byte("value of "+k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte("a")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	for _, f := range vlogFilesWithEntries(t, dir) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("!badger!txn")) {
		t.Error("no transaction marker in the value log: the test tests nothing")
	}
	var got []string
	for _, e := range scanAllValueLogs(t, dir) {
		got = append(got, e.key+"="+e.value)
	}
	slices.Sort(got) // a transaction's entries reach the value log in no fixed order
	if want := []string{"a=value of a", "b=value of b"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
