package gateway

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// deadQueue is a Badger queue holding n dead letters, every other one from upstream "a"
// (the rest from "b"), in the order they died; it returns their ids in that order.
func deadQueue(t *testing.T, n int) (queue.Queue, []string) {
	t.Helper()
	q, err := queue.Open(queue.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MemoryMB: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	items := make([]queue.Item, n)
	for i := range items {
		items[i] = queue.Item{Msg: &canonical.Message{Tenant: "acme", To: "55119" + strconv.Itoa(1000000+i),
			Channel: canonical.ChannelWhatsApp, Kind: canonical.KindText, Text: "x"}}
	}
	if _, err := q.Enqueue(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for len(ids) < n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ms, err := q.Lease(ctx, 1)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			m.Upstream = map[bool]string{true: "a", false: "b"}[len(ids)%2 == 0]
			if err := q.Finish(m, canonical.Change{Status: canonical.StatusDead, At: time.Now(), Upstream: m.Upstream}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
		}
	}
	return q, ids
}

// The dead list pages through a list longer than one call's scan bound: with a filter that
// matches sparsely, each call reads at most the bound and says where to go on, and the pages
// together are every match, in order, once.
func TestDeadListPagesPastTheScanBound(t *testing.T) {
	q, ids := deadQueue(t, 40)
	s := &Server{core: &core{q: q}}
	var want []string
	for i, id := range ids {
		if i%2 == 0 {
			want = append(want, id)
		}
	}
	var got []string
	f := deadFilter{upstream: "a"}
	for calls := 0; ; calls++ {
		if calls > 40 {
			t.Fatalf("no end after %d calls; got %d of %d", calls, len(got), len(want))
		}
		recs, next, err := s.selectDead(f, 3, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 3 {
			t.Fatalf("%d letters in a page of 3", len(recs))
		}
		for _, r := range recs {
			got = append(got, r.Msg.ID)
		}
		if next == "" {
			break
		}
		f.after = next
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d letters, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("letter %d is %s, want %s", i, got[i], want[i])
		}
	}
	// A cursor that is no longer a dead letter (replayed meanwhile) is refused, not restarted.
	if err := q.Replay(ids[5]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.selectDead(deadFilter{after: ids[5]}, 3, 7); err == nil {
		t.Fatalf("a replayed cursor was taken")
	}
}
