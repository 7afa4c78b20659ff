package sim

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// receiptSink takes the receipts a simulator posts; it refuses the first `refuse`.
type receiptSink struct {
	url    string
	mu     sync.Mutex
	refuse int
	got    []posted
}

type posted struct {
	body              string
	sig, authz, ctype string
}

func startReceiptSink(t *testing.T, refuse int) *receiptSink {
	t.Helper()
	ln := testutil.Listen(t)
	r := &receiptSink{url: "http://" + ln.Addr().String() + "/receipts/up", refuse: refuse}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.refuse > 0 {
			r.refuse--
			ctx.SetStatusCode(503)
			return
		}
		r.got = append(r.got, posted{body: string(ctx.PostBody()), sig: string(ctx.Request.Header.Peek("X-Hub-Signature-256")),
			authz: string(ctx.Request.Header.Peek("Authorization")), ctype: string(ctx.Request.Header.ContentType())})
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return r
}

func (r *receiptSink) wait(t *testing.T, n int) []posted {
	t.Helper()
	var got []posted
	if !testutil.Until(10*time.Second, func() bool {
		r.mu.Lock()
		got = append([]posted(nil), r.got...)
		r.mu.Unlock()
		return len(got) >= n
	}) {
		t.Fatalf("%d of %d receipts", len(got), n)
	}
	return got
}

// TestReceipts: each simulator that posts receipts posts sent and then the final status for
// what it accepted, in its vendor's format, naming the ids the gateway knows, and tries
// again while the receiver refuses.
func TestReceipts(t *testing.T) {
	for _, tc := range []struct {
		dialect, path, body string
		headers             map[string]string
		final               string
		want                []string // substrings of each receipt, in order
	}{
		{"wavy", "/v1/send-sms", `{"destination":"5511987654321","messageText":"oi","correlationId":"our-1"}`,
			map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}, "delivered",
			[]string{`"correlationId":"our-1"`, `"deliveredStatusCode":4`}},
		{"whatsappcloud", "/v21.0/106540352242922/messages",
			`{"messaging_product":"whatsapp","to":"5511987654321","text":{"body":"oi"},"biz_opaque_callback_data":"our-2"}`,
			map[string]string{"Authorization": "Bearer cloud-demo-token"}, "read",
			[]string{`"status":"sent"`, `"status":"delivered"`, `"status":"read"`}},
		{"http", "/messages", `{"id":"our-3","to":"5511987654321","text":"oi"}`,
			map[string]string{"Authorization": "Bearer cloud-demo-token"}, "failed",
			[]string{`"id":"our-3"`, `"status":"failed"`}},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			sink := startReceiptSink(t, 2)
			s, err := New(tc.dialect, DefaultCredentials, Faults{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetReceipts(Receipts{URL: sink.url, Final: tc.final, Delay: time.Millisecond,
				AppSecret: "app-secret", Token: "rt"}); err != nil {
				t.Fatal(err)
			}
			ln := testutil.Listen(t)
			go s.Serve(ln)
			t.Cleanup(func() { s.Close() })
			if resp, body := call(t, "POST", "http://"+ln.Addr().String()+tc.path, tc.headers, tc.body); resp.StatusCode != 200 {
				t.Fatalf("send: %d %s", resp.StatusCode, body)
			}
			n := 2
			if tc.final == "read" {
				n = 3
			}
			sink.wait(t, n)
			testutil.WaitFor(t, 10*time.Second, "no receipt left to post", func() bool { return s.post.pending.Load() == 0 })
			got := sink.wait(t, 0)
			if len(got) != n {
				t.Fatalf("%d receipts, want %d", len(sink.got), n)
			}
			if !strings.Contains(got[0].body, "sent") && !strings.Contains(got[0].body, `"sentStatusCode":2`) {
				t.Errorf("first receipt is not sent: %s", got[0].body)
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g.body, w)
				}
				if !found {
					t.Errorf("no receipt holds %s: %v", w, got)
				}
			}
			for _, g := range got {
				if g.authz != "Bearer rt" || g.ctype != "application/json" {
					t.Errorf("headers: %+v", g)
				}
				if tc.dialect == "whatsappcloud" {
					if !whatsappcloud.CheckSignature([]byte(g.body), g.sig, []byte("app-secret")) || !strings.Contains(g.body, `"biz_opaque_callback_data":"our-2"`) {
						t.Errorf("webhook not signed or without callback data: %+v", g)
					}
				}
			}
		})
	}
	// FlowBot names no message id: its simulator takes a URL (for replies) but posts no
	// receipt to it.
	s, err := New("flowbot", DefaultCredentials, Faults{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetReceipts(Receipts{URL: startReceiptSink(t, 0).url}); err != nil {
		t.Fatal(err)
	}
	s.post.accepted([]*canonical.Message{{ID: "f-1", To: "972501234567"}})
	if n := s.post.pending.Load(); n != 0 {
		t.Errorf("flowbot simulator queued %d receipts", n)
	}
}
