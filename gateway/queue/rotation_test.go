package queue

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue/internal/badgerfs"
)

// TestRotatedFilesAreSynced writes enough for Badger to move on to new memtable WALs and
// value-log files, and checks that the syncer, at the next checkpoint, saw it happen and
// synced the files left behind and the directory.
func TestRotatedFilesAreSynced(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil, func(o *Options) {
		o.MemoryMB = 1               // the smallest memtable, 4 MB
		o.valueLogFileSize = 1 << 20 // the smallest Badger allows
	})
	_, vlog0 := q.logs.Current(badgerfs.ValueLog)
	_, mem0 := q.logs.Current(badgerfs.WAL)
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
	if err := q.checkpoint(); err != nil {
		t.Fatal(err)
	}
	_, vlog := q.logs.Current(badgerfs.ValueLog)
	_, mem := q.logs.Current(badgerfs.WAL)
	// A memtable's WAL is removed once its table is written (and needs no sync then), which
	// the writes here leave Badger time for: the syncer follows to the newest.
	vlogSynced := q.logs.Synced(badgerfs.ValueLog)
	if vlog < vlog0+2 || vlogSynced < 2 || mem < mem0+1 {
		t.Fatalf("value logs %d -> %d (%d synced), memtables %d -> %d: rotation not seen",
			vlog0, vlog, vlogSynced, mem0, mem)
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

// TestNothingWrittenBetweenSyncs: the WAL must not reach the disk holding pointers into
// value-log bytes that have not, so no write lands in Badger's logs while the syncer syncs
// the value log and then the WAL. This holds for DurabilityInterval, where the queue syncs the
// data itself (with DurabilityAlways the journal holds every write, see TestJournalBeforeBadger).
// A Finish issued while a sync is between the two files waits for the WAL's sync: the sync
// stays there until the committer is blocked on writeMu with the Finish's group, or until the
// Finish returns, which fails the test.
func TestNothingWrittenBetweenSyncs(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil, func(o *Options) {
		o.Durability = DurabilityInterval
		o.SyncInterval = time.Hour // the test's own sync is the only one
	})
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, []Item{{Msg: newMsg("5511999990001")}}); err != nil {
		t.Fatal(err)
	}
	ms, err := q.Lease(ctx, 1)
	if err != nil || len(ms) != 1 {
		t.Fatalf("lease: %d, %v", len(ms), err)
	}

	inSync := make(chan struct{})
	finished := make(chan struct{})
	var blocked, committedBetween atomic.Bool
	q.logs.SetBetween(func() { // on the syncing goroutine: no t.Fatal here
		close(inSync)
		found, stopped := blockedUnless("sync.Mutex.Lock", "queue.(*Badger).commitGroup", finished)
		blocked.Store(found)
		committedBetween.Store(stopped)
	})
	synced := make(chan error, 1)
	go func() { synced <- q.syncAll() }() // the sync held between the files
	<-inSync
	finishErr := q.Finish(ms[0], canonical.Change{Status: canonical.StatusSent})
	close(finished)
	if finishErr != nil {
		t.Fatal(finishErr)
	}
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if committedBetween.Load() {
		t.Fatal("a Finish was committed while the syncer was between the value log and the WAL")
	}
	if !blocked.Load() {
		t.Fatalf("the committer was not seen waiting for the syncer within %v", blockedWait)
	}
}
