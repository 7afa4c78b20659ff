package queue

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// finishTogether finishes the leased messages as sent through two commit groups: the first
// message's Finish alone, then the others together. The committer is held (writeMu) once it
// has taken the first (q.gathered counts what it takes), until every other Finish waits in
// its channel.
func finishTogether(t *testing.T, q *Badger, msgs []*canonical.Message) {
	t.Helper()
	var taken atomic.Int64
	q.gathered = &taken
	defer func() { q.gathered = nil }()
	q.writeMu.Lock()
	var wg sync.WaitGroup
	errs := make(chan error, len(msgs))
	finish := func(i int, m *canonical.Message) {
		m.Upstream, m.UpstreamID = "up", fmt.Sprintf("u-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "up"})
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	until := func(cond func() bool) {
		for !cond() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	finish(0, msgs[0])
	until(func() bool { return taken.Load() == 1 })
	for i, m := range msgs[1:] {
		finish(i+1, m)
	}
	until(func() bool { return len(q.reqs) == len(msgs)-1 })
	first, waiting := taken.Load(), len(q.reqs)
	q.writeMu.Unlock()
	waitErrs(t, &wg, errs)
	if first != 1 || waiting != len(msgs)-1 {
		t.Fatalf("the committer took %d finishes and %d waited, want 1 and %d", first, waiting, len(msgs)-1)
	}
}

// TestEntriesPerMessage counts the Badger entries a message costs: at enqueue its live
// record and its status pointer; at finish its status record, its upstream-id index and the
// delete of its live record, and a share of one feed entry per group (a run), besides one
// high-water mark per group each time.
func TestEntriesPerMessage(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	const n = 40
	msgs := make([]*canonical.Message, n)
	for i := range msgs {
		msgs[i] = newMsg(fmt.Sprintf("55119%08d", i))
	}
	before := entriesTotal.Get()
	enqueue(t, q, msgs...)
	if got, want := entriesTotal.Get()-before, uint64(2*n+1); got != want {
		t.Fatalf("enqueue of %d wrote %d entries, want %d (m/, s/ each, z/seq)", n, got, want)
	}
	leased := leaseN(t, q, n)
	before = entriesTotal.Get()
	finishTogether(t, q, leased)
	// The first finish made a group of its own: s/, u/, m/ delete, a single feed entry,
	// z/feed. The other n-1: three each, one run, z/feed.
	if got, want := entriesTotal.Get()-before, uint64(5+3*(n-1)+2); got != want {
		t.Fatalf("finish of %d wrote %d entries, want %d", n, got, want)
	}
	feed, err := q.ReadFeed("acme", 0, 2*n)
	if err != nil || len(feed) != n {
		t.Fatalf("feed: %d entries, %v; want %d", len(feed), err, n)
	}
}

// TestFeedRuns: changes written as runs read back each once, in order, whatever the cursor
// and the page size, beside single entries and other tenants' runs; Changes moves its
// cursor through them the same way.
func TestFeedRuns(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	var all []*canonical.Message
	for round := range 3 {
		var msgs []*canonical.Message
		for i := range 10 + round {
			m := newMsg(fmt.Sprintf("5511%d%07d", round, i))
			if i%4 == 3 {
				m.Tenant = "other"
			}
			msgs = append(msgs, m)
		}
		enqueue(t, q, msgs...)
		leased := leaseN(t, q, len(msgs))
		if round == 1 {
			for _, m := range leased { // one group each: single entries
				if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			finishTogether(t, q, leased)
		}
		all = append(all, leased...)
	}
	var want []string // acme's ids in feed order
	for _, m := range all {
		if m.Tenant == "acme" {
			want = append(want, m.ID)
		}
	}
	// The order within a group is the committer's: compare as sets per read, order by Seq.
	full, err := q.ReadFeed("acme", 0, 1000)
	if err != nil || len(full) != len(want) {
		t.Fatalf("feed: %d entries, %v; want %d", len(full), err, len(want))
	}
	ids := map[string]bool{}
	for i, e := range full {
		if i > 0 && e.Seq <= full[i-1].Seq {
			t.Fatalf("feed out of order at %d: %d after %d", i, e.Seq, full[i-1].Seq)
		}
		if ids[e.ID] || e.Change.Status != canonical.StatusSent {
			t.Fatalf("feed entry %d: %+v (repeated or without its change)", i, e)
		}
		ids[e.ID] = true
	}
	for _, id := range want {
		if !ids[id] {
			t.Fatalf("feed misses %s", id)
		}
	}
	// Every cursor and page size reads the same sequence.
	for _, page := range []int{1, 2, 3, 7} {
		var got []FeedEntry
		after := uint64(0)
		for range 100 {
			es, err := q.ReadFeed("acme", after, page)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			if len(es) > page {
				t.Fatalf("page of %d returned %d", page, len(es))
			}
			got = append(got, es...)
			after = es[len(es)-1].Seq
		}
		if fmt.Sprint(got) != fmt.Sprint(full) {
			t.Fatalf("pages of %d read %d entries, want the %d read at once", page, len(got), len(full))
		}
	}
	// The runs are fewer entries than changes.
	keys := 0
	q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: appendLP([]byte{pFeed, '/'}, "acme")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys++
		}
		return nil
	})
	if keys >= len(want) || keys < 1 {
		t.Fatalf("%d feed entries for %d changes: no runs", keys, len(want))
	}
	// Changes, three at a time, returns every message once.
	seen := map[string]bool{}
	for range 100 {
		recs, err := q.Changes("acme", 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if seen[r.Msg.ID] {
				t.Fatalf("Changes returned %s twice", r.Msg.ID)
			}
			seen[r.Msg.ID] = true
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("Changes returned %d messages, want %d", len(seen), len(want))
	}
}

// TestFeedRunSplit: when the writer commits a transaction to start another, the run gathered
// so far goes into the transaction that holds its changes, and reads back with the rest.
func TestFeedRunSplit(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	q.writeMu.Lock() // as the committer: nothing else writes meanwhile
	w := writer{txn: q.db.NewTransaction(true), db: q.db, ttl: time.Hour}
	w.beforeNext = func() { q.flushFeed(&w) }
	q.arena = q.arena[:0]
	for i := range 3 {
		q.feed(&w, "acme", fmt.Sprintf("id-%d", i), canonical.Change{Status: canonical.StatusSent})
	}
	// Nothing fails the test while writeMu is held: Close, in the cleanup, takes it.
	nextErr := w.next()
	left := q.run.n
	// The first transaction alone holds the first three.
	var first int
	q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{pFeed, '/'}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			first++
		}
		return nil
	})
	for i := 3; i < 5; i++ {
		q.feed(&w, "acme", fmt.Sprintf("id-%d", i), canonical.Change{Status: canonical.StatusSent})
	}
	q.flushFeed(&w)
	err := w.commit()
	q.writeMu.Unlock()
	if nextErr != nil || err != nil {
		t.Fatal(nextErr, err)
	}
	if left != 0 {
		t.Fatalf("run of %d left after the transaction was committed", left)
	}
	if first != 1 {
		t.Fatalf("first transaction holds %d feed entries, want one run", first)
	}
	es, err := q.ReadFeed("acme", 0, 10)
	if err != nil || len(es) != 5 {
		t.Fatalf("feed: %v, %v", es, err)
	}
	for i, e := range es {
		if e.Seq != uint64(i+1) || e.ID != fmt.Sprintf("id-%d", i) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
}

