package jetstream

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue/queuetest"
)

// TestRepliesSharedAndStoredOnce: a feed stream made before replies (subjects S.feed.* only)
// takes them once a gateway opens on it; a reply one gateway stores is read by another, and
// the same reply stored again (a retry, same ID) is stored once, with the Seq of the first.
func TestRepliesSharedAndStoredOnce(t *testing.T) {
	s := queuetest.StartNATS(t, false)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R_FEED", Subjects: []string{"R.feed.*"},
		Storage: jetstream.FileStorage, AllowDirect: true}); err != nil {
		t.Fatal(err)
	}
	named := func(o *Options) { o.Stream, o.Bucket = "R", "r" }
	q1, q2 := open(t, s, named), open(t, s, named)

	r := &canonical.Reply{Upstream: "cloud", From: "5511900000001", Kind: canonical.ReplyText, Text: "hi",
		ReceivedAt: time.Now().UTC(), Tenant: "acme"}
	if err := q1.AddReplies(ctx, []*canonical.Reply{r}); err != nil {
		t.Fatal(err)
	}
	again := *r
	again.Seq = 0
	if err := q2.AddReplies(ctx, []*canonical.Reply{&again}); err != nil {
		t.Fatal(err)
	}
	if again.Seq != r.Seq {
		t.Fatalf("the same reply stored again: Seq %d, first %d", again.Seq, r.Seq)
	}
	got, err := q2.ReadReplies("acme", 0, 10)
	if err != nil || len(got) != 1 || got[0].ID != r.ID || got[0].Seq != r.Seq {
		t.Fatalf("replies read by the other gateway = %+v, %v; want %s once", got, err, r.ID)
	}
	feed, err := q2.ReadFeed("acme", 0, 10)
	if err != nil || len(feed) != 1 || feed[0].Reply == nil || feed[0].Reply.ID != r.ID {
		t.Fatalf("feed read by the other gateway = %+v, %v", feed, err)
	}
}
