package queue

import (
	"errors"
	"slices"
	"testing"
	"time"

	"switchboard/canonical"
)

func readFeed(t *testing.T, q *Badger, tenant string, after uint64) []FeedEntry {
	t.Helper()
	es, err := q.ReadFeed(tenant, after, 100)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestFeedCarriesChanges: every status change after enqueue is in the tenant's feed, in
// commit order, with the change itself; a consumer reads from its own cursor without moving
// Changes', and is woken by a commit.
func TestFeedCarriesChanges(t *testing.T) {
	clk := newClock()
	q := openQueue(t, t.TempDir(), clk)
	a, b := newMsg("5511900000001"), newMsg("5511900000002")
	b.Tenant = "other"
	enqueue(t, q, a, b)
	if es := readFeed(t, q, "acme", 0); len(es) != 0 || q.FeedSeq() != 0 {
		t.Fatalf("feed after enqueue: %v (seq %d)", es, q.FeedSeq())
	}
	ms := leaseN(t, q, 2)
	select { // drain a wake-up left by nothing
	case <-q.FeedNotify():
		t.Fatal("notified before any change")
	default:
	}
	for _, m := range ms {
		if err := q.Retry(m, clk.Now(), canonical.Change{Status: canonical.StatusScheduled, Reason: "503"}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-q.FeedNotify():
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after a change")
	}
	ms = leaseN(t, q, 2)
	for _, m := range ms {
		m.Upstream, m.UpstreamID = "meta", "wamid."+m.To
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent, Upstream: "meta"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusDelivered, Code: "4"}); err != nil {
		t.Fatal(err)
	}
	es := readFeed(t, q, "acme", 0)
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
	if es[0].Seq >= es[1].Seq || es[1].Seq >= es[2].Seq || q.FeedSeq() < es[2].Seq {
		t.Fatalf("feed seqs out of order: %+v, last %d", es, q.FeedSeq())
	}
	if rest := readFeed(t, q, "acme", es[1].Seq); len(rest) != 1 || rest[0].Seq != es[2].Seq {
		t.Fatalf("feed after %d = %+v", es[1].Seq, rest)
	}
	// The feed is for consumers of its own: Changes still sees a's change.
	if recs, err := q.Changes("acme", 10); err != nil || len(recs) != 1 || recs[0].Msg.Status != canonical.StatusDelivered {
		t.Fatalf("changes: %v %v", recs, err)
	}
	if id, err := q.ByUpstreamID("meta", "wamid."+a.To); err != nil || id != a.ID {
		t.Fatalf("by upstream id: %q %v", id, err)
	}
	if _, err := q.ByUpstreamID("other-upstream", "wamid."+a.To); !errors.Is(err, ErrNotFound) {
		t.Fatalf("by upstream id of another upstream: %v", err)
	}

	// After a restart the feed and its Seq go on.
	dir := q.opts.Dir
	last := q.FeedSeq()
	q.Close()
	q = openQueue(t, dir, clk)
	if q.FeedSeq() != last || len(readFeed(t, q, "acme", 0)) != 3 {
		t.Fatalf("after reopen: seq %d (was %d), %d entries", q.FeedSeq(), last, len(readFeed(t, q, "acme", 0)))
	}
}

func TestState(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	if v, err := q.GetState("cb/cursor/acme"); v != nil || err != nil {
		t.Fatalf("missing key: %q %v", v, err)
	}
	for _, k := range []string{"cb/dead/3", "cb/dead/1", "cb/dead/2", "cb/cursor/acme", "cb/deadx"} {
		if err := q.PutState(k, []byte(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := q.GetState("cb/dead/2"); string(v) != "cb/dead/2" {
		t.Fatalf("get = %q", v)
	}
	list := func(after string, max int) []string {
		es, err := q.ListState("cb/dead/", after, max)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, e := range es {
			keys = append(keys, e.Key)
		}
		return keys
	}
	if got := list("", 10); !slices.Equal(got, []string{"cb/dead/1", "cb/dead/2", "cb/dead/3"}) {
		t.Fatalf("list = %v", got)
	}
	if got := list("cb/dead/1", 1); !slices.Equal(got, []string{"cb/dead/2"}) {
		t.Fatalf("list after = %v", got)
	}
	if err := q.DeleteState("cb/dead/2"); err != nil {
		t.Fatal(err)
	}
	if got := list("", 10); !slices.Equal(got, []string{"cb/dead/1", "cb/dead/3"}) {
		t.Fatalf("list after delete = %v", got)
	}
}

// TestSlimRecords: a finished record keeps what status queries, callbacks and check-sent
// read, and nothing of the content; a dead letter keeps everything for its replay.
func TestSlimRecords(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	a, b := newMsg("5511900000001"), newMsg("5511900000002")
	for _, m := range []*canonical.Message{a, b} {
		m.Kind, m.ClientRef, m.BatchID, m.From, m.Dialect = canonical.KindTemplate, "ref-"+m.To, "batch", "5511", "wavy"
		m.Template = &canonical.Template{Name: "otp", Language: "pt_BR", Params: []string{"1234"}}
		m.Media = []canonical.Media{{URL: "https://example.com/a.png"}}
		m.Buttons, m.Vars = []string{"yes"}, map[string]string{"name": "Ana"}
		m.Extra = map[string]string{"extraInfo": "campaign-7"}
	}
	enqueue(t, q, a, b)
	byID := map[string]*canonical.Message{}
	for _, m := range leaseN(t, q, 2) {
		byID[m.ID] = m
	}
	byID[a.ID].Upstream, byID[a.ID].UpstreamID, byID[a.ID].Attempts = "wavy-up", "v-1", 1
	if err := q.Finish(byID[a.ID], canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if byID[a.ID].Text == "" {
		t.Fatal("Finish emptied the caller's message")
	}
	if err := q.Finish(byID[b.ID], canonical.Change{Status: canonical.StatusDead}); err != nil {
		t.Fatal(err)
	}
	rec, err := q.Get(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := rec.Msg
	if m.Text != "" || m.Media != nil || m.Buttons != nil || m.Vars != nil || m.Template.Params != nil {
		t.Fatalf("finished record keeps content: %+v %+v", m, m.Template)
	}
	if m.ID != a.ID || m.Tenant != "acme" || m.Dialect != "wavy" || m.ClientRef != "ref-"+a.To || m.To != a.To ||
		m.From != "5511" || m.BatchID != "batch" || m.Kind != canonical.KindTemplate || m.Template.Name != "otp" ||
		m.Extra["extraInfo"] != "campaign-7" || m.Upstream != "wavy-up" || m.UpstreamID != "v-1" || m.Attempts != 1 ||
		m.Status != canonical.StatusSent || len(rec.History) != 3 {
		t.Fatalf("finished record lost what queries need: %+v %+v", m, rec.History)
	}
	dead, err := q.DeadLetters(10)
	if err != nil || len(dead) != 1 || dead[0].Msg.Text != b.Text || dead[0].Msg.Template.Params[0] != "1234" {
		t.Fatalf("dead letter: %+v %v", dead, err)
	}
}

// TestTemplateFailureReceipt: check-sent stops reporting a template whose receipt says it
// failed, when it was the last one sent to that recipient.
func TestTemplateFailureReceipt(t *testing.T) {
	q := openQueue(t, t.TempDir(), nil)
	a := newMsg("5511900000001")
	a.Template = &canonical.Template{Name: "otp"}
	enqueue(t, q, a)
	m := leaseN(t, q, 1)[0]
	if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Hour)
	if got, _ := q.TemplateSentSince("acme", []string{a.To}, "", since); len(got) != 1 {
		t.Fatalf("template not reported sent: %v", got)
	}
	if err := q.Record(a.ID, canonical.Change{Status: canonical.StatusFailed, Code: "131026"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.TemplateSentSince("acme", []string{a.To}, "", since); len(got) != 0 {
		t.Fatalf("failed template still reported sent: %v", got)
	}
}
