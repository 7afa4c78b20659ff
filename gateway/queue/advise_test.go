package queue

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"switchboard/canonical"
)

// TestDropPagesKeepsData: the pages of the value log and the tables leave the process's
// memory, and what they hold is still read.
func TestDropPagesKeepsData(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, nil)
	msgs := make([]*canonical.Message, 100)
	for i := range msgs {
		msgs[i] = newMsg(fmt.Sprintf("55119000%05d", i))
		msgs[i].Text = strings.Repeat(strconv.Itoa(i), 4000)
	}
	enqueue(t, q, msgs...)
	vlog := filepath.Join(realPath(t, dir), fmt.Sprintf(q.logs.kind[0].format, q.logs.kind[0].cur))
	if rss := mappingRSS(t, vlog); rss < 256 {
		t.Fatalf("value log has %d kB resident before the drop", rss)
	}
	q.dropPages()
	if rss := mappingRSS(t, vlog); rss > 16 {
		t.Errorf("value log has %d kB resident after the drop", rss)
	}
	q.sched.mu.Lock()
	clear(q.sched.fresh) // read the values back from Badger
	q.sched.freshBytes = 0
	q.sched.mu.Unlock()
	for i, m := range leaseN(t, q, len(msgs)) {
		if m.ID != msgs[i].ID || m.Text != msgs[i].Text {
			t.Fatalf("leased %d: %s, want %s", i, m.ID, msgs[i].ID)
		}
	}

	// Reopened, the keys are in a table.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, dir, nil)
	tables := q.tables() // reading the list touches the tables
	for name := range tables {
		if rss := mappingRSS(t, filepath.Join(realPath(t, dir), name)); rss == 0 {
			t.Fatalf("table %s has nothing resident before the drop", name)
		}
	}
	if len(tables) == 0 {
		t.Fatal("no table after reopening")
	}
	q.dropPages()
	for name := range tables {
		if rss := mappingRSS(t, filepath.Join(realPath(t, dir), name)); rss != 0 {
			t.Errorf("table %s has %d kB resident after the drop", name, rss)
		}
	}
	for _, m := range msgs {
		if rec, err := q.Get(m.ID); err != nil || rec.Msg.Text != m.Text {
			t.Fatalf("get %s after the drop: %v", m.ID, err)
		}
	}
}

// TestMadviseSkipsPrivateMappings: MADV_DONTNEED would discard a private mapping's changes.
func TestMadviseSkipsPrivateMappings(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "private"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(1 << 16); err != nil {
		t.Fatal(err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 1<<16, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(b)
	want := bytes.Repeat([]byte("private "), 1<<13)
	copy(b, want)
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	err = madviseMappings(syscall.MADV_DONTNEED, func(file string) int64 {
		if file == fileID(&st) {
			return math.MaxInt64
		}
		return 0
	})
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("private mapping changed: %v", err)
	}
}

// TestLogsReadRandomly: the queue's current value log and memtable WAL are mapped without
// readahead (VM_RAND_READ, "rr" in smaps) once a sync has seen them.
func TestLogsReadRandomly(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, nil)
	enqueue(t, q, newMsg("5511900000001"))
	for _, k := range q.logs.kind {
		path := filepath.Join(realPath(t, dir), fmt.Sprintf(k.format, k.cur))
		if flags := smapsField(t, path, "VmFlags:"); !slices.Contains(flags, "rr") {
			t.Errorf("%s mapped with flags %v", path, flags)
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

// mappingRSS is the resident kB of the mappings of path.
func mappingRSS(t *testing.T, path string) int64 {
	var rss int64
	for _, kb := range smapsField(t, path, "Rss:") {
		n, _ := strconv.ParseInt(kb, 10, 64)
		rss += n
	}
	return rss
}

// smapsField returns the values of a field of the mappings of path in /proc/self/smaps.
func smapsField(t *testing.T, path, field string) []string {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	var out []string
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-"): // a mapping's first line
			in = len(f) >= 6 && f[5] == path
		case in && len(f) > 1 && f[0] == field:
			out = append(out, f[1:]...)
		}
	}
	return out
}
