package gateway

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// startReplyServer serves cfg on loopback and returns its base URL.
func startReplyServer(t *testing.T, src string, edit func(*Server)) string {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "replies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), registry.Vendors())
	if err != nil {
		t.Fatal(err)
	}
	edit(srv)
	return serveLoopback(t, srv)
}

// queueOnly hides every optional capability of a queue: a backend that keeps no replies.
type queueOnly struct{ queue.Queue }

// TestReplyHookAndBackend: every stored reply goes through the hooks (OnReply) with its
// tenant, sender and text; a hook's error makes the vendor post again (500) after the reply
// was stored; a queue backend without replies refuses them with 503, storing nothing.
func TestReplyHookAndBackend(t *testing.T) {
	conf := func(dir string) string {
		return `data_dir: "` + dir + `"
tenants:
  - { id: t1, native: { token: tok1 } }
upstreams:
  - name: hook
    dialect: http
    url: "http://127.0.0.1:1/messages"
    replies: { tenant: t1 }
    receipts: open
routes:
  - { name: r, upstreams: [hook] }
`
	}
	type seen struct{ tenant, from, text string }
	var mu sync.Mutex
	var got []seen
	var fail bool
	var q queue.Queue
	base := startReplyServer(t, conf(t.TempDir()), func(s *Server) {
		q = s.q
		s.OnReply(func(r *canonical.Reply) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, seen{r.Tenant, r.From, r.Text})
			if fail {
				return errors.New("opt-out list unavailable")
			}
			return nil
		})
	})
	post := func(text string) (int, string) {
		return toyPost(t, base+"/receipts/hook", "", `{"type":"reply","from":"+5511900000001","text":"`+text+`"}`)
	}
	if status, body := post("STOP"); status != 200 {
		t.Fatalf("reply: %d %s", status, body)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if status, body := post("PARAR"); status != 500 {
		t.Fatalf("reply with a failing hook: %d %s, want 500", status, body)
	}
	mu.Lock()
	if len(got) != 2 || got[0] != (seen{"t1", "5511900000001", "STOP"}) || got[1].text != "PARAR" {
		t.Errorf("hook saw %+v", got)
	}
	mu.Unlock()
	rs, err := q.(queue.Replies).ReadReplies("t1", 0, 10)
	if err != nil || len(rs) != 2 {
		t.Fatalf("stored replies: %+v, %v; want both (the second before its hook failed)", rs, err)
	}

	var hidden queue.Queue
	base = startReplyServer(t, conf(t.TempDir()), func(s *Server) {
		hidden = s.q
		s.q = queueOnly{s.q}
	})
	status, body := toyPost(t, base+"/receipts/hook", "", `{"type":"reply","from":"+5511900000001","text":"hi"}`)
	if status != 503 || !strings.Contains(body, "keeps no replies") {
		t.Errorf("reply on a backend without replies: %d %s, want 503", status, body)
	}
	if rs, _ := hidden.(queue.Replies).ReadReplies("t1", 0, 10); len(rs) != 0 {
		t.Errorf("a refused reply was stored: %+v", rs)
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(base + "/gateway/v1/replies")
	req.Header.Set("Authorization", "Bearer tok1")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	status, body = resp.StatusCode(), string(resp.Body())
	if status != 503 {
		t.Errorf("pull on a backend without replies: %d %s, want 503", status, body)
	}
}
