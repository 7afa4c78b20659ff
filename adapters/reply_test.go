package adapters

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// fullReply sets every field AppendGenericReply writes, so a field it drops fails the
// round trip below.
var fullReply = canonical.Reply{
	ID: "01a1f0e2-0000-7000-8000-0000000000r1", Upstream: "mw", Line: "908503080335", From: "5511987654321",
	ProfileName: "Ana", Channel: canonical.ChannelWhatsApp, VendorID: "v-1",
	ReceivedAt: time.Date(2025, 3, 1, 12, 0, 5, 250_000_000, time.UTC), Kind: canonical.ReplyButton,
	Text: "I pick \"yes\"", Media: &canonical.Attachment{Type: "image", ID: "m-1", URL: "https://cdn.example.com/a.jpg",
		MIMEType: "image/jpeg", Caption: "look", Filename: "a.jpg"},
	Pick:     &canonical.Pick{ID: "btn-2", Title: "Yes", Index: 2},
	Location: &canonical.Location{Latitude: -23.5505, Longitude: -46.6333, Name: "Sé", Address: "Praça da Sé"},
	Contacts: []byte(`[{"name":{"formatted_name":"Bia"}}]`), Emoji: "👍",
	InReplyTo: "our-1", InReplyToUpstreamID: "up-1", Tenant: "acme",
	MessageID: "01a1f0e2-0000-7000-8000-000000000001", ClientRef: "order-42", Dialect: "multiwhats", FlowID: "flow-7",
}

func TestAppendGenericReply(t *testing.T) {
	got := AppendGenericReply([]byte("x"), &fullReply)
	if got[0] != 'x' {
		t.Fatalf("dst not kept: %s", got)
	}
	want := `{"type":"reply","id":"01a1f0e2-0000-7000-8000-0000000000r1","message_id":"01a1f0e2-0000-7000-8000-000000000001",` +
		`"client_ref":"order-42","flow_id":"flow-7","from":"5511987654321","profile_name":"Ana","line":"908503080335",` +
		`"channel":"whatsapp","kind":"button","text":"I pick \"yes\"",` +
		`"media":{"type":"image","id":"m-1","url":"https://cdn.example.com/a.jpg","mime_type":"image/jpeg","caption":"look","filename":"a.jpg"},` +
		`"pick":{"id":"btn-2","title":"Yes","index":2},` +
		`"location":{"latitude":-23.5505,"longitude":-46.6333,"name":"Sé","address":"Praça da Sé"},` +
		`"contacts":[{"name":{"formatted_name":"Bia"}}],"emoji":"👍","received_at":"2025-03-01T12:00:05.25Z"}`
	if string(got[1:]) != want {
		t.Errorf("got  %s\nwant %s", got[1:], want)
	}
	// The client's view is Reply's own JSON, field by field, for what the client needs.
	var back canonical.Reply
	if err := json.Unmarshal(got[1:], &back); err != nil {
		t.Fatal(err)
	}
	exp := fullReply
	exp.Upstream, exp.VendorID, exp.InReplyTo, exp.InReplyToUpstreamID, exp.Tenant, exp.Dialect = "", "", "", "", "", ""
	back.ReceivedAt = back.ReceivedAt.UTC()
	if !reflect.DeepEqual(back, exp) {
		t.Errorf("read back:\n got %+v\nwant %+v", back, exp)
	}
	// A reaction removed keeps its empty emoji; nothing else empty is written.
	rm := AppendGenericReply(nil, &canonical.Reply{From: "1", Kind: canonical.ReplyReaction, ReceivedAt: time.Unix(0, 0)})
	if string(rm) != `{"type":"reply","from":"1","kind":"reaction","emoji":"","received_at":"1970-01-01T00:00:00Z"}` {
		t.Errorf("reaction: %s", rm)
	}
}

