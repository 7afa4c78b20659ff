package wavy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func TestParseRepliesGolden(t *testing.T) {
	adaptertest.RunReplyGolden(t, ParseReplies, "testdata/replies")
}

// TestReceiptsAndMOsApart: the receipt parser reads no MO, the reply parser no callback,
// neither with an error.
func TestReceiptsAndMOsApart(t *testing.T) {
	for name, body := range adaptertest.ReplyBodies(t, "testdata/replies") {
		rs, err := ParseReceipts(body, receiptNow)
		if name == "callback_only.json" {
			if err != nil || len(rs) != 1 {
				t.Errorf("%s: receipts %+v %v", name, rs, err)
			}
			continue
		}
		if err != nil || len(rs) != 0 {
			t.Errorf("%s: receipts of an MO: %+v %v", name, rs, err)
		}
	}
	mixed := `[{"id":"v-1","correlationId":"our-1","sentStatusCode":2},{"id":"mo-1","source":"5511987654321","messageText":"ok"}]`
	rs, err := ParseReceipts([]byte(mixed), receiptNow)
	if err != nil || len(rs) != 1 || rs[0].ID != "our-1" {
		t.Errorf("receipts of a mixed body: %+v %v", rs, err)
	}
	reps, err := ParseReplies([]byte(mixed), receiptNow)
	if err != nil || len(reps) != 1 || reps[0].Text != "ok" {
		t.Errorf("replies of a mixed body: %+v %v", reps, err)
	}
}

func TestParseRepliesErrors(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":        `{"source":`,
		"bad source":      `{"id":"a","source":"pizza","messageText":"x"}`,
		"bad receivedAt":  `{"id":"a","source":"5511987654321","messageText":"x","receivedAt":"soon"}`,
		"bad date":        `{"id":"a","source":"5511987654321","messageText":"x","receivedDate":"yesterday"}`,
		"negative time":   `{"id":"a","source":"5511987654321","messageText":"x","receivedAt":-5}`,
		"data not a list": `{"total":1,"data":{"id":"a"}}`,
		"wa bad source":   `{"total":1,"data":[{"id":"a","source":"x","message":{"type":"TEXT","messageText":"x"}}]}`,
		"wa media no url": `{"total":1,"data":[{"id":"a","source":"5511987654321","message":{"type":"IMAGE"}}]}`,
		"wa text empty":   `{"total":1,"data":[{"id":"a","source":"5511987654321","message":{"type":"TEXT"}}]}`,
		"long text":       `{"id":"a","source":"5511987654321","messageText":"` + strings.Repeat("x", adapters.MaxReplyText+1) + `"}`,
	} {
		_, err := ParseReplies([]byte(body), receiptNow)
		if ce, ok := err.(*canonical.Error); !ok || ce.Code != canonical.ErrInvalid {
			t.Errorf("%s: error %#v", name, err)
		}
	}
	_, err := ParseReplies([]byte(`{"id":"a","source":"pizza","messageText":"x"}`), receiptNow)
	if err == nil || !strings.Contains(err.Error(), "[0].source") {
		t.Errorf("error names %v, want [0].source", err)
	}
}

// matched is a reply as the gateway hands it to RenderReply: matched to a Wavy client's
// message.
var matched = canonical.Reply{ID: "01a1f0e2-0000-7000-8000-0000000000a1", Upstream: "mw", Line: "28128",
	From: "5516981562820", Channel: canonical.ChannelSMS, VendorID: "v-1", ReceivedAt: time.UnixMilli(1473088405588).UTC(),
	Kind: canonical.ReplyText, Text: "I want pizza", Tenant: "acme", MessageID: "8be584fd-2554-439b-9ba9-aab507278992",
	ClientRef: "1876", Dialect: Dialect}

