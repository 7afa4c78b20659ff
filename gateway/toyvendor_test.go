package gateway

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/config"
)

// The toy vendor is everything a new vendor needs: an Inbound that clients speak, its
// options (the toy: section of the file) and tenants' credentials (tenants[].toy), an
// Outbound to forward to, a credential schema and the paths whose errors take its shape.
// TestToyVendor appends its row to a copy of the table and nothing else: if any part of the
// gateway still listed vendors of its own, the toy would not be served end to end.

const toyDialect = "toy"

func toyVendor() adapters.Vendor {
	return adapters.Vendor{
		Name:        toyDialect,
		Ingress:     true,
		ErrorPaths:  []string{"/toy/"},
		NewInbound:  adapters.InboundOf(func(o toyOptions) *toyInbound { return &toyInbound{answerKey: o.AnswerKey} }),
		Options:     adapters.OptionsOf(toyOptions{AnswerKey: "toy_id"}),
		Tenant:      adapters.TenantOf[toyTenant](),
		Credentials: adapters.CredentialSchema{Required: []string{"key"}},
		NewOutbound: func(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
			return &toyOutbound{url: cfg.URL, key: cfg.Credentials["key"]}, nil
		},
	}
}

// toyOptions are the toy: section: the key its answers name the message id by.
type toyOptions struct {
	AnswerKey string `yaml:"answer_key"`
}

func (o toyOptions) Validate() error {
	if o.AnswerKey == "" {
		return canonical.Invalid("answer_key", "is required")
	}
	return nil
}

// toyTenant is a tenant's toy credential: a Bearer token.
type toyTenant struct {
	Token string `yaml:"token"`
}

func (t *toyTenant) Validate() error {
	if t.Token == "" {
		return canonical.Invalid("token", "is required")
	}
	return nil
}

func (t *toyTenant) Credential() (adapters.Credential, bool) {
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: t.Token}, true
}

func (t *toyTenant) Unique() []adapters.Unique {
	return []adapters.Unique{{Kind: "token", Field: "token", Value: t.Token}}
}

func (t *toyTenant) Fill(*adapters.Account) {}

type toyInbound struct{ answerKey string }

func (*toyInbound) Dialect() string { return toyDialect }

func (*toyInbound) Routes() []adapters.Route {
	return []adapters.Route{{Methods: []string{"POST"}, Path: "/toy/v1/send", Op: adapters.OpSend}}
}

func (*toyInbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	tok, ok := native.BearerToken(c.Req.Header.Peek("Authorization"))
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: tok}, ok
}

func (*toyInbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	var req struct{ To, Say string }
	if err := json.Unmarshal(c.Req.Body(), &req); err != nil {
		return canonical.Invalid("body", "cannot parse JSON: %v", err)
	}
	m := &canonical.Message{Dialect: toyDialect, Channel: canonical.ChannelSMS, Kind: canonical.KindText, To: strings.TrimPrefix(req.To, "+"), Text: req.Say}
	if err := m.Validate(); err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

func (in *toyInbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	return 202, append(append(append(dst, `{"`+in.answerKey+`":"`...), b.Messages[0].ID...), `"}`...)
}

func (*toyInbound) Error(c *adapters.Call, e *canonical.Error, dst []byte) (int, []byte) {
	return e.Code.HTTPStatus(), append(adapters.AppendJSONString(append(dst, `{"toy_error":`...), e.Error()), '}')
}

type toyOutbound struct{ url, key string }

func (*toyOutbound) Caps() adapters.Caps { return adapters.Caps{Text: true} }

func (o *toyOutbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	req.Header.SetMethod("POST")
	req.SetRequestURI(o.url)
	req.Header.Set("X-Toy-Key", o.key)
	req.SetBodyString(m.To + ":" + m.Text)
	return nil
}

func (*toyOutbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	if resp.StatusCode() == 200 {
		return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}
	}
	return adapters.Result{Outcome: adapters.Retry}
}

// toySink is the toy vendor's API: it keeps what it is sent.
type toySink struct {
	mu   sync.Mutex
	got  []string
	keys []string
}

func (s *toySink) serve(ctx *fasthttp.RequestCtx) {
	s.mu.Lock()
	s.got = append(s.got, string(ctx.PostBody()))
	s.keys = append(s.keys, string(ctx.Request.Header.Peek("X-Toy-Key")))
	s.mu.Unlock()
}

