package sim

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// startWithReceipts runs a simulator of dialect on loopback posting to sink, and returns
// its base URL.
func startWithReceipts(t *testing.T, dialect string, sink *receiptSink, final string) (*Sim, string) {
	t.Helper()
	s, err := New(dialect, DefaultCredentials, Faults{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetReceipts(Receipts{URL: sink.url, Final: final, Delay: time.Millisecond, AppSecret: "app-secret", Token: "rt"}); err != nil {
		t.Fatal(err)
	}
	ln := testutil.Listen(t)
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return s, "http://" + ln.Addr().String()
}

// parseReplies reads a posted body as the gateway does for an upstream of dialect.
func parseReplies(t *testing.T, dialect, body string) []canonical.Reply {
	t.Helper()
	parse := adapters.ParseGenericReplies
	switch dialect {
	case "whatsappcloud":
		parse = whatsappcloud.ParseReplies
	case "wavy":
		parse = wavy.ParseReplies
	}
	rs, err := parse([]byte(body), time.Now())
	if err != nil || len(rs) != 1 {
		t.Fatalf("%s reply %s: %+v %v", dialect, body, rs, err)
	}
	return rs
}

type simReplyAnswer struct {
	Status int             `json:"status"`
	Reply  canonical.Reply `json:"reply"`
	Body   string          `json:"body"`
}

func postReply(t *testing.T, base, req string) (int, simReplyAnswer, string) {
	t.Helper()
	resp, body := call(t, "POST", base+"/_sim/reply", nil, req)
	var a simReplyAnswer
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("/_sim/reply: %v: %s", err, body)
		}
	}
	return resp.StatusCode, a, body
}

// TestSimReplyOnDemand: for a message each simulator accepted, POST /_sim/reply makes the
// recipient answer it, in the vendor's shape and signature, naming the ids the gateway
// knows the message by; a button pick is one of that message's buttons.
func TestSimReplyOnDemand(t *testing.T) {
	for _, tc := range []struct {
		dialect, path, body string
		headers             map[string]string
		reply               string
		// wantRef and wantUp are InReplyTo and InReplyToUpstreamID as parsed ("$id": the id
		// the simulator answered with); line the reply's Line; pick the title picked.
		wantRef, wantUp, line, pick string
	}{
		{"whatsappcloud", "/v21.0/106540352242922/messages",
			`{"messaging_product":"whatsapp","to":"972501234567","type":"interactive","biz_opaque_callback_data":"our-1",` +
				`"interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":[{"type":"reply","reply":{"id":"btn-1","title":"No"}},` +
				`{"type":"reply","reply":{"id":"btn-2","title":"Yes"}}]}}}`,
			map[string]string{"Authorization": "Bearer cloud-demo-token"}, `{"id":"$id","kind":"button","index":2}`,
			"", "$id", "106540352242922", "Yes"},
		{"multiwhats", "/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key",
			`{"from":"908503080335","to":"972501234567","message":"Pick","type":"button","buttons":["No","Yes"]}`, nil,
			`{"to":"+972 50-123-4567","kind":"button","index":1}`, "", "$id", "908503080335", "No"},
		{"wavy", "/v1/send-sms", `{"destination":"5511987654321","messageText":"oi","correlationId":"our-3"}`,
			map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}, `{"id":"our-3","text":"SAIR"}`,
			"our-3", "$id", "28128", ""},
		{"http", "/messages", `{"id":"our-4","to":"5511987654321","from":"5511900000000","text":"oi","options":["Mon","Tue"]}`,
			map[string]string{"Authorization": "Bearer cloud-demo-token"}, `{"id":"our-4","kind":"list","index":2}`,
			"our-4", "$id", "5511900000000", "Tue"},
		{"messageflow", "/add_message", `{"UUID":"` + DefaultCredentials.UUID + `","ToMobileNumber":"972501234567","FromMobileNumber":"972509999999","Message":"hi"}`,
			nil, `{"to":"972501234567","kind":"media","text":"a photo"}`, "", "$id", "972509999999", ""},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			sink := startReceiptSink(t, 0)
			s, base := startWithReceipts(t, tc.dialect, sink, "none")
			s.SetReplies(Replies{Line: "28128"}) //nolint:errcheck
			if resp, body := call(t, "POST", base+tc.path, tc.headers, tc.body); resp.StatusCode != 200 {
				t.Fatalf("send: %d %s", resp.StatusCode, body)
			}
			sent := kept(t, base)[0].Message[0]
			id := upstreamID(tc.dialect, sent)
			expand := func(s string) string { return strings.ReplaceAll(s, "$id", id) }
			status, a, body := postReply(t, base, expand(tc.reply))
			if status != 200 || a.Status != 200 {
				t.Fatalf("/_sim/reply: %d %s", status, body)
			}
			// The receipts ("sent") and the reply reach the sink; find the reply.
			var got *posted
			testutil.WaitFor(t, 10*time.Second, "the reply at the sink", func() bool {
				for _, p := range sink.wait(t, 0) {
					if p.body == a.Body {
						got = &p
						return true
					}
				}
				return false
			})
			r := parseReplies(t, tc.dialect, got.body)[0]
			if r.From != sent.To || r.InReplyTo != expand(tc.wantRef) || r.InReplyToUpstreamID != expand(tc.wantUp) || r.Line != tc.line {
				t.Errorf("reply %+v\nto %+v", r, sent)
			}
			if tc.pick != "" && (r.Pick == nil || r.Pick.Title != tc.pick) {
				t.Errorf("pick %+v, want %q", r.Pick, tc.pick)
			}
			if tc.dialect == "whatsappcloud" {
				if !whatsappcloud.CheckSignature([]byte(got.body), got.sig, []byte("app-secret")) || r.Pick.Index != 2 {
					t.Errorf("webhook not signed, or no index: %+v %+v", got, r.Pick)
				}
			} else if got.authz != "Bearer rt" {
				t.Errorf("reply without the receipt token: %+v", got)
			}
			if tc.dialect == "messageflow" && (r.Kind != canonical.ReplyMedia || r.Media.Caption != "a photo" || r.Media.URL == "") {
				t.Errorf("media reply: %+v", r.Media)
			}
		})
	}
}

