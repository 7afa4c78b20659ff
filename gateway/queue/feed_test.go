package queue

import (
	"testing"
	"time"

	"switchboard/canonical"
)

// TestSlimRecords: a finished record keeps what status queries, callbacks and check-sent
// read and the buttons a reply picks from, and nothing else of the content; a dead letter keeps everything for its replay.
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
	if m.Text != "" || m.Media != nil || m.Vars != nil || m.Template.Params != nil {
		t.Fatalf("finished record keeps content: %+v %+v", m, m.Template)
	}
	if len(m.Buttons) != 1 || m.Buttons[0] != "yes" { // a reply's pick is matched against them
		t.Fatalf("finished record lost its buttons: %q", m.Buttons)
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
