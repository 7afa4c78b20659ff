package queuetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The optional capabilities, for the backends that have them.

func readFeed(t testing.TB, f queue.Feed, tenant string, after uint64) []queue.FeedEntry {
	t.Helper()
	es, err := f.ReadFeed(tenant, after, 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// testFeed: every status change after enqueue is in the tenant's feed, in order, with the
// change itself; a consumer reads from its own cursor without moving Changes', is woken by a
// change, and the feed survives a restart. Receipts find messages by the upstream's id.
func testFeed(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	f, ok := q.(queue.Feed)
	if !ok {
		t.Skip("the backend has no change feed")
	}
	a, b := NewMsg(), NewMsg()
	b.Tenant = "other"
	enqueue(t, q, a, b)
	if es := readFeed(t, f, "acme", 0); len(es) != 0 || feedSeq(t, f) != 0 {
		t.Fatalf("feed after enqueue: %v (seq %d)", es, feedSeq(t, f))
	}
	notify := f.FeedNotify()
	ms := leaseN(t, q, 2, 5*time.Second)
	select {
	case <-notify:
		t.Fatal("notified before any change")
	default:
	}
	for _, m := range ms {
		if err := q.Retry(m, time.Now(), canonical.Change{Status: canonical.StatusScheduled, Reason: "503"}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-notify:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after a change")
	}
	ms = leaseN(t, q, 2, 5*time.Second)
	for _, m := range ms {
		m.Upstream, m.UpstreamID = "meta", "wamid."+m.To
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "meta"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusDelivered, Code: "4"}); err != nil {
		t.Fatal(err)
	}
	es := readFeed(t, f, "acme", 0)
	var got []canonical.Status
	for _, e := range es {
		if e.ID != a.ID {
			t.Fatalf("acme's feed holds %s", e.ID)
		}
		got = append(got, e.Change.Status)
	}
	want := []canonical.Status{canonical.StatusScheduled, canonical.StatusSent, canonical.StatusDelivered}
	if !slices.Equal(got, want) || es[0].Change.Reason != "503" || es[2].Change.Code != "4" {
		t.Fatalf("feed = %+v, want %v", es, want)
	}
	if es[0].Seq >= es[1].Seq || es[1].Seq >= es[2].Seq || feedSeq(t, f) < es[2].Seq {
		t.Fatalf("feed seqs out of order: %+v, last %d", es, feedSeq(t, f))
	}
	if rest := readFeed(t, f, "acme", es[1].Seq); len(rest) != 1 || rest[0].Seq != es[2].Seq {
		t.Fatalf("feed after %d = %+v", es[1].Seq, rest)
	}
	if other := readFeed(t, f, "other", 0); len(other) != 2 || other[0].ID != b.ID {
		t.Fatalf("other's feed = %+v", other)
	}
	// The feed is for consumers of its own: Changes still sees a's change.
	if recs, err := lookups(t, q).Changes("acme", 10); err != nil || len(recs) != 1 || recs[0].Msg.Status != canonical.StatusDelivered {
		t.Fatalf("changes: %v %v", recs, err)
	}
	if ix, ok := q.(queue.UpstreamIndex); ok {
		if id, err := ix.ByUpstreamID("meta", "wamid."+a.To); err != nil || id != a.ID {
			t.Fatalf("by upstream id: %q %v", id, err)
		}
		if _, err := ix.ByUpstreamID("other-upstream", "wamid."+a.To); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("by upstream id of another upstream: %v", err)
		}
	}

	last := feedSeq(t, f)
	q.Close()
	q = open(t)
	f = q.(queue.Feed)
	if feedSeq(t, f) != last || len(readFeed(t, f, "acme", 0)) != 3 {
		t.Fatalf("after reopen: seq %d (was %d), %d entries", feedSeq(t, f), last, len(readFeed(t, f, "acme", 0)))
	}
}

func feedSeq(t *testing.T, f queue.Feed) uint64 {
	t.Helper()
	seq, err := f.FeedSeq()
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// testState: the feed consumers' keys, listed by prefix in key order, deleted, and expired.
func testState(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	f, ok := q.(queue.Feed)
	if !ok {
		t.Skip("the backend has no change feed")
	}
	if v, err := f.GetState("cb/cursor/acme"); v != nil || err != nil {
		t.Fatalf("missing key: %q %v", v, err)
	}
	for _, k := range []string{"cb/dead/3", "cb/dead/1", "cb/dead/2", "cb/cursor/acme", "cb/deadx", "cb/dead/a.b c"} {
		if err := f.PutState(k, []byte(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := f.GetState("cb/dead/2"); string(v) != "cb/dead/2" {
		t.Fatalf("get = %q", v)
	}
	list := func(after string, max int) []string {
		es, err := f.ListState("cb/dead/", after, max)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range es {
			if string(e.Value) != e.Key {
				t.Fatalf("key %q holds %q", e.Key, e.Value)
			}
			keys = append(keys, e.Key)
		}
		return keys
	}
	if got := list("", 10); !slices.Equal(got, []string{"cb/dead/1", "cb/dead/2", "cb/dead/3", "cb/dead/a.b c"}) {
		t.Fatalf("list = %v", got)
	}
	if got := list("cb/dead/1", 1); !slices.Equal(got, []string{"cb/dead/2"}) {
		t.Fatalf("list after = %v", got)
	}
	if err := f.DeleteState("cb/dead/2"); err != nil {
		t.Fatal(err)
	}
	if got := list("", 10); !slices.Equal(got, []string{"cb/dead/1", "cb/dead/3", "cb/dead/a.b c"}) {
		t.Fatalf("list after delete = %v", got)
	}
	// A ttl is kept in whole seconds (Badger rounds the deadline down to one), so a key
	// with a 1s ttl can expire a moment after it was written: 3s leaves the read at once
	// two seconds at least, however slow the machine.
	if err := f.PutState("cb/dead/4", []byte("cb/dead/4"), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.GetState("cb/dead/4"); string(v) != "cb/dead/4" {
		t.Fatalf("key with a ttl, at once: %q", v)
	}
	gone := WaitUntil(10*time.Second, func() bool {
		v, err := f.GetState("cb/dead/4")
		if err != nil {
			t.Fatal(err)
		}
		return v == nil
	})
	if !gone {
		t.Fatal("key with a 3s ttl still there after 10s")
	}
}
