package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// TestFinishedMessageBroughtBackIsNotSent: Badger's value-log GC can write back a live
// message's value after its Finish deleted it (a compaction dropped the deletion while GC
// held the value; lease.go, stillLive). The test puts the value back as GC would, with the
// version it had, and restarts: the startup scan finds the message live, and the lease must
// not hand it out again, but drop it and delete it for good.
func TestFinishedMessageBroughtBackIsNotSent(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir := t.TempDir()
	q := openQueue(t, dir, clk)
	m := newMsg("5511999990001")
	enqueue(t, q, m)
	key := appendSeqKey(nil, pLive, m.Seq)
	var val []byte
	var meta byte
	if err := q.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		meta = item.UserMeta()
		val, err = item.ValueCopy(nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ms := leaseN(t, q, 1)
	if err := q.Finish(ms[0], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := q.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(key, val).WithMeta(meta))
	}); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = openQueue(t, dir, clk)
	if d := q.Stats().Depth; d != 1 {
		t.Fatalf("depth %d after the restart; the test means the scan to find the message", d)
	}
	leaseNone(t, q)
	if d := q.Stats().Depth; d != 0 {
		t.Fatalf("depth %d after the lease, want 0", d)
	}
	if err := q.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(key)
		return err
	}); !errors.Is(err, badger.ErrKeyNotFound) {
		t.Fatalf("the live message's key after the lease: %v, want it deleted", err)
	}
	if rec, err := q.Get(m.ID); err != nil || rec.Msg.Status != canonical.StatusSent {
		t.Fatalf("the message after the lease: %v, %v; want sent", rec, err)
	}
}

// TestReplayedDeadLetterBroughtBackIsNotListed: the same for a dead letter that Replay deleted.
func TestReplayedDeadLetterBroughtBackIsNotListed(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, newClock())
	a, b := newMsg("5511900000001"), newMsg("5511900000002")
	enqueue(t, q, a, b)
	for _, m := range leaseN(t, q, 2) {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusDead, Reason: "rejected"}); err != nil {
			t.Fatal(err)
		}
	}
	key := appendSeqKey(nil, pDead, a.Seq)
	var val []byte
	if err := q.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err == nil {
			val, err = item.ValueCopy(nil)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := q.Replay(a.ID); err != nil {
		t.Fatal(err)
	}
	if err := q.db.Update(func(txn *badger.Txn) error { return txn.Set(key, val) }); err != nil {
		t.Fatal(err)
	}
	dead, err := q.DeadLetters(10)
	if err != nil || len(dead) != 1 || dead[0].Msg.ID != b.ID {
		t.Fatalf("dead letters: %d, %v; want only %s", len(dead), err, b.ID)
	}
}