// TestFeedItemsCorrupt: a run whose count or contents do not match its value is an error,
// not a panic or a short read.
func TestFeedItemsCorrupt(t *testing.T) {
	one := canonical.AppendChange(appendLP(nil, "id-1"), canonical.Change{Status: canonical.StatusSent})
	run := append([]byte{feedRunMark, 2}, append(one, one...)...)
	n := 0
	if err := feedItems(run, 7, func(fseq uint64, id string, ch *canonical.Change) bool {
		n++
		return fseq == uint64(5+n) && id == "id-1" && ch.Status == canonical.StatusSent
	}); err != nil || n != 2 {
		t.Fatalf("run read %d, %v", n, err)
	}
	for name, v := range map[string][]byte{
		"count beyond its seq": append([]byte{feedRunMark, 9}, one...),
		"short":                append([]byte{feedRunMark, 3}, append(one, one...)...),
		"trailing bytes":       append(append([]byte{feedRunMark, 1}, one...), 1),
		"no count":             {feedRunMark},
	} {
		if err := feedItems(v, 7, func(uint64, string, *canonical.Change) bool { return true }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A single entry as older versions wrote it.
	var got string
	if err := feedItems(appendFeedValue(nil, "id-9", canonical.Change{Status: canonical.StatusRead}), 3,
		func(fseq uint64, id string, ch *canonical.Change) bool {
			got = fmt.Sprint(fseq, id, ch.Status)
			return true
		}); err != nil || got != "3id-9read" {
		t.Fatalf("single entry: %q %v", got, err)
	}
}

// TestFeedRunGap: an fseq handed out past a run (a feed entry written by other code) ends the
// run, so that every change reads back under its own fseq.
func TestFeedRunGap(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	q.writeMu.Lock()
	w := writer{txn: q.db.NewTransaction(true), db: q.db, ttl: time.Hour}
	q.arena = q.arena[:0]
	sent := canonical.Change{Status: canonical.StatusSent}
	q.feed(&w, "acme", "id-1", sent)
	q.feed(&w, "acme", "id-2", sent)
	q.feedSeq++ // fseq 3, written by someone else
	k := q.key(binary.BigEndian.AppendUint64(appendLP(append(q.arena, pFeed, '/'), "acme"), q.feedSeq))
	w.set(k, q.key(appendFeedValue(q.arena, "other", sent)), false)
	q.feed(&w, "acme", "id-4", sent)
	q.flushFeed(&w)
	err := w.commit()
	q.writeMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	es, err := q.ReadFeed("acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, fmt.Sprint(e.Seq, e.ID))
	}
	if want := "[1id-1 2id-2 3other 4id-4]"; fmt.Sprint(got) != want {
		t.Fatalf("feed %v, want %s", got, want)
	}
}
