package callbacks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// TestWorkerReplies: a reply in the feed is posted once to its tenant's reply URL, signed,
// in its dialect's shape (Wavy's MO push for wavy, Switchboard's reply JSON else); a tenant
// with a reply URL only gets no status callbacks, one without a reply URL no replies; a
// reply refused MaxAttempts times is dead-lettered like any callback.
func TestWorkerReplies(t *testing.T) {
	q := openQueue(t, t.TempDir())
	r := startReceiver(t)
	w := startWorker(t, q, []Tenant{
		{ID: "acme", ReplyURL: r.url + "/replies", Secret: "s3cret"},
		{ID: "statusonly", URL: r.url + "/status"},
	}, Options{})
	at := time.Now().UTC().Truncate(time.Millisecond)
	rs := []*canonical.Reply{
		{Tenant: "acme", Dialect: "multiwhats", From: "5511900000001", Kind: canonical.ReplyButton,
			Pick: &canonical.Pick{ID: "btn-2", Title: "No", Index: 2}, MessageID: "m-1", ClientRef: "ref-1", ReceivedAt: at},
		{Tenant: "acme", Dialect: wavy.Dialect, From: "5511900000002", Channel: canonical.ChannelSMS, Kind: canonical.ReplyText,
			Text: "SIM", MessageID: "m-2", ClientRef: "ref-2", ReceivedAt: at},
		{Tenant: "statusonly", Dialect: "native", From: "5511900000003", Kind: canonical.ReplyText, Text: "unheard", ReceivedAt: at},
	}
	if err := q.AddReplies(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	send(t, q, "acme", "native", 2) // status changes of a tenant without a status URL
	send(t, q, "statusonly", "native", 1)
	gs := r.waitFor(t, 2+3, 10*time.Second)
	drainAndStop(t, w, q, "acme", "statusonly")
	gs = r.all()
	var replies, statuses []got
	for _, g := range gs {
		switch g.path {
		case "/replies":
			replies = append(replies, g)
		case "/status":
			statuses = append(statuses, g)
		default:
			t.Errorf("callback to %s: %s", g.path, g.body)
		}
	}
	if len(replies) != 2 || len(statuses) != 3 {
		t.Fatalf("%d replies, %d status callbacks; want 2 and 3: %+v", len(replies), len(statuses), gs)
	}
	if strings.Contains(string(replies[0].body), `"mt"`) { // replies need no order among themselves
		replies[0], replies[1] = replies[1], replies[0]
	}
	for _, g := range replies {
		if g.sig != Sign(g.body, []byte("s3cret")) || !strings.HasSuffix(g.key, "-"+KindReply) {
			t.Errorf("reply not signed or keyed as a reply: %+v", g)
		}
	}
	var generic struct {
		Type, MessageID, ClientRef string
		Pick                       struct{ Index int }
	}
	if err := json.Unmarshal(replies[0].body, &generic); err != nil || generic.Type != "reply" || generic.Pick.Index != 2 {
		t.Errorf("the MultiWhats client's reply: %s", replies[0].body)
	}
	var mo struct {
		Source, MessageText string
		MT                  struct{ ID, CorrelationID string }
	}
	if err := json.Unmarshal(replies[1].body, &mo); err != nil || mo.MessageText != "SIM" || mo.MT.ID != "m-2" || mo.MT.CorrelationID != "ref-2" {
		t.Errorf("the Wavy client's reply: %s", replies[1].body)
	}

	// Dead letters.
	r.fail.Store(500)
	w = startWorker(t, q, []Tenant{{ID: "acme", ReplyURL: r.url + "/replies"}},
		Options{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxAttempts: 2})
	if err := q.AddReplies(context.Background(), []*canonical.Reply{{Tenant: "acme", From: "5511900000004",
		Kind: canonical.ReplyText, Text: "refused", ReceivedAt: at}}); err != nil {
		t.Fatal(err)
	}
	var dead []Delivery
	testutil.WaitFor(t, 10*time.Second, "the reply to be dead-lettered", func() bool {
		dead, _ = w.Dead("", 10)
		return len(dead) == 1
	})
	if d := dead[0]; d.Kind != KindReply || d.Attempts != 2 || !strings.Contains(string(d.Body), `"text":"refused"`) {
		t.Errorf("dead reply: %+v", d)
	}
	r.fail.Store(0)
	if _, err := w.Replay(dead[0].Key); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if last := r.all()[len(r.all())-1]; last.path != "/replies" || !strings.Contains(string(last.body), `"text":"refused"`) {
		t.Errorf("replayed reply: %+v", last)
	}
}
