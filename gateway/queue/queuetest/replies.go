package queuetest

import (
	"context"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// testReplies: replies are stored with an ID and a Seq; they are in their tenant's feed as
// FeedEntry.Reply, in order with its status changes, and wake the feed's consumer; the pull
// (ReadReplies) pages through a tenant's replies by Seq and never returns another tenant's;
// a reply adds a "replied" entry to the history of the message it answers without moving
// its status, posting no status change to the feed or to Changes; a reply to a message
// past retention is kept; all of it survives a restart.
func testReplies(t *testing.T, open func(testing.TB) queue.Queue) {
	q := open(t)
	rq, ok := q.(queue.Replies)
	if !ok {
		t.Skip("the backend keeps no replies")
	}
	m := NewMsg()
	enqueue(t, q, m)
	finish(t, q, leaseN(t, q, 1, 5*time.Second)[0], canonical.StatusSent)
	l := lookups(t, q)
	if _, err := l.Changes("acme", 100); err != nil { // the cursor past the sent change
		t.Fatal(err)
	}
	notify := q.(queue.Feed).FeedNotify()
	select { // the sent change's notification, if it is still pending
	case <-notify:
	default:
	}

	at := time.Now().UTC().Truncate(time.Millisecond)
	rs := []*canonical.Reply{
		{Upstream: "cloud", From: m.To, Kind: canonical.ReplyText, Text: "hi", ReceivedAt: at, Tenant: "acme",
			MessageID: m.ID, ClientRef: "ref-1"},
		{Upstream: "cloud", From: "5511900000009", Kind: canonical.ReplyButton, Pick: &canonical.Pick{Title: "Yes", Index: 1},
			ReceivedAt: at, Tenant: "acme"},
		{Upstream: "cloud", From: "5511900000009", Kind: canonical.ReplyText, Text: "other", ReceivedAt: at, Tenant: "beta"},
		{Upstream: "cloud", From: "5511900000008", Kind: canonical.ReplyText, Text: "late", ReceivedAt: at, Tenant: "acme",
			MessageID: "gone-past-retention"},
	}
	if err := rq.AddReplies(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.ID == "" || r.Seq == 0 || i > 0 && r.Seq <= rs[i-1].Seq {
			t.Fatalf("reply %d stored without an ID or a growing Seq: %+v", i, r)
		}
	}
	select {
	case <-notify:
	case <-time.After(5 * time.Second):
		t.Fatal("no feed notification after replies")
	}
	if err := rq.AddReplies(context.Background(), []*canonical.Reply{{From: "1"}}); err == nil {
		t.Fatal("a reply without a tenant was stored")
	}
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	q = open(t)
	rq = q.(queue.Replies)

	acme := []*canonical.Reply{rs[0], rs[1], rs[3]}
	got, err := rq.ReadReplies("acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(acme) {
		t.Fatalf("replies of acme = %+v; want %d", got, len(acme))
	}
	for i, want := range acme {
		g := got[i]
		if g.ID != want.ID || g.Seq != want.Seq || g.Text != want.Text || g.Kind != want.Kind || g.From != want.From ||
			g.MessageID != want.MessageID || g.ClientRef != want.ClientRef || !g.ReceivedAt.Equal(at) || g.Tenant != "acme" {
			t.Fatalf("reply %d of acme = %+v; want %+v", i, g, *want)
		}
	}
	if got[1].Pick == nil || got[1].Pick.Title != "Yes" || got[1].Pick.Index != 1 {
		t.Fatalf("button reply's pick = %+v", got[1].Pick)
	}
	// Paging, one at a time, by the last Seq read.
	var after uint64
	for i, want := range acme {
		page, err := rq.ReadReplies("acme", after, 1)
		if err != nil || len(page) != 1 || page[0].ID != want.ID {
			t.Fatalf("page %d after Seq %d = %+v, %v; want %s", i, after, page, err, want.ID)
		}
		after = page[0].Seq
	}
	if page, err := rq.ReadReplies("acme", after, 10); err != nil || len(page) != 0 {
		t.Fatalf("replies after the last = %+v, %v", page, err)
	}
	if got, _ := rq.ReadReplies("beta", 0, 10); len(got) != 1 || got[0].Text != "other" || got[0].ID != rs[2].ID {
		t.Fatalf("replies of beta = %+v", got)
	}
	if got, _ := rq.ReadReplies("nobody", 0, 10); len(got) != 0 {
		t.Fatalf("replies of a tenant without any = %+v", got)
	}

	feed := readFeed(t, q.(queue.Feed), "acme", 0)
	var replies []*canonical.Reply
	var sentSeq uint64
	for i, e := range feed {
		if i > 0 && e.Seq <= feed[i-1].Seq {
			t.Fatalf("feed out of order: %+v", feed)
		}
		switch {
		case e.Reply != nil:
			if e.Seq != e.Reply.Seq || e.ID != "" {
				t.Fatalf("feed entry of a reply: %+v", e)
			}
			replies = append(replies, e.Reply)
		case e.Change.Status == canonical.StatusReplied:
			t.Fatalf("the reply's history entry is in the feed: %+v", e)
		case e.ID == m.ID && e.Change.Status == canonical.StatusSent:
			sentSeq = e.Seq
		}
	}
	if sentSeq == 0 || sentSeq >= rs[0].Seq {
		t.Fatalf("feed of acme = %+v; want the sent change before the replies", feed)
	}
	if len(replies) != len(acme) {
		t.Fatalf("replies in the feed = %+v; want %d", replies, len(acme))
	}
	for i, want := range acme {
		if r := replies[i]; r.ID != want.ID || r.Text != want.Text || r.MessageID != want.MessageID || r.Tenant != "acme" {
			t.Fatalf("reply %d in the feed = %+v; want %+v", i, r, *want)
		}
	}
	if es := readFeed(t, q.(queue.Feed), "acme", rs[1].Seq); len(es) != 1 || es[0].Reply == nil || es[0].Reply.ID != rs[3].ID {
		t.Fatalf("feed after the second reply = %+v", es)
	}

	rec := get(t, q, m.ID)
	last := rec.History[len(rec.History)-1]
	if rec.Msg.Status != canonical.StatusSent || last.Status != canonical.StatusReplied || last.Reason != "reply text "+rs[0].ID ||
		last.Upstream != "cloud" || !last.At.Equal(at) {
		t.Fatalf("answered message: status %s, history %+v", rec.Msg.Status, rec.History)
	}
	if recs, err := lookups(t, q).Changes("acme", 100); err != nil || len(recs) != 0 {
		t.Fatalf("Changes after replies = %d records, %v; want none", len(recs), err)
	}
}