// TestSimReplyRefusals: a reply needs a message accepted, choices for a pick, a known kind
// and somewhere to post.
func TestSimReplyRefusals(t *testing.T) {
	base := serve(t, "multiwhats", Faults{})
	if status, _, body := postReply(t, base, `{"to":"972501234567"}`); status != 409 {
		t.Errorf("without a receipts URL: %d %s", status, body)
	}
	call(t, "POST", base+"/_sim/receipts", nil, `{"url":"`+startReceiptSink(t, 0).url+`","final":"none"}`)
	call(t, "POST", base+"/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key", nil,
		`{"from":"908503080335","to":"972501234567","message":"plain"}`)
	for req, want := range map[string]int{
		`{"to":"972500000000"}`:                  404,
		`{"id":"no-such-id"}`:                    404,
		`{"to":"972501234567","kind":"button"}`:  400,
		`{"to":"972501234567","kind":"sticker"}`: 400,
		`{"to":"972501234567","kind":"text"}`:    200,
		`{"id":"1","kind":"list"}`:               400,
		`{"to":"972501234567","kind":"media"}`:   200,
		`{"to":"972501234567","text":"x"} trail`: 400,
	} {
		if status, _, body := postReply(t, base, req); status != want {
			t.Errorf("%s: %d %s, want %d", req, status, body, want)
		}
	}
}

// TestSimRepliesAtRate: at a rate, the recipient answers each accepted message once, in
// the kinds given in turn (a pick falls back to text for a message without choices), and
// /_sim/replies counts them.
func TestSimRepliesAtRate(t *testing.T) {
	sink := startReceiptSink(t, 0)
	_, base := startWithReceipts(t, "whatsappcloud", sink, "none")
	resp, body := call(t, "POST", base+"/_sim/replies", nil, `{"rate":500,"kinds":["text","button","media"]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("/_sim/replies: %d %s", resp.StatusCode, body)
	}
	const n = 12
	for i := range n {
		to := "97250123" + strconv.Itoa(4000+i)
		msg := `{"messaging_product":"whatsapp","to":"` + to + `","type":"interactive","interactive":{"type":"button","body":{"text":"Pick"},` +
			`"action":{"buttons":[{"type":"reply","reply":{"id":"btn-1","title":"Yes"}}]}}}`
		if i%2 == 1 {
			msg = `{"messaging_product":"whatsapp","to":"` + to + `","text":{"body":"hi"}}`
		}
		if resp, body := call(t, "POST", base+"/v21.0/106540352242922/messages", map[string]string{"Authorization": "Bearer cloud-demo-token"}, msg); resp.StatusCode != 200 {
			t.Fatalf("send %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// Each message gets a sent receipt and one reply.
	replies := func() []canonical.Reply {
		var out []canonical.Reply
		for _, p := range sink.wait(t, 0) {
			if rs, err := whatsappcloud.ParseReplies([]byte(p.body), time.Now()); err == nil {
				out = append(out, rs...)
			}
		}
		return out
	}
	testutil.WaitFor(t, 10*time.Second, "a reply to every message", func() bool { return len(replies()) >= n })
	var st struct {
		Posted, Idle int64
	}
	testutil.WaitFor(t, 10*time.Second, "idle ticks after the last reply", func() bool {
		_, body := call(t, "GET", base+"/_sim/replies", nil, "")
		json.Unmarshal([]byte(body), &st) //nolint:errcheck
		return st.Posted == n && st.Idle > 0
	})
	got := replies()
	if len(got) != n {
		t.Fatalf("%d replies to %d messages", len(got), n)
	}
	seen, kinds := map[string]bool{}, map[canonical.ReplyKind]int{}
	for _, r := range got {
		if seen[r.From] || r.InReplyToUpstreamID == "" {
			t.Errorf("second reply, or no link: %+v", r)
		}
		seen[r.From] = true
		kinds[r.Kind]++
	}
	if kinds[canonical.ReplyMedia] == 0 || kinds[canonical.ReplyText] == 0 || kinds[canonical.ReplyButton] == 0 {
		t.Errorf("kinds: %v", kinds)
	}
	resp, _ = call(t, "POST", base+"/_sim/replies", nil, `{"rate":-1}`)
	if resp.StatusCode != 400 {
		t.Errorf("negative rate: %d", resp.StatusCode)
	}
}
