// Package adaptertest holds every dialect package to the same contract: golden cases from
// the vendor's own documents, error shapes, and fuzzing of the decoders.
//
// A golden case is a JSON file in the dialect's testdata/golden/ folder:
//
//	{
//	  "op": "send",                        adapters.Op
//	  "method": "POST", "uri": "/add_message?x=1",
//	  "headers": {"Content-Type": "application/json"},
//	  "body": "...",                       raw body, as sent
//	  "param": "",                         path parameter ({flowId})
//	  "cred": {"scheme": 1, "user": "", "secret": "..."},   optional: expected credential
//	  "messages": [ ...canonical JSON... ],  expected messages (id, seq, created_at not compared)
//	  "status": 200, "answer": { ... }     expected answer, compared as JSON
//	}
//
// The runner sets Call.Account to TestAccount before Decode when the dialect's Credential
// finds the credential without the body, and always before Accepted.
// Before rendering the answer the runner plays the queue: message i gets the ID
// 00000000-0000-7000-8000-00000000000<i+1>, Seq 1000+i and CreatedAt 2023-04-26T11:11:58Z,
// and a batch id, if the decoder set one, becomes 00000000-0000-7000-8000-0000000000b0.
// A case whose decode must fail gives the expected error answer in status/answer and no messages.
// Run with -update to rewrite the expected messages and answers from the current output.
package adaptertest

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Now is the clock every golden case decodes with: 2023-04-26 11:11:58 UTC.
var Now = time.Date(2023, 4, 26, 11, 11, 58, 0, time.UTC)

// TestAccount is the tenant every golden case is answered for.
var TestAccount = adapters.Account{Tenant: "acme", UserID: 264, AccountID: 34, ClientID: "aiflow_acme",
	ClientNumber: "user-uuid", TimeZone: "", CountryCode: "972"}

// Case is one golden file.
type Case struct {
	Op       adapters.Op          `json:"op"`
	Method   string               `json:"method"`
	URI      string               `json:"uri"`
	Headers  map[string]string    `json:"headers,omitempty"`
	Body     string               `json:"body,omitempty"`
	Param    string               `json:"param,omitempty"`
	Cred     *adapters.Credential `json:"cred,omitempty"`
	Messages []*canonical.Message `json:"messages,omitempty"`
	Status   int                  `json:"status"`
	Answer   json.RawMessage      `json:"answer"`
}

// Request builds the fasthttp request a case describes.
func (c *Case) Request() *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(c.Method)
	req.SetRequestURI(c.URI)
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	if c.Body != "" {
		req.SetBodyString(c.Body)
	}
	return req
}

// PlayQueue gives the batch's messages the ids, seqs and times the queue would.
func PlayQueue(b *adapters.Batch) {
	for i, m := range b.Messages {
		m.ID = fmt.Sprintf("00000000-0000-7000-8000-%012d", i+1)
		m.Seq = uint64(1000 + i)
		m.CreatedAt = Now
		if m.Status == "" {
			m.Status = canonical.StatusQueued
		}
	}
	if b.ID != "" {
		b.ID = "00000000-0000-7000-8000-0000000000b0"
	}
	b.Dup = make([]bool, len(b.Messages))
}

// RunGolden runs every case in dir against in.
func RunGolden(t *testing.T, in adapters.Inbound, dir string) {
	eachCase(t, dir, func(t *testing.T, f string, c *Case) {
		got := run(in, c)
		if *update {
			c.Messages, c.Status, c.Answer = got.Messages, got.Status, got.Answer
			if c.Cred != nil {
				c.Cred = got.Cred
			}
			out, _ := json.MarshalIndent(c, "", "  ")
			if err := os.WriteFile(f, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if c.Cred != nil && *c.Cred != *got.Cred {
			t.Errorf("credential = %+v, want %+v", *got.Cred, *c.Cred)
		}
		if len(c.Messages) != len(got.Messages) {
			t.Fatalf("decoded %d messages, want %d:\n%s", len(got.Messages), len(c.Messages), mustJSON(got.Messages))
		}
		for i := range c.Messages {
			want, have := comparable(c.Messages[i]), comparable(got.Messages[i])
			if !reflect.DeepEqual(want, have) {
				t.Errorf("message %d:\n got %s\nwant %s", i, mustJSON(have), mustJSON(want))
			}
		}
		if got.Status != c.Status {
			t.Errorf("status = %d, want %d", got.Status, c.Status)
		}
		if !JSONEqual(got.Answer, c.Answer) {
			t.Errorf("answer:\n got %s\nwant %s", got.Answer, c.Answer)
		}
	})
}

// eachCase runs fn, as a subtest named after the file, on every case in dir.
func eachCase[C any](t *testing.T, dir string, fn func(t *testing.T, file string, c *C)) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no golden cases in %s", dir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c C
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("cannot parse golden case: %v", err)
			}
			fn(t, f, &c)
		})
	}
}

