package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/canonical"
)

// TestCommittedLogsAreClean: with DurabilityAlways, once Badger has put a group's value
// pointers in the memtable (its commit returned), the value-log bytes they point at must be
// on disk, whatever the group holds. Otherwise a memtable flush, which writes and syncs an L0
// table of those pointers without syncing the value log, or the kernel writing back the WAL's
// pages on its own, could put pointers on disk whose values are not, and a power cut would
// leave the message unreadable; a Retry or a Finish does not even wait for a sync. Badger's
// SyncWrites syncs the value log before any pointer into it enters the memtable. The test
// reads the dirty pages of the process's mappings of the value log and the WAL from
// /proc/self/smaps (a sync write-protects and cleans them) right after each commit, on the
// committer, through an Enqueue, a Retry and a Finish of a dead letter, all with records
// above the value threshold; and again once each call has returned.
func TestCommittedLogsAreClean(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir := t.TempDir()
	q := openQueue(t, dir, clk)
	var mu sync.Mutex
	var dirty []string // what the committer saw after a commit
	q.committed = func() {
		kb, err := dirtyLogKB(dir)
		if err == nil && kb == 0 {
			return
		}
		mu.Lock()
		dirty = append(dirty, fmt.Sprintf("%d kB (%v)", kb, err))
		mu.Unlock()
	}
	check := func(after string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(dirty) > 0 {
			t.Fatalf("logs dirty right after the commit of %s: %v", after, dirty)
		}
		if kb, err := dirtyLogKB(dir); err != nil || kb != 0 {
			t.Fatalf("logs dirty after %s returned: %d kB (%v)", after, kb, err)
		}
	}
	ctx := context.Background()
	msgs := []*canonical.Message{newMsg("5511999990001"), newMsg("5511999990002")}
	for _, m := range msgs {
		m.Text = strings.Repeat("x", 2*valueThreshold) // records go to the value log
	}
	enqueue(t, q, msgs...)
	check("an Enqueue")
	ms, err := q.Lease(ctx, 2)
	if err != nil || len(ms) != 2 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}
	if err := q.Retry(ms[0], clk.Now().Add(time.Hour), canonical.Change{Reason: "upstream down"}); err != nil {
		t.Fatal(err)
	}
	check("a Retry")
	if err := q.Finish(ms[1], canonical.Change{Status: canonical.StatusDead, Reason: "rejected"}); err != nil {
		t.Fatal(err)
	}
	check("a Finish")
}

// dirtyLogKB is the size of the dirty pages of this process's mappings of the value-log
// and memtable WAL files in dir. It fails when it finds no mapping of either.
func dirtyLogKB(dir string) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	kb := 0
	var vlogs, wals int
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") { // a mapping's header: address range ... path
			path := fields[len(fields)-1]
			isVlog, isWAL := strings.HasSuffix(path, ".vlog"), strings.HasSuffix(path, ".mem")
			in = filepath.Dir(path) == dir && (isVlog || isWAL)
			if in && isVlog {
				vlogs++
			} else if in {
				wals++
			}
			continue
		}
		if in && (fields[0] == "Private_Dirty:" || fields[0] == "Shared_Dirty:") && len(fields) >= 2 {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, fmt.Errorf("smaps line %q: %w", sc.Text(), err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if vlogs == 0 || wals == 0 {
		return 0, fmt.Errorf("found %d mappings of value logs and %d of WALs in %s", vlogs, wals, dir)
	}
	return kb, nil
}
