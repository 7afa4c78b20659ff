package whatsappcloud

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

// TestStatusesAndRepliesApart: the status parser reads no message webhook, the reply parser
// no status webhook, neither with an error.
func TestStatusesAndRepliesApart(t *testing.T) {
	for name, body := range adaptertest.ReplyBodies(t, "testdata/replies") {
		sts, err := ParseStatusWebhook(body)
		if name == "statuses_only.json" {
			if err != nil || len(sts) != 1 {
				t.Errorf("%s: statuses %+v %v", name, sts, err)
			}
			continue
		}
		if err != nil || len(sts) != 0 {
			t.Errorf("%s: statuses of a message webhook: %+v %v", name, sts, err)
		}
	}
	reps, err := ParseReplies([]byte(metaWebhook), adaptertest.Now)
	// metaWebhook holds statuses and one message ("hi"): only the message is a reply.
	if err != nil || len(reps) != 1 || reps[0].Text != "hi" || reps[0].Line != "" {
		t.Errorf("replies of the status webhook: %+v %v", reps, err)
	}
}

func TestParseRepliesErrors(t *testing.T) {
	wrap := func(msg string) string {
		return `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[` + msg + `]}}]}]}`
	}
	for name, body := range map[string]string{
		"not JSON":       `{"object":`,
		"other object":   `{"object":"page","entry":[]}`,
		"bad timestamp":  wrap(`{"from":"16505551234","id":"w","timestamp":"noon","type":"text","text":{"body":"x"}}`),
		"bad from":       wrap(`{"from":"me","id":"w","timestamp":"1","type":"text","text":{"body":"x"}}`),
		"empty text":     wrap(`{"from":"16505551234","id":"w","timestamp":"1","type":"text","text":{"body":""}}`),
		"media no id":    wrap(`{"from":"16505551234","id":"w","timestamp":"1","type":"image","image":{"caption":"c"}}`),
		"bad latitude":   wrap(`{"from":"16505551234","id":"w","timestamp":"1","type":"location","location":{"latitude":100,"longitude":0}}`),
		"messages a map": `{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":{}}}]}]}`,
	} {
		_, err := ParseReplies([]byte(body), adaptertest.Now)
		if ce, ok := err.(*canonical.Error); !ok || ce.Code != canonical.ErrInvalid {
			t.Errorf("%s: error %#v", name, err)
		}
	}
	// A message whose type names a missing object is skipped, not an error.
	got, err := ParseReplies([]byte(wrap(`{"from":"16505551234","id":"w","timestamp":"1","type":"image"}`)), adaptertest.Now)
	if err != nil || len(got) != 0 {
		t.Errorf("image without its object: %+v %v", got, err)
	}
	// A body of more than MaxReceipts messages is refused.
	many := strings.Repeat(`{"from":"16505551234","id":"w","timestamp":"1","type":"text","text":{"body":"x"}},`, adapters.MaxReceipts)
	if _, err := ParseReplies([]byte(wrap(many+`{"from":"16505551234","id":"w","timestamp":"1","type":"text","text":{"body":"x"}}`)), adaptertest.Now); err == nil {
		t.Error("too many messages accepted")
	}
}

// simReplies is one reply of every kind, as the simulator posts them.
var simReplies = []canonical.Reply{
	{From: "972501234567", ProfileName: "Dana", VendorID: "wamid.in1", Kind: canonical.ReplyText, Text: "שלום",
		InReplyToUpstreamID: "wamid.out1"},
	{From: "972501234567", VendorID: "wamid.in2", Kind: canonical.ReplyButton, Pick: &canonical.Pick{ID: "btn-2", Title: "Yes", Index: 2},
		InReplyToUpstreamID: "wamid.out1"},
	{From: "972501234567", VendorID: "wamid.in3", Kind: canonical.ReplyList, Pick: &canonical.Pick{ID: "opt-3", Title: "Wed", Index: 3}},
	{From: "972501234567", VendorID: "wamid.in4", Kind: canonical.ReplyMedia, Media: &canonical.Attachment{Type: "document", ID: "9001",
		MIMEType: "application/pdf", Caption: "the form", Filename: "form.pdf"}},
	{From: "972501234567", VendorID: "wamid.in5", Kind: canonical.ReplyLocation, Location: &canonical.Location{Latitude: 32.0853, Longitude: 34.7818, Name: "Dizengoff", Address: "Tel Aviv"}},
	{From: "972501234567", VendorID: "wamid.in6", Kind: canonical.ReplyContacts, Contacts: json.RawMessage(`[{"name":{"formatted_name":"Bia"}}]`)},
	{From: "972501234567", VendorID: "wamid.in7", Kind: canonical.ReplyReaction, Emoji: "❤️", InReplyToUpstreamID: "wamid.out1"},
}

// TestAppendMessageWebhook: what the simulator posts, the gateway's parser reads back
// field for field.
func TestAppendMessageWebhook(t *testing.T) {
	at := time.Unix(1750096325, 0).UTC()
	want := make([]canonical.Reply, len(simReplies))
	for i, r := range simReplies {
		r.ReceivedAt, r.Line, r.Channel = at, testPhoneID, canonical.ChannelWhatsApp
		want[i] = r
	}
	body := AppendMessageWebhook([]byte("x"), testPhoneID, want)
	if body[0] != 'x' || !json.Valid(body[1:]) {
		t.Fatalf("%s", body)
	}
	got, err := ParseReplies(body[1:], time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// ProfileName is Meta's per sender: with one sender named in contacts[] first, every
	// message of that sender gets it.
	for i := range want {
		want[i].ProfileName = "Dana"
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %s\nwant %s", mustJSONs(got), mustJSONs(want))
	}
	if sts, err := ParseStatusWebhook(body[1:]); err != nil || len(sts) != 0 {
		t.Errorf("statuses of a message webhook: %+v %v", sts, err)
	}
}

func mustJSONs(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzParseReplies(f *testing.F) {
	adaptertest.FuzzReplies(f, ParseReplies, "testdata/replies", func(t *testing.T, r *canonical.Reply) {
		if r.Channel != canonical.ChannelWhatsApp {
			t.Fatalf("reply not on whatsapp: %+v", r)
		}
	}, AppendMessageWebhook(nil, testPhoneID, simReplies))
}
