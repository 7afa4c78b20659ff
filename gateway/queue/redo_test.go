package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchboard/canonical"
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
