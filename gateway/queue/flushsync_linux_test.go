package queue

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

// TestCommittedLogsAreClean: with DurabilityAlways nothing a group committed may stay dirty in
// the page cache once the commit returns, whatever the group holds. A Retry or a Finish does
// not wait for the syncer; if its value-log bytes were left dirty, a memtable flush (which
// writes and syncs an L0 table of value pointers without syncing the value log) or the
// kernel's own writeback of the WAL could put pointers on disk whose values are not, and a
// power cut then leaves the message unreadable. Badger's SyncWrites syncs the value log
// before any pointer into it enters the memtable and its WAL. The test reads the dirty pages
// of the process's mappings of the value log and the WAL from /proc/self/smaps (a sync
// write-protects and cleans them) after a Retry and after a Finish of a dead letter, both
// with records above the value threshold.
func TestCommittedLogsAreClean(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir := t.TempDir()
	q := openQueue(t, dir, clk)
	ctx := context.Background()
	msgs := []*canonical.Message{newMsg("5511999990001"), newMsg("5511999990002")}
	for _, m := range msgs {
		m.Text = strings.Repeat("x", 2*valueThreshold) // records go to the value log
	}
	enqueue(t, q, msgs...)
	if kb := dirtyLogKB(t, dir); kb != 0 {
		t.Fatalf("%d kB of the logs dirty after an Enqueue returned", kb)
	}
	ms, err := q.Lease(ctx, 2)
	if err != nil || len(ms) != 2 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}
	if err := q.Retry(ms[0], clk.Now().Add(time.Hour), canonical.Change{Reason: "upstream down"}); err != nil {
		t.Fatal(err)
	}
	if kb := dirtyLogKB(t, dir); kb != 0 {
		t.Fatalf("%d kB of the logs dirty after a Retry returned: a memtable flush could make its pointers durable without its value", kb)
	}
	if err := q.Finish(ms[1], canonical.Change{Status: canonical.StatusDead, Reason: "rejected"}); err != nil {
		t.Fatal(err)
	}
	if kb := dirtyLogKB(t, dir); kb != 0 {
		t.Fatalf("%d kB of the logs dirty after a Finish returned: a memtable flush could make its pointers durable without its value", kb)
	}
}

// dirtyLogKB is the size of the dirty pages of this process's mappings of the value-log
// and memtable WAL files in dir; it fails the test when it finds no such mapping.
func dirtyLogKB(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("cannot read the process's mappings: %v", err)
	}
	defer f.Close()
	kb, mappings := 0, 0
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header: address range ... path
			path := fields[len(fields)-1]
			in = filepath.Dir(path) == dir && (strings.HasSuffix(path, ".vlog") || strings.HasSuffix(path, ".mem"))
			if in {
				mappings++
			}
			continue
		}
		if in && (fields[0] == "Private_Dirty:" || fields[0] == "Shared_Dirty:") && len(fields) >= 2 {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatalf("smaps line %q: %v", sc.Text(), err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if mappings < 2 {
		t.Fatalf("found %d mappings of the logs in %s, want the value log and the WAL", mappings, dir)
	}
	return kb
}
