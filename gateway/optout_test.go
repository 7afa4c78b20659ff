package gateway

import (
	"io"
	"log/slog"
	"testing"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// A reply that is, as a whole, a stop word puts its sender on the tenant's list (durably:
// a queue opened again on the same data has it), a start word takes it off, and anything
// else changes nothing; another tenant's list is its own.
func TestOptOutReply(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() (queue.Queue, *optOuts) {
		q, err := queue.Open(queue.Options{Dir: dir, Logger: log, MemoryMB: 32})
		if err != nil {
			t.Fatal(err)
		}
		o, err := loadOptOuts(q)
		if err != nil {
			t.Fatal(err)
		}
		return q, o
	}
	q, o := open()
	cfg := &config.Config{Tenants: []config.Tenant{
		{ID: "acme", OptOut: config.OptOut{Stop: config.DefaultStopWords, Start: config.DefaultStartWords}},
		{ID: "quiet", OptOut: config.OptOut{Stop: []string{}, Start: []string{}}},
	}}
	s := &Server{core: &core{q: q, log: log, optOuts: o}, cfg: cfg}
	reply := func(tenant, from, text string) string {
		t.Helper()
		did, err := s.OptOutReply(&canonical.Reply{Tenant: tenant, From: from, Kind: canonical.ReplyText, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return did
	}
	for _, text := range []string{"stop it", "please STOP", "", "hello"} {
		if did := reply("acme", "5511999990001", text); did != "" || o.Blocked("acme", "5511999990001") {
			t.Fatalf("%q did %q", text, did)
		}
	}
	for i, text := range []string{" Stop. ", "sair", "PARAR", "iptal", "הסר"} {
		from := "551199999000" + string(rune('2'+i))
		if did := reply("acme", from, text); did != "stop" || !o.Blocked("acme", from) || o.Blocked("quiet", from) {
			t.Fatalf("%q did %q; blocked for acme %v", text, did, o.Blocked("acme", from))
		}
	}
	if did := reply("quiet", "5511999990002", "STOP"); did != "" || o.Blocked("quiet", "5511999990002") {
		t.Fatalf("a tenant without stop words: %q", did)
	}
	// A button whose title is a stop word counts as the word.
	pick := &canonical.Reply{Tenant: "acme", From: "5511999990009", Kind: canonical.ReplyButton, Pick: &canonical.Pick{Title: "STOP"}}
	if did, err := s.OptOutReply(pick); err != nil || did != "stop" || !o.Blocked("acme", "5511999990009") {
		t.Fatalf("a STOP button: %q %v", did, err)
	}
	if did := reply("acme", "5511999990003", "start"); did != "start" || o.Blocked("acme", "5511999990003") {
		t.Fatalf("START did %q", did)
	}
	q.Close()
	q, o = open()
	defer q.Close()
	if got := len(o.List("acme")); got != 5 || !o.Blocked("acme", "5511999990002") || o.Blocked("acme", "5511999990003") {
		t.Fatalf("reopened: %d entries %+v", got, o.List(""))
	}
}
