package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// lookups is q's Lookups; the test is skipped for a backend without them.
func lookups(t testing.TB, q queue.Queue) queue.Lookups {
	l, ok := q.(queue.Lookups)
	if !ok {
		t.Skip("the backend has no vendor lookups")
	}
	return l
}

func testByRef(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	l := lookups(t, q)
	ctx := context.Background()
	send := func(tenant, ref string, key bool, hash uint64) string {
		m := NewMsg()
		m.Tenant, m.ClientRef = tenant, ref
		it := queue.Item{Msg: m}
		if key {
			// Content-scoped, as the gateway scopes Wavy's correlationId: one ref, several messages.
			it.IdemKey, it.IdemHash = fmt.Sprintf("%s\x00wavy\x00%s\x00%x", tenant, ref, hash), hash
		}
		if _, err := q.Enqueue(ctx, []queue.Item{it}); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	a := send("acme", "r1", true, 1)
	b := send("acme", "r1", true, 2)
	send("other", "r1", true, 1)
	d := send("acme", "r2", false, 0)
	e := send("acme", "r1", false, 0)
	for _, tc := range []struct {
		tenant, ref string
		want        []string
	}{
		{"acme", "r1", []string{a, b, e}},
		{"acme", "r2", []string{d}},
		{"acme", "r3", nil},
		{"nobody", "r1", nil},
	} {
		got, err := l.ByRef(tc.tenant, tc.ref)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ByRef(%s, %s) = %v, %v; want %v", tc.tenant, tc.ref, got, err, tc.want)
		}
	}
}

func testTemplateSentSince(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	l := lookups(t, q)
	since := time.Now().Add(-time.Second)
	tm, txt := NewMsg(), NewMsg()
	tm.Kind, tm.Template = canonical.KindTemplate, &canonical.Template{Name: "otp", Language: "en", Params: []string{"1"}}
	failed := NewMsg()
	failed.Kind, failed.Template = canonical.KindTemplate, &canonical.Template{Name: "otp", Language: "en"}
	enqueue(t, q, tm, txt, failed)
	got := byID(leaseN(t, q, 3, 10*time.Second))
	finish(t, q, got[tm.ID], canonical.StatusSent)
	finish(t, q, got[txt.ID], canonical.StatusSent)
	finish(t, q, got[failed.ID], canonical.StatusFailed)

	found, err := l.TemplateSentSince("acme", []string{tm.To, txt.To, failed.To, "5511999999999"}, "", since)
	if err != nil || len(found) != 1 || found[tm.To].Before(since) || found[tm.To].After(time.Now().Add(time.Second)) {
		t.Fatalf("TemplateSentSince = %v, %v; want only %s", found, err, tm.To)
	}
	if found, err := l.TemplateSentSince("other", []string{tm.To}, "", since); err != nil || len(found) != 0 {
		t.Fatalf("another tenant: %v, %v", found, err)
	}
	if found, err := l.TemplateSentSince("acme", []string{tm.To}, "", time.Now().Add(time.Hour)); err != nil || len(found) != 0 {
		t.Fatalf("since later: %v, %v", found, err)
	}
	if found, err := l.TemplateSentSince("acme", []string{tm.To}, "otp", since); err != nil || len(found) != 1 {
		t.Fatalf("by the template's name: %v, %v", found, err)
	}
	if found, err := l.TemplateSentSince("acme", []string{tm.To}, "welcome", since); err != nil || len(found) != 0 {
		t.Fatalf("by another template's name: %v, %v", found, err)
	}
}

func testChanges(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	l := lookups(t, q)
	changes := func(tenant string, max int) map[string]canonical.Status {
		t.Helper()
		recs, err := l.Changes(tenant, max)
		if err != nil {
			t.Fatalf("changes: %v", err)
		}
		out := map[string]canonical.Status{}
		for _, r := range recs {
			if _, dup := out[r.Msg.ID]; dup {
				t.Fatalf("changes returned %s twice", r.Msg.ID)
			}
			out[r.Msg.ID] = r.Msg.Status
		}
		return out
	}
	a, b, c := NewMsg(), NewMsg(), NewMsg()
	c.Tenant = "other"
	enqueue(t, q, a, b, c)
	if got := changes("acme", 10); len(got) != 0 {
		t.Fatalf("changes before any status change: %v", got)
	}
	got := byID(leaseN(t, q, 3, 10*time.Second))
	for _, m := range got {
		finish(t, q, m, canonical.StatusSent)
	}
	one := changes("acme", 1)
	rest := changes("acme", 10)
	if len(one) != 1 || len(rest) != 1 || one[a.ID]+rest[a.ID] != canonical.StatusSent || one[b.ID]+rest[b.ID] != canonical.StatusSent {
		t.Fatalf("changes: %v then %v; want %s and %s, sent, one each time", one, rest, a.ID, b.ID)
	}
	if got := changes("acme", 10); len(got) != 0 {
		t.Fatalf("changes returned again: %v", got)
	}
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	if got := changes("acme", 10); len(got) != 1 || got[a.ID] != canonical.StatusDelivered {
		t.Fatalf("changes after a receipt: %v", got)
	}
	if got := changes("other", 10); len(got) != 1 || got[c.ID] != canonical.StatusSent {
		t.Fatalf("other tenant's changes: %v", got)
	}
}

// testReopen: what was enqueued survives a restart; what was leased and not finished is
// due again; what was scheduled stays scheduled; finished records stay readable.
func testReopen(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	var msgs []*canonical.Message
	for range 5 {
		msgs = append(msgs, NewMsg())
	}
	later := NewMsg()
	later.NotBefore = time.Now().Add(time.Hour)
	enqueue(t, q, msgs...)
	enqueue(t, q, later)
	leased := leaseN(t, q, 5, 10*time.Second)
	finish(t, q, leased[0], canonical.StatusSent)
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	q = open(t)
	got := byID(leaseN(t, q, 4, 15*time.Second))
	for _, m := range leased[1:] {
		if got[m.ID] == nil {
			t.Fatalf("leased-but-unfinished %s not due again after restart (got %v)", m.ID, got)
		}
	}
	if rec := get(t, q, leased[0].ID); rec.Msg.Status != canonical.StatusSent {
		t.Fatalf("finished message after restart: %s", rec.Msg.Status)
	}
	if rec := get(t, q, later.ID); rec.Msg.Status != canonical.StatusScheduled {
		t.Fatalf("scheduled message after restart: %s", rec.Msg.Status)
	}
	waitStats(t, q, "depth 5, one scheduled", func(s queue.Stats) bool { return s.Depth == 5 && s.Scheduled == 1 })
}

func testClosed(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	enqueue(t, q, NewMsg())
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	_, err := q.Enqueue(context.Background(), []queue.Item{{Msg: NewMsg()}})
	wantCode(t, err, canonical.ErrUnavailable)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if ms, err := q.Lease(ctx, 1); err == nil || errors.Is(err, context.DeadlineExceeded) || len(ms) > 0 {
		t.Fatalf("lease after close: %d, %v; want a closing error at once", len(ms), err)
	}
	q.Close() // a second Close is harmless
}