func TestRenderReplySMS(t *testing.T) {
	got := RenderReply([]byte("x"), &matched)
	want := `x{"id":"01a1f0e2-0000-7000-8000-0000000000a1","subAccount":null,"campaignAlias":null,"carrierId":null,"carrierName":null,` +
		`"source":"5516981562820","shortCode":"28128","messageText":"I want pizza","receivedAt":1473088405588,"receivedDate":"2016-09-05T15:13:25Z",` +
		`"mt":{"id":"8be584fd-2554-439b-9ba9-aab507278992","correlationId":"1876","username":null,"email":null}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// What a Wavy client gets pushed, a Wavy upstream could post: the parser reads it back.
	back, err := ParseReplies(got[1:], time.Unix(0, 0))
	if err != nil || len(back) != 1 {
		t.Fatalf("%+v %v", back, err)
	}
	b := back[0]
	if b.VendorID != matched.ID || b.From != matched.From || b.Line != matched.Line || b.Text != matched.Text ||
		!b.ReceivedAt.Equal(matched.ReceivedAt) || b.InReplyTo != matched.ClientRef || b.InReplyToUpstreamID != matched.MessageID {
		t.Errorf("read back %+v", b)
	}
	// Unmatched: mt is null. A pick goes as its title.
	un := matched
	un.MessageID, un.ClientRef, un.Kind, un.Text, un.Pick = "", "", canonical.ReplyButton, "", &canonical.Pick{ID: "btn-1", Title: "Sim"}
	got = RenderReply(nil, &un)
	if !strings.Contains(string(got), `"mt":null}`) || !strings.Contains(string(got), `"messageText":"Sim"`) {
		t.Errorf("unmatched pick: %s", got)
	}
}

func TestRenderReplyWhatsApp(t *testing.T) {
	rs := []canonical.Reply{matched, matched, matched, matched, matched}
	for i := range rs {
		rs[i].Channel, rs[i].ProfileName, rs[i].FlowID, rs[i].Line = canonical.ChannelWhatsApp, "Ana", "flow-9", "5511900000000"
	}
	rs[1].Kind, rs[1].Text, rs[1].Media = canonical.ReplyMedia, "", &canonical.Attachment{Type: "image", URL: "https://m.example/a.jpg", MIMEType: "image/jpeg", Caption: "eu"}
	rs[2].Kind, rs[2].Text, rs[2].Location = canonical.ReplyLocation, "", &canonical.Location{Latitude: -22.89418, Longitude: -47.04796, Name: "Wavy", Address: "Av."}
	rs[3].Kind, rs[3].Text, rs[3].Contacts = canonical.ReplyContacts, "", json.RawMessage(`[{"name":"Bia"}]`)
	rs[4].Kind, rs[4].Text, rs[4].Pick = canonical.ReplyList, "", &canonical.Pick{ID: "opt-2", Title: "Terça", Index: 2}
	one := RenderReply(nil, &rs[0])
	want := `{"total":1,"data":[{"id":"01a1f0e2-0000-7000-8000-0000000000a1","source":"5516981562820","origin":"5511900000000",` +
		`"userProfile":{"name":"Ana"},"campaignId":null,"correlationId":"1876","campaignAlias":null,"flowId":"flow-9","extraInfo":null,` +
		`"message":{"type":"TEXT","messageText":"I want pizza"},"receivedAt":1473088405588,"receivedDate":"2016-09-05T15:13:25.588Z"}]}`
	if string(one) != want {
		t.Errorf("got  %s\nwant %s", one, want)
	}
	body := AppendWhatsAppMOs(nil, rs)
	back, err := ParseReplies(body, time.Unix(0, 0))
	if err != nil || len(back) != len(rs) {
		t.Fatalf("%s\n%+v %v", body, back, err)
	}
	for i, b := range back {
		r := rs[i]
		if b.VendorID != r.ID || b.From != r.From || b.Line != r.Line || b.ProfileName != r.ProfileName || b.InReplyTo != r.ClientRef ||
			!b.ReceivedAt.Equal(r.ReceivedAt) || b.Channel != canonical.ChannelWhatsApp {
			t.Errorf("%d: envelope read back %+v", i, b)
		}
	}
	if !reflect.DeepEqual(back[1].Media, rs[1].Media) || !reflect.DeepEqual(back[2].Location, rs[2].Location) ||
		string(back[3].Contacts) != string(rs[3].Contacts) || back[4].Kind != canonical.ReplyText || back[4].Text != "Terça" ||
		back[0].Text != "I want pizza" {
		t.Errorf("content read back: %+v %+v %s %+v", back[1].Media, back[2].Location, back[3].Contacts, back[4])
	}
}

// FuzzParseReplies: besides the contract, what parses renders as Wavy's MO and reads back.
func FuzzParseReplies(f *testing.F) {
	adaptertest.FuzzReplies(f, ParseReplies, "testdata/replies", func(t *testing.T, r *canonical.Reply) {
		w := *r
		w.ID, w.MessageID, w.ClientRef = "x", r.InReplyToUpstreamID, r.InReplyTo
		if back, err := ParseReplies(RenderReply(nil, &w), receiptNow); err != nil || len(back) != 1 || back[0].From != r.From {
			t.Fatalf("rendered reply does not read back: %+v %v\nfrom %+v", back, err, w)
		}
	}, RenderReply(nil, &matched))
}
