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

// TestJournalBeforeBadger: with DurabilityAlways every transaction's record must be on disk
// in the journal before Badger holds any of its writes: Badger syncs nothing itself, and a
// memtable flush (which writes and syncs an L0 table of value pointers without syncing the
// value log) or the kernel writing back the WAL's pages could put a pointer on disk whose
// value is not. Replay then rewrites the key, but only if its record is in the journal. The
// test checks, right before each Badger commit, that every record written was synced and
// that the transaction's is among them, through an Enqueue, a Retry, a Finish of a dead letter
// and a consumer's state; and that a checkpoint leaves Badger's logs clean (synced through
// the syncer's own descriptors; /proc/self/smaps shows a mapping's dirty pages).
func TestJournalBeforeBadger(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir := t.TempDir()
	q := openQueue(t, dir, clk)
	var mu sync.Mutex
	var last uint64
	var bad []string
	q.journaled = func() {
		mu.Lock()
		defer mu.Unlock()
		written, synced := q.journal.Written()
		if written != synced || written <= last {
			bad = append(bad, fmt.Sprintf("written %d, synced %d, before %d", written, synced, last))
		}
		last = written
	}
	check := func(after string, records uint64) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 || last < records {
			t.Fatalf("after %s: %d records journaled before Badger's commits, want %d; %v", after, last, records, bad)
		}
	}
	ctx := context.Background()
	msgs := []*canonical.Message{newMsg("5511999990001"), newMsg("5511999990002")}
	for _, m := range msgs {
		m.Text = strings.Repeat("x", 2*valueThreshold) // records go to the value log
	}
	enqueue(t, q, msgs...)
	check("an Enqueue", 1)
	ms, err := q.Lease(ctx, 2)
	if err != nil || len(ms) != 2 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}
	if err := q.Retry(ms[0], clk.Now().Add(time.Hour), canonical.Change{Reason: "upstream down"}); err != nil {
		t.Fatal(err)
	}
	check("a Retry", 2)
	if err := q.Finish(ms[1], canonical.Change{Status: canonical.StatusDead, Reason: "rejected"}); err != nil {
		t.Fatal(err)
	}
	check("a Finish", 3)
	if err := q.PutState("consumer/x", []byte("cursor"), 0); err != nil {
		t.Fatal(err)
	}
	check("a consumer's state", 4)

	if kb, err := dirtyLogKB(dir); err != nil || kb == 0 {
		t.Fatalf("Badger's logs before a checkpoint: %d kB dirty (%v); the writes should be in memory only", kb, err)
	}
	if err := q.checkpoint(); err != nil {
		t.Fatal(err)
	}
	if kb, err := dirtyLogKB(dir); err != nil || kb != 0 {
		t.Fatalf("logs dirty after a checkpoint: %d kB (%v)", kb, err)
	}
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
