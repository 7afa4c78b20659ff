package queue

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
)

// TestRotatedFilesAreSynced writes enough for Badger to move on to new memtable WALs and
// value-log files, and checks that the syncer saw it happen and synced the files left behind.
func TestRotatedFilesAreSynced(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil, func(o *Options) {
		o.MemoryMB = 1               // the smallest memtable, 4 MB
		o.valueLogFileSize = 1 << 20 // the smallest Badger allows
	})
	vlog0, mem0 := q.logs.kind[0].cur, q.logs.kind[1].cur
	ctx := context.Background()
	for i := range 200 {
		items := make([]Item, 200)
		for j := range items {
			m := newMsg(fmt.Sprintf("5511%04d%05d", i, j))
			m.Text = fmt.Sprintf("%0200d", j) // bodies go to the value log
			items[j] = Item{Msg: m, IdemKey: m.To}
		}
		if _, err := q.Enqueue(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	vlog, mem := q.logs.kind[0], q.logs.kind[1]
	if vlog.cur < vlog0+2 || vlog.synced < 2 || mem.cur < mem0+1 || mem.synced < 1 {
		t.Fatalf("value logs %d -> %d (%d synced), memtables %d -> %d (%d synced): rotation not seen",
			vlog0, vlog.cur, vlog.synced, mem0, mem.cur, mem.synced)
	}
	if got := q.Stats().Depth; got != 200*200 {
		t.Fatalf("depth %d", got)
	}
	ms, err := q.Lease(ctx, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}
	if err := q.Finish(ms[0], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
}

// TestLogSyncerFollowsRemovedFiles: when Badger has moved on twice and removed the file the
// syncer had open (a memtable flushed between two syncs), the syncer finds the newest file
// from the directory and syncs the one in between.
func TestLogSyncerFollowsRemovedFiles(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	touch("000001.vlog")
	touch("00001.mem")
	s, err := newLogSyncer(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := s.sync(); err != nil {
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
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
	if mem := s.kind[1]; mem.cur != 4 || mem.f == nil {
		t.Fatalf("memtable WAL %d (open %v), want 4", mem.cur, mem.f != nil)
	}
	if vlog := s.kind[0]; vlog.cur != 1 || vlog.f == nil {
		t.Fatalf("value log %d (open %v), want 1", vlog.cur, vlog.f != nil)
	}
}

// TestNothingWrittenBetweenSyncs: the WAL must not reach the disk holding pointers into
// value-log bytes that have not, so no write lands in Badger's logs while the syncer syncs
// the value log and then the WAL. A Finish (which waits for its commit, not for a sync)
// issued while the syncer is between the two syncs completes only after the WAL's sync.
func TestNothingWrittenBetweenSyncs(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, []Item{{Msg: newMsg("5511999990001")}}); err != nil {
		t.Fatal(err)
	}
	ms, err := q.Lease(ctx, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}

	const hold = 300 * time.Millisecond
	inSync := make(chan struct{})
	var syncDone atomic.Int64
	q.logs.mu.Lock()
	q.logs.between = func() {
		q.logs.between = nil // once
		close(inSync)
		time.Sleep(hold)
		syncDone.Store(time.Now().UnixNano())
	}
	q.logs.mu.Unlock()
	enqueued := make(chan error, 1)
	go func() { // its sync is the one held
		_, err := q.Enqueue(ctx, []Item{{Msg: newMsg("5511999990002")}})
		enqueued <- err
	}()
	<-inSync
	if err := q.Finish(ms[0], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	finished := time.Now().UnixNano()
	if err := <-enqueued; err != nil {
		t.Fatal(err)
	}
	if done := syncDone.Load(); done == 0 || finished < done {
		t.Fatalf("a Finish was committed while the syncer was between the value log and the WAL (%v before the value log's sync ended)",
			time.Duration(done-finished))
	}
}
