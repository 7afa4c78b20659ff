package queue

import (
	"context"
	"testing"
	"time"

	"switchboard/canonical"
)

// TestReplies: a reply is stored with an ID and a feed Seq, read back in order by the pull
// (ReadReplies) and by the feed (as FeedEntry.Reply), survives a restart, adds a "replied"
// entry to the history of the message it answers without moving its status, and is not a
// status change to Changes (Wavy's status list).
func TestReplies(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, nil)
	m := newMsg("5511900000001")
	enqueue(t, q, m)
	leased := leaseN(t, q, 1)[0]
	if err := q.Finish(leased, canonical.Change{Status: canonical.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Changes("acme", 100); err != nil { // the cursor past the sent change
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	rs := []*canonical.Reply{
		{Upstream: "cloud", From: m.To, Kind: canonical.ReplyText, Text: "hi", ReceivedAt: at, Tenant: "acme", MessageID: m.ID},
		{Upstream: "cloud", From: "5511900000009", Kind: canonical.ReplyButton, Pick: &canonical.Pick{Title: "Yes", Index: 1}, ReceivedAt: at, Tenant: "acme"},
		{Upstream: "cloud", From: "5511900000009", Kind: canonical.ReplyText, Text: "other", ReceivedAt: at, Tenant: "beta"},
	}
	if err := q.AddReplies(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == "" || r.Seq == 0 {
			t.Fatalf("reply stored without ID or Seq: %+v", r)
		}
	}
	if err := q.AddReplies(context.Background(), []*canonical.Reply{{From: "1"}}); err == nil {
		t.Fatal("a reply without a tenant was stored")
	}
	q.Close()
	q = openQueue(t, dir, nil)

	got, err := q.ReadReplies("acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != rs[0].ID || got[0].Seq != rs[0].Seq || got[0].Text != "hi" ||
		got[1].Pick == nil || got[1].Pick.Title != "Yes" || got[1].Seq != rs[1].Seq {
		t.Fatalf("replies of acme = %+v", got)
	}
	if got, _ := q.ReadReplies("acme", rs[0].Seq, 10); len(got) != 1 || got[0].ID != rs[1].ID {
		t.Fatalf("replies after the first = %+v", got)
	}
	if got, _ := q.ReadReplies("beta", 0, 10); len(got) != 1 || got[0].Text != "other" {
		t.Fatalf("replies of beta = %+v", got)
	}

	feed, err := q.ReadFeed("acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var replies []*canonical.Reply
	for _, e := range feed {
		if e.Reply != nil {
			if e.Seq != e.Reply.Seq || e.ID != "" {
				t.Fatalf("feed entry of a reply: %+v", e)
			}
			replies = append(replies, e.Reply)
		} else if e.Change.Status == canonical.StatusReplied {
			t.Fatalf("the reply's history entry is in the feed: %+v", e)
		}
	}
	if len(replies) != 2 || replies[0].ID != rs[0].ID || replies[1].ID != rs[1].ID {
		t.Fatalf("replies in the feed = %+v", replies)
	}

	rec, err := q.Get(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := rec.History[len(rec.History)-1]
	if rec.Msg.Status != canonical.StatusSent || last.Status != canonical.StatusReplied || last.Reason != "reply text "+rs[0].ID {
		t.Fatalf("answered message: status %s, history %+v", rec.Msg.Status, rec.History)
	}
	if recs, err := q.Changes("acme", 100); err != nil || len(recs) != 0 {
		t.Fatalf("Changes after replies = %d records, %v; want none", len(recs), err)
	}
}
