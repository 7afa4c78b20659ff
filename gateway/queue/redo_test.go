package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
	"switchboard/gateway/queue/internal/journal"
)

// TestReplayRestoresWhatBadgerLost: with DurabilityAlways Badger syncs nothing itself, so a
// power cut can undo every Badger write since the last checkpoint; the journal brings them
// back. The test keeps a copy of the queue's files as a clean Close leaves them (Badger
// synced, the journal empty), goes on with calls of every kind, then lays the journal's
// segments, as they stand once the calls have returned, over the copy: what a restart finds
// after a power cut that lost every Badger write since the copy. The copy, opened, must show
// each call's effect. (No checkpoint may run meanwhile, which would let the journal go of
// what Badger's files, not the copy, hold: the calls stay within one segment.)
func TestReplayRestoresWhatBadgerLost(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	dir, snap := t.TempDir(), t.TempDir()
	q := openQueue(t, dir, clk)
	a := newMsg("5511999990001")
	enqueue(t, q, a)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	copyTree(t, dir, snap)

	q = openQueue(t, dir, clk)
	b, c := newMsg("5511999990002"), newMsg("5511999990003")
	b.Text = string(bytes.Repeat([]byte("b"), 2*valueThreshold)) // to the value log
	enqueue(t, q, b, c)
	ms := leaseN(t, q, 3)
	byTo := map[string]*canonical.Message{}
	for _, m := range ms {
		byTo[m.To] = m
	}
	if err := q.Finish(byTo[a.To], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(byTo[b.To], clk.Now().Add(time.Hour), canonical.Change{Reason: "upstream down"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(byTo[c.To], canonical.Change{Status: canonical.StatusDead, Reason: "rejected"}); err != nil {
		t.Fatal(err)
	}
	if err := q.PutState("consumer/x", []byte("cursor 7"), 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 40 {
		d := newMsg(fmt.Sprintf("55119888%05d", i))
		if _, err := q.Enqueue(ctx, []Item{{Msg: d, IdemKey: d.To}}); err != nil {
			t.Fatal(err)
		}
	}
	// The journal as the calls left it (synced: each call returned after its record's sync).
	if err := os.RemoveAll(filepath.Join(snap, journalDir)); err != nil {
		t.Fatal(err)
	}
	copyTree(t, filepath.Join(dir, journalDir), filepath.Join(snap, journalDir))

	r := openQueue(t, snap, clk)
	if st := r.Stats(); st.Depth != 41 || st.Scheduled != 1 || st.Dead != 1 {
		t.Fatalf("after replay: %+v, want depth 41 (b scheduled, 40 new), 1 dead", st)
	}
	for _, want := range []struct {
		id     string
		status canonical.Status
	}{{a.ID, canonical.StatusSent}, {c.ID, canonical.StatusDead}, {b.ID, canonical.StatusScheduled}} {
		rec, err := r.Get(want.id)
		if err != nil || rec.Msg.Status != want.status {
			t.Fatalf("after replay, %s: %v (%v), want %s", want.id, rec, err, want.status)
		}
		if want.id == b.ID && rec.Msg.Text != b.Text {
			t.Fatalf("after replay, b's text is %d bytes, want %d", len(rec.Msg.Text), len(b.Text))
		}
	}
	if v, err := r.GetState("consumer/x"); err != nil || string(v) != "cursor 7" {
		t.Fatalf("after replay, the consumer's state: %q, %v", v, err)
	}
	d := newMsg("5511988800007")
	if dup, err := r.Enqueue(ctx, []Item{{Msg: d, IdemKey: d.To}}); err != nil || !dup[0] {
		t.Fatalf("after replay, an idempotency key journaled: %v, %v; want a duplicate", dup, err)
	}
	// Replay synced Badger and released what it replayed: a second restart replays nothing.
	if segs, _ := filepath.Glob(filepath.Join(snap, journalDir, "*.seg")); len(segs) > 1 {
		t.Fatalf("after replay the journal holds %d segments", len(segs))
	}
}

// TestCheckpointsReleaseSegments: as the journal moves on to new segments, checkpoints sync
// Badger and release the old ones (one kept as the spare), and nothing is lost across them.
func TestCheckpointsReleaseSegments(t *testing.T) {
	dir := t.TempDir()
	small := func(o *Options) { o.journalSegmentSize = 4 << 10 }
	q := openQueue(t, dir, nil, small)
	ctx := context.Background()
	for i := range 60 {
		d := newMsg(fmt.Sprintf("55119888%05d", i))
		if _, err := q.Enqueue(ctx, []Item{{Msg: d, IdemKey: d.To}}); err != nil {
			t.Fatal(err)
		}
	}
	if q.journal.Segment() < 5 {
		t.Fatalf("journal at segment %d: the test means to move through several", q.journal.Segment())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		segs, _ := filepath.Glob(filepath.Join(dir, journalDir, "*.seg"))
		spares, _ := filepath.Glob(filepath.Join(dir, journalDir, "spare.*"))
		if len(segs) <= 2 && len(spares) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal still holds %d segments and %d spares at segment %d", len(segs), len(spares), q.journal.Segment())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, journalDir, "*.seg")); len(segs) != 0 {
		t.Fatalf("a clean Close left %d journal segments", len(segs))
	}
	r := openQueue(t, dir, nil, small)
	if st := r.Stats(); st.Depth != 60 {
		t.Fatalf("after reopening: depth %d, want 60", st.Depth)
	}
}

// TestRepairOnlyAfterABoot: a journal that ends inside a GC needs the repair only if the
// machine booted since the GC began; after the process alone stopped, GC's writes are in the
// page cache, and reading every value would only slow the restart.
func TestRepairOnlyAfterABoot(t *testing.T) {
	for _, c := range []struct {
		name string
		boot []byte // the boot id written with the start
		end  bool   // an end follows the start
		cut  bool
	}{
		{"this boot", bootID(), false, len(bootID()) == 0},
		{"another boot", []byte("an earlier boot"), false, true},
		{"no boot id", nil, false, true},
		{"ended", []byte("an earlier boot"), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := journal.Open(filepath.Join(dir, journalDir), segmentSize, nil, quiet)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Replay(func([]byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
			recs := [][]byte{append([]byte{redoGC, gcBegin}, c.boot...)}
			if c.end {
				recs = append(recs, []byte{redoGC, gcEnd})
			}
			for _, r := range recs {
				if err := j.Write(append(make([]byte, journal.HeaderSize), r...)); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.Sync(); err != nil {
				t.Fatal(err)
			}
			j.Close()
			o := Options{Dir: dir, Durability: DurabilityAlways, Logger: quiet}
			j, cut, err := openJournal(o, newDiskGuard(dir, -1, -1, quiet))
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
			if cut != c.cut {
				t.Fatalf("a repair %v, want %v", cut, c.cut)
			}
		})
	}
}

// tableFiles lists Badger's tables and MANIFEST in dir with their sizes and times.
func tableFiles(t testing.TB, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".sst") || n == "MANIFEST" {
			if fi, err := e.Info(); err == nil {
				fmt.Fprintf(&b, "%s %d %d\n", n, fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}

// copyTree copies the regular files of src into dst, creating dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRepairAfterCutDuringGC: value-log GC's writes are not in the journal, and Badger no
// longer syncs a moved value before its pointer. The test stops a GC after its rewrite,
// before the logs' sync, and takes the queue's files as a power cut could leave them: the
// WAL and tables as they are (GC's pointers written back), the value log as it was before the
// GC (the moved values never written), the journal with the GC's start and no end. Opened,
// the queue must find the unreadable keys and write them again from the file GC moved them
// from, which the hold kept: every message, live or finished, reads back whole.
func TestRepairAfterCutDuringGC(t *testing.T) {
	dir, snap := t.TempDir(), t.TempDir()
	gcable := func(o *Options) {
		o.MemoryMB = 1               // the smallest memtable, 4 MB
		o.valueLogFileSize = 1 << 20 // the smallest Badger allows
		o.badgerOptions = func(b badger.Options) badger.Options {
			return b.WithNumLevelZeroTables(1) // compact every flushed table: GC sees the garbage
		}
	}
	q := openQueue(t, dir, nil, gcable)
	ctx := context.Background()
	text := func(i int) string { return fmt.Sprintf("%05d %s", i, bytes.Repeat([]byte("t"), 1000)) }
	var ids []string
	live := map[string]bool{}
	for round := range 6 {
		items := make([]Item, 500)
		for i := range items {
			m := newMsg(fmt.Sprintf("55119%02d%05d", round, i))
			m.Text = text(round*1000 + i)
			items[i] = Item{Msg: m}
		}
		if _, err := q.Enqueue(ctx, items); err != nil {
			t.Fatal(err)
		}
		for i, it := range items {
			ids = append(ids, it.Msg.ID)
			live[it.Msg.ID] = i%10 == 0 // one in ten stays, retried later: GC must move its body
		}
		ms, err := q.Lease(ctx, 500)
		if err != nil || len(ms) != 500 {
			t.Fatalf("lease: %d, %v", len(ms), err)
		}
		for _, m := range ms {
			if live[m.ID] {
				err = q.Retry(m, time.Now().Add(time.Hour), canonical.Change{Reason: "later"})
			} else {
				err = q.Finish(m, canonical.Change{Status: canonical.StatusSent})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := q.Close(); err != nil { // flushes the memtable: compactions count the garbage
		t.Fatal(err)
	}
	q = openQueue(t, dir, nil, gcable)

	var cut bool
	var before map[string][]byte // the value-log files before the GC
	q.gcMoved = func(moved bool) {
		if !moved || cut {
			return
		}
		cut = true
		// Badger's compactions go on meanwhile: copy until the tables and the MANIFEST
		// stayed as they were throughout, as a power cut would find them.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			was := tableFiles(t, dir)
			copyTree(t, dir, snap)
			if tableFiles(t, dir) == was {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Badger's tables kept changing")
			}
		}
		copyTree(t, filepath.Join(dir, journalDir), filepath.Join(snap, journalDir))
		vlogs, _ := filepath.Glob(filepath.Join(snap, "*.vlog"))
		for _, p := range vlogs {
			b, ok := before[filepath.Base(p)]
			var err error
			if ok {
				err = os.WriteFile(p, b, 0o600)
			} else {
				err = os.Remove(p)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
	for deadline := time.Now().Add(20 * time.Second); !cut; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("value-log GC rewrote nothing")
		}
		before = map[string][]byte{}
		vlogs, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
		for _, p := range vlogs {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			before[filepath.Base(p)] = b
		}
		q.collectGarbage()
	}

	// The cut was a power cut: the machine booted again (a process that stops leaves what GC
	// wrote in the page cache, and the repair is skipped: TestRepairOnlyAfterABoot).
	thisBoot := bootID
	bootID = func() []byte { return []byte("the next boot") }
	defer func() { bootID = thisBoot }()
	r := openQueue(t, snap, nil, gcable)
	if r.repaired == 0 {
		t.Fatal("nothing to repair: the cut left every moved value readable, so the test shows nothing")
	}
	for i, id := range ids {
		rec, err := r.Get(id)
		if err != nil {
			t.Fatalf("message %d (%s) after the repair: %v", i, id, err)
		}
		want := canonical.StatusSent
		if live[id] {
			want = canonical.StatusScheduled
			if rec.Msg.Text != text(i/500*1000+i%500) {
				t.Fatalf("message %d after the repair: text %.20q...", i, rec.Msg.Text)
			}
		}
		if rec.Msg.Status != want {
			t.Fatalf("message %d after the repair: %s, want %s", i, rec.Msg.Status, want)
		}
	}
	// GC may also have brought finished messages back (stillLive): the scan counts them
	// ready, the lease drops them. Only the 300 retried ones are live.
	if st := r.Stats(); st.Scheduled != 300 {
		t.Fatalf("after the repair: %+v, want the 300 retried ones scheduled", st)
	}
	leaseNone(t, r)
	if st := r.Stats(); st.Depth != 300 {
		t.Fatalf("after the repair and a lease: %+v, want 300 live", st)
	}
}