// run decodes and renders a case the way the gateway's send path does.
func run(in adapters.Inbound, c *Case) *Case {
	call := &adapters.Call{Op: c.Op, Req: c.Request(), Param: c.Param, Now: Now}
	if _, ok := in.Credential(call); ok {
		call.Account = &TestAccount
	}
	var b adapters.Batch
	out := &Case{}
	err := in.Decode(call, &b)
	out.Cred = &b.Cred
	if err != nil {
		out.Status, out.Answer = in.Error(call, canonical.AsError(err), nil)
		return out
	}
	for _, m := range b.Messages {
		cp := *m
		out.Messages = append(out.Messages, &cp)
	}
	PlayQueue(&b)
	call.Account = &TestAccount
	out.Status, out.Answer = answer(in, call, &b)
	return out
}

// answer renders a decoded request's answer as the gateway does: Accepted for sends,
// Serve (against TestEnv) for the other endpoints.
func answer(in adapters.Inbound, call *adapters.Call, b *adapters.Batch) (int, []byte) {
	op, ok := in.(adapters.Operator)
	if !ok || call.Op.IsSend() {
		return in.Accepted(call, b, nil)
	}
	status, body, err := op.Serve(call, TestEnv, nil)
	if err != nil {
		return in.Error(call, canonical.AsError(err), nil)
	}
	return status, body
}

// TestEnv is what golden cases of non-send endpoints run against: the store holds nothing.
var TestEnv = adapters.Env{Store: emptyStore{}}

// emptyStore is a store without records.
type emptyStore struct{}

func (emptyStore) Get(string) (*adapters.Record, error) {
	return nil, canonical.Errorf(canonical.ErrNotFound, "message not found")
}
func (emptyStore) ByRef(string, string) ([]string, error) { return nil, nil }
func (emptyStore) TemplateSentSince(string, []string, string, time.Time) (map[string]time.Time, error) {
	return nil, nil
}
func (emptyStore) Changes(string, int) ([]*adapters.Record, error) { return nil, nil }

// comparable clears what the queue, not the decoder, sets.
func comparable(m *canonical.Message) canonical.Message {
	cp := *m
	cp.ID, cp.Seq, cp.CreatedAt, cp.Status = "", 0, time.Time{}, ""
	// Times compare by instant, whatever their location.
	cp.NotBefore, cp.ExpiresAt = cp.NotBefore.UTC(), cp.ExpiresAt.UTC()
	if cp.NotBefore.IsZero() {
		cp.NotBefore = time.Time{}
	}
	if cp.ExpiresAt.IsZero() {
		cp.ExpiresAt = time.Time{}
	}
	return cp
}

// JSONEqual compares two JSON documents by value (key order and spacing aside).
func JSONEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	return reflect.DeepEqual(x, y)
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// CheckErrors holds a dialect's error answers to the contract: every error class renders a
// JSON body with a 4xx/5xx status, and the same class always gets the same status.
func CheckErrors(t *testing.T, in adapters.Inbound) {
	for _, op := range append([]adapters.Op{""}, ops(in)...) {
		for code := canonical.ErrInvalid; code <= canonical.ErrMethod; code++ {
			call := &adapters.Call{Op: op, Req: &fasthttp.Request{}, Now: Now}
			status, body := in.Error(call, &canonical.Error{Code: code, Field: "to", Reason: "something is wrong", RetryAfter: time.Second}, nil)
			if status < 400 || status > 599 {
				t.Errorf("op %q, error class %d: status %d is not an error", op, code, status)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("op %q, error class %d: body is not JSON: %q", op, code, body)
			}
		}
	}
}

func ops(in adapters.Inbound) []adapters.Op {
	var out []adapters.Op
	for _, r := range in.Routes() {
		out = append(out, r.Op)
	}
	return out
}

// Fuzz feeds arbitrary bodies (and query strings) to a send op. It must never panic, and
// whatever decodes must validate and survive the queue encoding unchanged.
func Fuzz(f *testing.F, in adapters.Inbound, op adapters.Op, method, path string, headers map[string]string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		req := &fasthttp.Request{}
		req.Header.SetMethod(method)
		uri := path
		if query != "" {
			uri += "?" + query
		}
		req.SetRequestURI(uri)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		req.SetBodyString(body)
		var b adapters.Batch
		call := &adapters.Call{Op: op, Req: req, Now: Now, Account: &TestAccount}
		if err := in.Decode(call, &b); err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("decode error is not a *canonical.Error: %T %v", err, err)
			}
			in.Error(call, canonical.AsError(err), nil)
			return
		}
		for _, m := range b.Messages {
			if err := m.Validate(); err != nil {
				t.Fatalf("decoded message does not validate: %v\n%s", err, mustJSON(m))
			}
			enc, _ := m.MarshalBinary()
			var back canonical.Message
			if err := back.UnmarshalBinary(enc); err != nil {
				t.Fatalf("queue encoding: %v", err)
			}
			if !reflect.DeepEqual(comparable(m), comparable(&back)) {
				t.Fatalf("queue round trip changed the message:\n%s\n%s", mustJSON(m), mustJSON(&back))
			}
		}
		PlayQueue(&b)
		answer(in, call, &b)
	})
}

// maxReason bounds the reason a Classify may record: every adapter cuts the vendor's text
// to far less.
const maxReason = 4096

