package http

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

func newOut(t *testing.T, creds map[string]string) adapters.Outbound {
	t.Helper()
	o, err := NewOutbound(adapters.UpstreamConfig{Name: "hook", URL: "http://127.0.0.1:9000/messages", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestNewOutboundRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9000/x", "ftp://host/x", "http://", "http://%zz"} {
		if _, err := NewOutbound(adapters.UpstreamConfig{Name: "hook", URL: u}); err == nil {
			t.Errorf("NewOutbound(%q): no error", u)
		}
	}
}

func TestEncode(t *testing.T) {
	o := newOut(t, map[string]string{"bearer": "s3cret"})
	m := &canonical.Message{ID: "0190-abc", Tenant: "acme", To: "972501234567", Kind: canonical.KindButtons,
		Text: "Pick", Buttons: []string{"Yes", "No"}, ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	if err := o.Encode(m, req); err != nil {
		t.Fatal(err)
	}
	if got := string(req.Header.Method()); got != "POST" {
		t.Errorf("method %q", got)
	}
	if got := string(req.URI().Path()); got != "/messages" {
		t.Errorf("path %q", got)
	}
	if got := string(req.Host()); got != "127.0.0.1:9000" {
		t.Errorf("host %q", got)
	}
	if got := string(req.Header.Peek("Authorization")); got != "Bearer s3cret" {
		t.Errorf("authorization %q", got)
	}
	if got := string(req.Header.Peek("Idempotency-Key")); got != m.ID {
		t.Errorf("idempotency key %q", got)
	}
	if got := string(req.Header.ContentType()); got != "application/json" {
		t.Errorf("content type %q", got)
	}
	var raw map[string]any
	if err := json.Unmarshal(req.Body(), &raw); err != nil {
		t.Fatalf("body %s: %v", req.Body(), err)
	}
	if raw["to"] != "972501234567" || raw["text"] != "Pick" || raw["expires_at"] != "2030-01-02T03:04:05Z" || raw["kind"] != "buttons" {
		t.Errorf("body %s", req.Body())
	}
	var back canonical.Message
	if err := json.Unmarshal(req.Body(), &back); err != nil || back.ID != m.ID || len(back.Buttons) != 2 {
		t.Errorf("body does not decode back: %v %+v", err, back)
	}

	req.Reset()
	if err := newOut(t, nil).Encode(m, req); err != nil {
		t.Fatal(err)
	}
	if h := req.Header.Peek("Authorization"); len(h) != 0 {
		t.Errorf("authorization without credential: %q", h)
	}
}

// TestAppendMessageMatchesJSON holds the hand-written body to the bytes the JSON encoder
// writes for canonical.Message, over messages with every field and awkward strings.
func TestAppendMessageMatchesJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"", "a", "Olá", "<b>&amp;</b>", "\"q\"", `back\slash`, "\n\r\t\b\f\x00\x1f\x7f",
		"\u2028\u2029", "\xff\xfe", "\xe2\x80", "😀", "\xed\xa0\x80", "line\nbreak", "1234567890"}
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(4) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return sb.String()
	}
	strs := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		ss := make([]string, 1+rng.IntN(3))
		for i := range ss {
			ss[i] = str()
		}
		return ss
	}
	strMap := func() map[string]string {
		if rng.IntN(2) == 0 {
			return nil
		}
		m := map[string]string{}
		for range rng.IntN(4) {
			m[str()] = str()
		}
		return m
	}
	at := func() time.Time {
		switch rng.IntN(3) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		return time.Unix(0, rng.Int64N(1<<62)).UTC()
	}
	for i := range 2000 {
		m := &canonical.Message{ID: str(), Seq: rng.Uint64N(3) * rng.Uint64(), Tenant: str(), Dialect: str(),
			BatchID: str(), ClientRef: str(), To: str(), From: str(), Channel: canonical.Channel(str()),
			Kind: canonical.Kind(str()), Text: str(), Buttons: strs(), Options: strs(), FlowID: str(),
			Vars: strMap(), Flash: rng.IntN(2) == 0, NotBefore: at(), ExpiresAt: at(), CreatedAt: at(),
			Attempts: rng.IntN(3) - 1, Status: canonical.Status(str()), LastError: str(), Upstream: str(),
			UpstreamID: str(), Extra: strMap()}
		for range rng.IntN(3) {
			m.Media = append(m.Media, canonical.Media{URL: str(), Caption: str(), Filename: str(), Local: rng.IntN(2) == 0})
		}
		if rng.IntN(2) == 0 {
			m.Template = &canonical.Template{Name: str(), ID: str(), Language: str(), Params: strs(), GroupID: str()}
		}
		if rng.IntN(2) == 0 {
			m.Window = &canonical.Window{TimeZone: str()}
			if rng.IntN(3) > 0 {
				m.Window.Hours = make([]int, rng.IntN(3))
				for j := range m.Window.Hours {
					m.Window.Hours[j] = rng.IntN(24)
				}
			}
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(m); err != nil {
			t.Fatal(err)
		}
		got, err := appendMessage(nil, m)
		var gotV, wantV any
		if err == nil {
			err = json.Unmarshal(got, &gotV)
		}
		if err := json.Unmarshal(want.Bytes(), &wantV); err != nil {
			t.Fatal(err)
		}
		if err != nil || !reflect.DeepEqual(gotV, wantV) || !bytes.HasSuffix(got, []byte("}\n")) {
			t.Fatalf("message %d: %v\ngot  %s\nwant %s", i, err, got, want.Bytes())
		}
	}
	if _, err := appendMessage(nil, &canonical.Message{ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 encoded")
	}
}

func TestClassify(t *testing.T) {
	o := newOut(t, nil)
	long := strings.Repeat("é", maxReason) // two bytes each: the cut must not split one
	for _, tc := range []struct {
		name       string
		code       int
		body       string
		header     string
		outcome    adapters.Outcome
		id, reason string
		after      time.Duration
	}{
		{"ok with id", 200, `{"id":"up-1","status":"queued"}`, "", adapters.Sent, "up-1", "", 0},
		{"created numeric id", 201, `{"id": 42}`, "", adapters.Sent, "42", "", 0},
		{"no content", 204, ``, "", adapters.Sent, "", "", 0},
		{"plain text", 200, `ok`, "", adapters.Sent, "", "", 0},
		{"id not scalar", 200, `{"id":{"x":1}}`, "", adapters.Sent, "", "", 0},
		{"no id", 200, `{"success":true}`, "", adapters.Sent, "", "", 0},
		{"id in capitals", 200, `{"ID":"up-2"}`, "", adapters.Sent, "up-2", "", 0},
		{"id escaped", 200, `{"\u0069d":"up-3"}`, "", adapters.Sent, "up-3", "", 0},
		{"bad request", 400, ` {"error":"bad number"} `, "", adapters.Permanent, "", `HTTP 400: {"error":"bad number"}`, 0},
		{"not found empty", 404, ``, "", adapters.Retry, "", "HTTP 404", 0},
		{"unauthorized", 401, ``, "", adapters.Retry, "", "HTTP 401", 0},
		{"forbidden", 403, `no`, "", adapters.Retry, "", "HTTP 403: no", 0},
		{"method", 405, ``, "", adapters.Retry, "", "HTTP 405", 0},
		{"proxy auth", 407, ``, "", adapters.Retry, "", "HTTP 407", 0},
		{"gone", 410, ``, "", adapters.Permanent, "", "HTTP 410", 0},
		{"timeout", 408, ``, "", adapters.Retry, "", "HTTP 408", 0},
		{"throttled", 429, `slow down`, "7", adapters.Retry, "", "HTTP 429: slow down", 7 * time.Second},
		{"unavailable", 503, ``, "", adapters.Retry, "", "HTTP 503", 0},
		{"server error bad header", 500, `oops`, "soon", adapters.Retry, "", "HTTP 500: oops", 0},
		{"redirect", 302, ``, "", adapters.Retry, "", "HTTP 302", 0},
		{"long body", 422, long, "", adapters.Permanent, "", "HTTP 422: " + long[:maxReason], 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseResponse(resp)
			resp.SetStatusCode(tc.code)
			resp.SetBodyString(tc.body)
			if tc.header != "" {
				resp.Header.Set("Retry-After", tc.header)
			}
			res := o.Classify(&canonical.Message{ID: "m"}, resp)
			if res.Outcome != tc.outcome || res.UpstreamID != tc.id || res.Reason != tc.reason || res.RetryAfter != tc.after {
				t.Fatalf("Classify = %+v", res)
			}
			if tc.outcome == adapters.Sent && res.Status != canonical.StatusSent {
				t.Errorf("status %q", res.Status)
			}
			if tc.outcome != adapters.Sent && res.Code != strings.Fields(tc.reason)[1][:3] {
				t.Errorf("code %q", res.Code)
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	h := []byte(now.Add(90 * time.Second).Format(time.RFC1123))
	h = []byte(strings.Replace(string(h), "UTC", "GMT", 1))
	if got := adapters.RetryAfter(h, now); got != 90*time.Second {
		t.Fatalf("adapters.RetryAfter(%s) = %v", h, got)
	}
	if got := adapters.RetryAfter([]byte("Mon, 01 Jan 2029 00:00:00 GMT"), now); got != 0 {
		t.Fatalf("past date: %v", got)
	}
}
