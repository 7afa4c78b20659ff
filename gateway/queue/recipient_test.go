package queue

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"switchboard/canonical"
)

// idAt mints a UUIDv7 of time at, as canonical.NewID does of the wall clock: the test clock
// is not the wall clock, and the lookup reads the window from the ids.
func idAt(at time.Time) string {
	var u uuid.UUID
	rand.Read(u[:])
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(u[:6], ms[2:])
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

// TestByRecipient: messages to three recipients, one every ten minutes of the test clock;
// the lookup answers those to one recipient (and tenant) within the window, newest first, in
// pages of the limit, and says when its scan bound stopped it.
func TestByRecipient(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	q := openQueue(t, t.TempDir(), clk)
	const a, b, c = "5511900000001", "5511900000002", "5511900000003"
	at := map[string]time.Time{}
	var toA []string // oldest first
	for i := range 10 {
		for _, to := range []string{a, b, c} {
			m := newMsg(to)
			m.ID = idAt(clk.Now())
			enqueue(t, q, m)
			at[m.ID] = clk.Now()
			if to == a {
				toA = append(toA, m.ID)
			}
		}
		if i == 3 { // the same recipient of another tenant
			m := newMsg(a)
			m.Tenant, m.ID = "other", idAt(clk.Now())
			enqueue(t, q, m)
		}
		clk.Add(10 * time.Minute)
	}
	// Finish every message leased so far, so finished records are read as well as live ones.
	leased, err := q.Lease(context.Background(), 12)
	if err != nil || len(leased) != 12 {
		t.Fatalf("lease: %d, %v", len(leased), err)
	}
	for _, m := range leased {
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, At: clk.Now()}); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}

	ask := func(rq RecipientQuery) RecipientPage {
		t.Helper()
		p, err := q.ByRecipient(rq)
		if err != nil {
			t.Fatalf("ByRecipient(%+v): %v", rq, err)
		}
		return p
	}
	ids := func(p RecipientPage) []string {
		out := []string{}
		for _, r := range p.Records {
			out = append(out, r.Msg.ID)
		}
		return out
	}
	since, until := t0.Add(15*time.Minute), t0.Add(65*time.Minute) // minutes 20 to 60
	want := slices.Clone(toA[2:7])
	slices.Reverse(want)
	all := ask(RecipientQuery{Tenant: "acme", To: a, Since: since, Until: until, Limit: 100, Scan: 1000})
	if got := ids(all); !slices.Equal(got, want) || all.Truncated {
		t.Fatalf("window: %v (truncated %v), want %v newest first", got, all.Truncated, want)
	}
	for _, r := range all.Records {
		if r.Msg.To != a || r.Msg.Tenant != "acme" || at[r.Msg.ID].Before(since) || !at[r.Msg.ID].Before(until) {
			t.Fatalf("answered %s to %s of %s at %v", r.Msg.ID, r.Msg.To, r.Msg.Tenant, at[r.Msg.ID])
		}
	}
	if st := all.Records[len(all.Records)-1].Msg.Status; st != canonical.StatusSent {
		t.Fatalf("the finished message at minute 20 reads %s", st)
	}
	if p := ask(RecipientQuery{To: a, Since: since, Until: until, Limit: 100, Scan: 1000}); len(p.Records) != 6 {
		t.Fatalf("any tenant: %v, want the 5 of acme and 1 of other", ids(p))
	}

	// Pages of two: each Next goes on where the last stopped.
	var paged []string
	rq := RecipientQuery{Tenant: "acme", To: a, Since: since, Until: until, Limit: 2, Scan: 1000}
	for range 5 {
		p := ask(rq)
		paged = append(paged, ids(p)...)
		if len(p.Records) > rq.Limit || p.ScanBound {
			t.Fatalf("page: %v, scan bound %v", ids(p), p.ScanBound)
		}
		if !p.Truncated {
			break
		}
		rq.Before = p.Next
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("pages of 2: %v, want %v", paged, want)
	}

	// The scan bound: 4 records read (minute 60's three, then one of minute 50) hold one match.
	p := ask(RecipientQuery{Tenant: "acme", To: a, Since: since, Until: until, Limit: 100, Scan: 4})
	if !p.Truncated || !p.ScanBound || p.Examined != 4 || p.Next == "" || len(p.Records) < 1 || len(p.Records) > 2 {
		t.Fatalf("scan bound 4: %v truncated %v bound %v examined %d next %q", ids(p), p.Truncated, p.ScanBound, p.Examined, p.Next)
	}

	// A window reaching past retention starts at retention.
	p = ask(RecipientQuery{To: a, Since: t0.Add(-1000 * time.Hour), Until: clk.Now(), Limit: 100, Scan: 1000})
	if wantSince := clk.Now().Add(-q.opts.Retention); !p.Since.Equal(wantSince) {
		t.Fatalf("since past retention: %v, want %v", p.Since, wantSince)
	}
}