func TestParseGenericReplies(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, body string
		want       []canonical.Reply
		err        string
	}{
		{"text", `{"type":"reply","id":"v-9","from":"+55 11 98765-4321","line":"908503080335","text":"oi","in_reply_to_upstream_id":"77","received_at":"2025-03-01T12:00:05Z"}`,
			[]canonical.Reply{{VendorID: "v-9", From: "5511987654321", Line: "908503080335", Kind: canonical.ReplyText, Text: "oi",
				InReplyToUpstreamID: "77", ReceivedAt: now.Add(5 * time.Second)}}, ""},
		{"pick without kind, default time", `[{"type":"reply","from":"972501234567","pick":{"id":"btn-1","title":"Yes"},"in_reply_to":"our-1","channel":"whatsapp","profile_name":"Dan"}]`,
			[]canonical.Reply{{From: "972501234567", Kind: canonical.ReplyButton, Pick: &canonical.Pick{ID: "btn-1", Title: "Yes"},
				InReplyTo: "our-1", Channel: canonical.ChannelWhatsApp, ProfileName: "Dan", ReceivedAt: now}}, ""},
		{"list, media, location, contacts, reaction", `[{"type":"reply","from":"972501234567","kind":"list","pick":{"title":"Tuesday","index":2}},` +
			`{"type":"reply","from":"972501234567","media":{"type":"document","url":"https://x.example/a.pdf","filename":"a.pdf"}},` +
			`{"type":"reply","from":"972501234567","location":{"latitude":32.08,"longitude":34.78,"name":"TLV"}},` +
			`{"type":"reply","from":"972501234567","contacts":[{"name":"Bia"}]},` +
			`{"type":"reply","from":"972501234567","emoji":""}]`,
			[]canonical.Reply{
				{From: "972501234567", Kind: canonical.ReplyList, Pick: &canonical.Pick{Title: "Tuesday", Index: 2}, ReceivedAt: now},
				{From: "972501234567", Kind: canonical.ReplyMedia, Media: &canonical.Attachment{Type: "document", URL: "https://x.example/a.pdf", Filename: "a.pdf"}, ReceivedAt: now},
				{From: "972501234567", Kind: canonical.ReplyLocation, Location: &canonical.Location{Latitude: 32.08, Longitude: 34.78, Name: "TLV"}, ReceivedAt: now},
				{From: "972501234567", Kind: canonical.ReplyContacts, Contacts: []byte(`[{"name":"Bia"}]`), ReceivedAt: now},
				{From: "972501234567", Kind: canonical.ReplyReaction, ReceivedAt: now},
			}, ""},
		{"receipts only", `[{"id":"a","status":"read"},{"upstream_id":"u","status":"sent"}]`, nil, ""},
		{"no from", `{"type":"reply","text":"x"}`, nil, "[0].from"},
		{"bad from", `{"type":"reply","from":"abc","text":"x"}`, nil, "[0].from"},
		{"empty text", `{"type":"reply","from":"972501234567","text":" "}`, nil, "[0].text"},
		{"bad kind", `{"type":"reply","from":"972501234567","kind":"poll","text":"x"}`, nil, "[0].kind"},
		{"pick kind without pick", `{"type":"reply","from":"972501234567","kind":"button","text":"x"}`, nil, "[0].pick"},
		{"bad latitude", `{"type":"reply","from":"972501234567","location":{"latitude":91,"longitude":0}}`, nil, "[0].location"},
		{"bad time", `{"type":"reply","from":"972501234567","text":"x","received_at":"now"}`, nil, "RFC 3339"},
		{"long text", `{"type":"reply","from":"972501234567","text":"` + strings.Repeat("x", MaxReplyText+1) + `"}`, nil, "[0].text"},
		{"bad channel", `{"type":"reply","from":"972501234567","text":"x","channel":"fax"}`, nil, "[0].channel"},
		{"not JSON", `{"type":`, nil, "cannot parse"},
	} {
		got, err := ParseGenericReplies([]byte(tc.body), now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", tc.name, err, got, tc.want)
		}
	}
}

// TestRepliesAndReceiptsApart: each parser reads its own objects of one body and nothing
// of the other's, without an error.
func TestRepliesAndReceiptsApart(t *testing.T) {
	now := time.Unix(1, 0).UTC()
	mixed := `[{"id":"our-1","status":"delivered"},{"type":"reply","from":"972501234567","text":"thanks","in_reply_to":"our-1"}]`
	rs, err := ParseGenericReceipts([]byte(mixed), now)
	if err != nil || len(rs) != 1 || rs[0].ID != "our-1" {
		t.Errorf("receipts of a mixed body: %+v %v", rs, err)
	}
	reps, err := ParseGenericReplies([]byte(mixed), now)
	if err != nil || len(reps) != 1 || reps[0].Text != "thanks" {
		t.Errorf("replies of a mixed body: %+v %v", reps, err)
	}
	only := AppendGenericReply(nil, &fullReply)
	if rs, err := ParseGenericReceipts(only, now); err != nil || len(rs) != 0 {
		t.Errorf("receipts of a reply: %+v %v", rs, err)
	}
}