func (s *toySink) received() ([]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...), append([]string(nil), s.keys...)
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestToyVendor(t *testing.T) {
	sink := &toySink{}
	sinkLn := listenLoopback(t)
	sinkSrv := &fasthttp.Server{Handler: sink.serve}
	go sinkSrv.Serve(sinkLn)
	defer sinkSrv.Shutdown()

	src := `data_dir: "` + t.TempDir() + `"
toy: { answer_key: toy_ref }
tenants:
  - { id: t1, toy: { token: tok1 } }
  - { id: t2, native: { token: native-tok } }
upstreams:
  - name: toyup
    dialect: toy
    receipts: open
    url: "http://` + sinkLn.Addr().String() + `/in"
    credentials: { key: k-1 }
routes:
  - name: r
    match: { dialects: [toy] }
    upstreams: [toyup]
`
	cfg, err := config.Parse([]byte(src), "toy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Without its row the toy is unknown everywhere a vendor is named.
	err = Check(cfg)
	if err == nil || !strings.Contains(err.Error(), "upstreams[0].dialect") || !strings.Contains(err.Error(), "routes[0].match.dialects[0]") {
		t.Fatalf("Check without the toy's row = %v", err)
	}
	if !strings.Contains(err.Error(), `tenants[0].toy: unknown key "toy"`) || !strings.Contains(err.Error(), `toy: unknown key "toy"`) {
		t.Fatalf("Check without the toy's row does not refuse its sections: %v", err)
	}
	vendors := append(registry.Vendors(), toyVendor())
	if _, err := checkVendors(cfg, vendors); err != nil {
		t.Fatalf("Check with the toy's row: %v", err)
	}
	bad := *cfg
	bad.Upstreams = []config.Upstream{{Name: "toyup", Dialect: toyDialect, URL: cfg.Upstreams[0].URL}}
	if _, err := checkVendors(&bad, vendors); err == nil || !strings.Contains(err.Error(), "upstreams[0].credentials.key") {
		t.Fatalf("the toy's credential schema is not checked: %v", err)
	}
	badSections, err := config.Parse([]byte(strings.Replace(strings.Replace(src, "answer_key: toy_ref", "answer_key: ''", 1),
		"toy: { token: tok1 }", "toy: { tokn: tok1 }", 1)), "toy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = checkVendors(badSections, vendors)
	if err == nil || !strings.Contains(err.Error(), "toy.answer_key: is required") || !strings.Contains(err.Error(), `tenants[0].toy.tokn: unknown key "tokn"`) {
		t.Fatalf("the toy's own checks of its sections are not run: %v", err)
	}

	srv, err := newServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), vendors)
	if err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, srv)

	status, body := toyPost(t, base+"/toy/v1/send", "tok1", `{"to":"+972501234567","say":"hello toy"}`)
	if status != 202 || !strings.HasPrefix(body, `{"toy_ref":"`) {
		t.Fatalf("send: %d %s", status, body)
	}
	status, body = toyPost(t, base+"/toy/v1/send", "wrong", `{"to":"+972501234567","say":"x"}`)
	if status != 401 || !strings.HasPrefix(body, `{"toy_error":`) {
		t.Errorf("bad token: %d %s, want 401 in the toy's shape", status, body)
	}
	// A tenant's credential in one dialect opens no other, even of the same scheme.
	if status, body = toyPost(t, base+"/toy/v1/send", "native-tok", `{"to":"+972501234567","say":"x"}`); status != 401 {
		t.Errorf("another dialect's token: %d %s, want 401", status, body)
	}
	status, body = toyPost(t, base+"/toy/v1/nowhere", "tok1", `{}`)
	if status != 404 || !strings.HasPrefix(body, `{"toy_error":`) {
		t.Errorf("unknown toy path: %d %s, want 404 in the toy's shape", status, body)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		got, keys := sink.received()
		if len(got) > 0 {
			if len(got) != 1 || got[0] != "972501234567:hello toy" || keys[0] != "k-1" {
				t.Fatalf("the toy upstream got %q with keys %q", got, keys)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message never reached the toy upstream")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func toyPost(t *testing.T, uri, token, body string) (int, string) {
	t.Helper()
	return post(t, uri, map[string]string{"Authorization": "Bearer " + token}, body)
}