// FuzzClassify feeds arbitrary answers (status, body, Retry-After) to out's Classify, and to
// ClassifyBulk when out has it. It must never panic and must always decide: a known outcome,
// no negative wait, a bounded reason, and a 5xx never counted as sent.
func FuzzClassify(f *testing.F, out adapters.Outbound, seeds ...string) {
	for _, s := range seeds {
		f.Add(200, s, "")
		f.Add(400, s, "")
	}
	f.Add(429, `{}`, "60")
	f.Add(503, `<html>`, "Wed, 21 Oct 2015 07:28:00 GMT")
	m := &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", To: "972501234567", Text: "x"}
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		resp := &fasthttp.Response{}
		resp.SetStatusCode(status)
		resp.Header.Set("Retry-After", retry)
		resp.SetBody([]byte(body))
		results := []adapters.Result{out.Classify(m, resp)}
		if b, ok := out.(adapters.BulkOutbound); ok {
			results = append(results, b.ClassifyBulk([]*canonical.Message{m, m}, resp)...)
		}
		for _, r := range results {
			if r.Outcome > adapters.Permanent || r.RetryAfter < 0 || len(r.Reason) > maxReason {
				t.Fatalf("status %d: %+v", resp.StatusCode(), r)
			}
			if resp.StatusCode() >= 500 && r.Outcome == adapters.Sent {
				t.Fatalf("status %d counted as sent: %+v", resp.StatusCode(), r)
			}
		}
	})
}

// Response is an upstream's answer for Classify tests: a status, a body and header pairs.
func Response(status int, body string, headers ...string) *fasthttp.Response {
	resp := &fasthttp.Response{}
	resp.SetStatusCode(status)
	resp.SetBodyString(body)
	for i := 0; i+1 < len(headers); i += 2 {
		resp.Header.Set(headers[i], headers[i+1])
	}
	return resp
}

// ReplyCase is one golden file of a reply parser (testdata/replies/*.json): a body as the
// vendor posts it, and the replies it must give (none for a body the receipt parser reads).
type ReplyCase struct {
	Body    json.RawMessage   `json:"body"`
	Replies []canonical.Reply `json:"replies"`
}

// RunReplyGolden runs every reply case in dir through parse, with Now as the time of
// arrival. With -update it rewrites the expected replies from the current output.
func RunReplyGolden(t *testing.T, parse func([]byte, time.Time) ([]canonical.Reply, error), dir string) {
	eachCase(t, dir, func(t *testing.T, f string, c *ReplyCase) {
		got, err := parse(c.Body, Now)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		if *update {
			c.Replies = got
			out, _ := json.MarshalIndent(c, "", "  ")
			if err := os.WriteFile(f, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		if len(got) != len(c.Replies) {
			t.Fatalf("parsed %d replies, want %d:\n%s", len(got), len(c.Replies), mustJSON(got))
		}
		for i := range got {
			// Compared as JSON: times by instant, contact cards by value.
			if g, w := mustJSON(got[i]), mustJSON(c.Replies[i]); !JSONEqual([]byte(g), []byte(w)) {
				t.Errorf("reply %d:\n got %s\nwant %s", i, g, w)
			}
		}
	})
}

// ReplyBodies returns the bodies of the reply cases in dir, by file name.
func ReplyBodies(t testing.TB, dir string) map[string][]byte {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	out := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c ReplyCase
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = c.Body
	}
	return out
}

// FuzzReplies feeds arbitrary bodies to a reply parser, seeded with the reply cases in dir
// and seeds. It must never panic; an error is a *canonical.Error; what parses is at most
// MaxReceipts replies, each holding to adapters.CheckReply and to more (when not nil).
func FuzzReplies(f *testing.F, parse func([]byte, time.Time) ([]canonical.Reply, error), dir string,
	more func(*testing.T, *canonical.Reply), seeds ...[]byte) {
	for _, b := range ReplyBodies(f, dir) {
		f.Add(b)
	}
	for _, b := range seeds {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		reps, err := parse(body, Now)
		if err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("error is not a *canonical.Error: %T %v", err, err)
			}
			return
		}
		if len(reps) > adapters.MaxReceipts {
			t.Fatalf("%d replies", len(reps))
		}
		for i := range reps {
			r := reps[i]
			if err := adapters.CheckReply(&r); err != nil || !reflect.DeepEqual(r, reps[i]) {
				t.Fatalf("reply breaks the contract: %v %+v", err, reps[i])
			}
			if more != nil {
				more(t, &r)
			}
		}
	})
}

// Outbound builds an upstream adapter with build (a vendor's NewOutbound) from cfg, as the
// dialect's own type O, failing the test when it cannot.
func Outbound[O adapters.Outbound](t testing.TB, build func(adapters.UpstreamConfig) (adapters.Outbound, error), cfg adapters.UpstreamConfig) O {
	t.Helper()
	out, err := build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := out.(O)
	if !ok {
		t.Fatalf("upstream %q: built a %T, want a %T", cfg.Name, out, o)
	}
	return o
}