// TestGenericReplyRoundTrip: what AppendGenericReply writes, an upstream may post back; the
// parser reads the same content.
func TestGenericReplyRoundTrip(t *testing.T) {
	for _, kind := range []canonical.ReplyKind{canonical.ReplyText, canonical.ReplyButton, canonical.ReplyMedia,
		canonical.ReplyLocation, canonical.ReplyContacts, canonical.ReplyReaction} {
		r := fullReply
		r.Kind = kind
		got, err := ParseGenericReplies(AppendGenericReply(nil, &r), time.Unix(0, 0))
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", kind, got, err)
		}
		g := got[0]
		if g.Kind != kind || g.From != r.From || g.Line != r.Line || g.Text != r.Text || g.Emoji != r.Emoji ||
			!reflect.DeepEqual(g.Pick, r.Pick) || !reflect.DeepEqual(g.Media, r.Media) || !reflect.DeepEqual(g.Location, r.Location) ||
			string(g.Contacts) != string(r.Contacts) || !g.ReceivedAt.Equal(r.ReceivedAt) || g.VendorID != r.ID ||
			g.ProfileName != r.ProfileName || g.Channel != r.Channel {
			t.Errorf("%s: got %+v", kind, g)
		}
	}
}

// TestUpstreamReplyRoundTrip: what a simulated upstream posts, the parser reads back field
// for field.
func TestUpstreamReplyRoundTrip(t *testing.T) {
	r := fullReply
	r.ReceivedAt = r.ReceivedAt.UTC()
	got, err := ParseGenericReplies(AppendUpstreamReply(nil, &r), time.Unix(0, 0))
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	want := r
	want.ID, want.Upstream, want.Tenant, want.MessageID, want.ClientRef, want.Dialect, want.FlowID = "", "", "", "", "", "", ""
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], want)
	}
}

func TestReplyText(t *testing.T) {
	for want, r := range map[string]canonical.Reply{
		"hi":                   {Text: "hi"},
		"Yes":                  {Pick: &canonical.Pick{ID: "btn-1", Title: "Yes"}},
		"row-9":                {Pick: &canonical.Pick{ID: "row-9"}},
		"look":                 {Media: &canonical.Attachment{URL: "https://x", Caption: "look"}},
		"https://x":            {Media: &canonical.Attachment{URL: "https://x"}},
		"32.08,34.78 TLV, Bar": {Location: &canonical.Location{Latitude: 32.08, Longitude: 34.78, Name: "TLV", Address: "Bar"}},
		"1.5,-2":               {Location: &canonical.Location{Latitude: 1.5, Longitude: -2}},
		"👍":                    {Emoji: "👍"},
		`[{"a":1}]`:            {Contacts: []byte(`[{"a":1}]`)},
	} {
		if got := ReplyText(&r); got != want {
			t.Errorf("ReplyText(%+v) = %q, want %q", r, got, want)
		}
	}
}

func TestFillPickIndex(t *testing.T) {
	m := &canonical.Message{Buttons: []string{"No", "Yes "}, Options: []string{"Mon", "Tue", "Wed"}}
	for _, c := range []struct {
		pick canonical.Pick
		want int
	}{
		{canonical.Pick{Title: "yes"}, 2},
		{canonical.Pick{Title: "Wed"}, 3},
		{canonical.Pick{ID: "opt-2", Title: "renamed"}, 2},
		{canonical.Pick{ID: "btn-1"}, 1},
		{canonical.Pick{ID: "btn-0"}, 0},
		{canonical.Pick{ID: "row-4", Title: "Fri"}, 0},
		{canonical.Pick{Title: "Mon", Index: 7}, 7},
	} {
		p := c.pick
		FillPickIndex(&canonical.Reply{Pick: &p}, m)
		if p.Index != c.want {
			t.Errorf("%+v: index %d, want %d", c.pick, p.Index, c.want)
		}
	}
	FillPickIndex(&canonical.Reply{}, m) // no pick: nothing to do, no panic
}

func FuzzParseGenericReplies(f *testing.F) {
	f.Add(AppendGenericReply(nil, &fullReply))
	f.Add([]byte(`[{"type":"reply","from":"972501234567","text":"x"},{"id":"a","status":"read"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reps, err := ParseGenericReplies(body, receiptNow)
		if err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("error is not a *canonical.Error: %T %v", err, err)
			}
			return
		}
		if len(reps) > MaxReceipts {
			t.Fatalf("%d replies", len(reps))
		}
		for i := range reps {
			r := reps[i]
			if err := CheckReply(&r); err != nil || r.From != reps[i].From {
				t.Fatalf("reply breaks the contract: %v %+v", err, r)
			}
			back, err := ParseGenericReplies(AppendGenericReply(nil, &r), receiptNow)
			if err != nil || len(back) != 1 || back[0].Kind != r.Kind || back[0].Text != r.Text {
				t.Fatalf("round trip: %+v %v\nfrom %+v", back, err, r)
			}
		}
		if len(reps) == 0 {
			if rs, err := ParseGenericReceipts(body, receiptNow); err == nil && len(rs) == 0 {
				t.Fatalf("a body neither parser reads was accepted: %q", body)
			}
		}
	})
}
