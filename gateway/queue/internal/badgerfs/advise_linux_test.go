package badgerfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestLogsReadRandomly: Badger's current value log and memtable WAL are mapped without
// readahead (VM_RAND_READ, "rr" in smaps) once the syncer has opened them.
func TestLogsReadRandomly(t *testing.T) {
	dir := realPath(t, t.TempDir())
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithValueThreshold(16))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte("k"), []byte(strings.Repeat("v", 64)))
	}); err != nil {
		t.Fatal(err)
	}
	s := newSyncer(t, dir)
	if _, err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, log := range []Log{ValueLog, WAL} {
		path, _ := s.Current(log)
		if flags := smapsField(t, path, "VmFlags:"); !slices.Contains(flags, "rr") {
			t.Errorf("%s mapped with flags %v", path, flags)
		}
	}
}

// TestAdviseSharedMappingsOnly: the advice goes to the file's shared mappings, which are
// Badger's; a private mapping of the same file is left alone.
func TestAdviseSharedMappingsOnly(t *testing.T) {
	path := filepath.Join(realPath(t, t.TempDir()), "file")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 16); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []int{syscall.MAP_SHARED, syscall.MAP_PRIVATE} {
		b, err := syscall.Mmap(int(f.Fd()), 0, 1<<16, syscall.PROT_READ|syscall.PROT_WRITE, flag)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Munmap(b)
	}
	if err := AdviseRandom(f); err != nil {
		t.Fatal(err)
	}
	flags := smapsMappings(t, path, "VmFlags:")
	if len(flags) != 2 {
		t.Fatalf("%d mappings of %s, want 2", len(flags), path)
	}
	for _, m := range flags {
		shared := slices.Contains(m, "sh")
		if rr := slices.Contains(m, "rr"); rr != shared {
			t.Errorf("mapping with flags %v: advised %v, shared %v", m, rr, shared)
		}
	}
}

func realPath(t *testing.T, dir string) string {
	p, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// smapsField returns the values of a field of the mappings of path in /proc/self/smaps.
func smapsField(t *testing.T, path, field string) []string {
	return slices.Concat(smapsMappings(t, path, field)...)
}

// smapsMappings returns the values of a field for each mapping of path in /proc/self/smaps.
func smapsMappings(t *testing.T, path, field string) [][]string {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	var out [][]string
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-"): // a mapping's first line
			in = len(f) >= 6 && f[5] == path
		case in && len(f) > 1 && f[0] == field:
			out = append(out, f[1:])
		}
	}
	return out
}
