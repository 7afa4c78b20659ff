package wavy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func TestGolden(t *testing.T) {
	adaptertest.RunGolden(t, New(Options{}), "testdata/golden")
}

func TestGoldenObjectReply(t *testing.T) {
	adaptertest.RunGolden(t, New(Options{SingleReply: "object"}), "testdata/golden-object")
}

func TestErrors(t *testing.T) {
	adaptertest.CheckErrors(t, New(Options{}))
}

func TestOptionsValidate(t *testing.T) {
	for _, v := range []string{"", "array", "object"} {
		if err := (Options{SingleReply: v}).Validate(); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	if (Options{SingleReply: "list"}).Validate() == nil {
		t.Error("SingleReply list: no error")
	}
}

func TestAuthErrorIsExact(t *testing.T) {
	in := New(Options{})
	status, body := in.Error(&adapters.Call{Op: adapters.OpSend}, canonical.Errorf(canonical.ErrUnauthorized, "wrong token"), nil)
	want := `{"errorCode":401,"errorMessage":"Authentication Error: No user was found with this combination of username and Authentication token."}`
	if status != 401 || string(body) != want {
		t.Errorf("got %d %s\nwant 401 %s", status, body, want)
	}
}

func TestErrorShapes(t *testing.T) {
	in := New(Options{})
	for _, tc := range []struct {
		err    *canonical.Error
		status int
		body   string
	}{
		{canonical.Invalid("destination", "is required"), 400, `{"errorCode":400,"errorMessage":"destination: is required"}`},
		{canonical.Errorf(canonical.ErrForbidden, "subAccount not allowed"), 403, `{"errorCode":403,"errorMessage":"subAccount not allowed"}`},
		{canonical.Errorf(canonical.ErrNotFound, ""), 404, `{"errorCode":404,"errorMessage":"Not Found"}`},
		{canonical.Errorf(canonical.ErrMethod, ""), 405, `{"errorCode":405,"errorMessage":"Method Not Allowed"}`},
		{canonical.Errorf(canonical.ErrConflict, "duplicate"), 409, `{"errorCode":409,"errorMessage":"duplicate"}`},
		{canonical.Errorf(canonical.ErrTooLarge, "body too large"), 413, `{"errorCode":413,"errorMessage":"body too large"}`},
		{canonical.Errorf(canonical.ErrTooMany, "slow down"), 429, `{"errorCode":429,"errorMessage":"slow down"}`},
		{canonical.Errorf(canonical.ErrInternal, ""), 500, `{"errorCode":500,"errorMessage":"Internal Server Error"}`},
		{canonical.Errorf(canonical.ErrUnavailable, "queue full"), 503, `{"errorCode":503,"errorMessage":"queue full"}`},
	} {
		status, body := in.Error(&adapters.Call{}, tc.err, nil)
		if status != tc.status || string(body) != tc.body {
			t.Errorf("%v: got %d %s, want %d %s", tc.err, status, body, tc.status, tc.body)
		}
	}
}

func TestCredential(t *testing.T) {
	in := New(Options{})
	for _, tc := range []struct {
		name    string
		headers map[string]string
		uri     string
		raw     bool // disable header name normalising, as a server may
		want    adapters.Credential
		ok      bool
	}{
		{"lower-case headers", map[string]string{"username": "u", "authenticationtoken": "t"}, "/v1/send-sms", false,
			adapters.Credential{Scheme: adapters.SchemeUser, User: "u", Secret: "t"}, true},
		{"documented case, raw", map[string]string{"UserName": "u", "AuthenticationToken": "t"}, "/v1/send-sms", true,
			adapters.Credential{Scheme: adapters.SchemeUser, User: "u", Secret: "t"}, true},
		{"query", nil, "/v1/send-sms?UserName=u&authenticationToken=t", false,
			adapters.Credential{Scheme: adapters.SchemeUser, User: "u", Secret: "t"}, true},
		{"header wins over query", map[string]string{"username": "h"}, "/v1/send-sms?username=q&authenticationtoken=t", false,
			adapters.Credential{Scheme: adapters.SchemeUser, User: "h", Secret: "t"}, true},
		{"token missing", map[string]string{"username": "u"}, "/v1/send-sms", false,
			adapters.Credential{Scheme: adapters.SchemeUser, User: "u"}, false},
		{"none", nil, "/v1/send-sms", false, adapters.Credential{}, false},
	} {
		req := &fasthttp.Request{}
		req.Header.DisableNormalizing()
		if !tc.raw {
			req.Header.EnableNormalizing()
		}
		req.SetRequestURI(tc.uri)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		got, ok := in.Credential(&adapters.Call{Op: adapters.OpSend, Req: req})
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: got %+v %v, want %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// decode runs one request through Decode with the test account.
func decode(t *testing.T, in *Inbound, op adapters.Op, method, uri, body string, acct *adapters.Account) (*adapters.Batch, error) {
	t.Helper()
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.Set("username", "acme")
	req.Header.Set("authenticationtoken", "tok")
	req.SetBodyString(body)
	b := &adapters.Batch{}
	err := in.Decode(&adapters.Call{Op: op, Req: req, Now: adaptertest.Now, Account: acct}, b)
	return b, err
}

func TestBulkLimit(t *testing.T) {
	in := New(Options{})
	body := func(n int) string {
		var sb strings.Builder
		sb.WriteString(`{"defaultValues":{"messageText":"hi"},"messages":[`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"destination":"55119%08d"}`, i)
		}
		sb.WriteString("]}")
		return sb.String()
	}
	b, err := decode(t, in, adapters.OpBulk, "POST", "/v1/send-bulk-sms", body(maxBulk), &adaptertest.TestAccount)
	if err != nil || len(b.Messages) != maxBulk || b.ID == "" {
		t.Fatalf("1000 messages: %v, %d messages, batch id %q", err, len(b.Messages), b.ID)
	}
	_, err = decode(t, in, adapters.OpBulk, "POST", "/v1/send-bulk-sms", body(maxBulk+1), &adaptertest.TestAccount)
	if e := canonical.AsError(err); err == nil || e.Code != canonical.ErrInvalid || e.Field != "messages" {
		t.Fatalf("1001 messages: got %v", err)
	}
}

// The vendor counts characters as Java does: one per UTF-16 code unit.
func TestTextLimitCountsCharacters(t *testing.T) {
	in := New(Options{})
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{strings.Repeat("ç", maxText), true},          // 2560 bytes, 1280 characters
		{strings.Repeat("ש", maxText+1), false},       // 1281 characters
		{strings.Repeat("👍", maxText/2), true},        // 640 emoji = 1280 UTF-16 units
		{strings.Repeat("👍", maxText/2) + "a", false}, // 1281 units
	} {
		_, err := decode(t, in, adapters.OpSend, "POST", "/v1/send-sms",
			`{"destination":"5511900000000","messageText":"`+tc.text+`"}`, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%d bytes: err = %v, want ok=%v", len(tc.text), err, tc.ok)
		}
	}
}

func TestAccountTimeZone(t *testing.T) {
	in := New(Options{})
	acct := adaptertest.TestAccount
	acct.TimeZone = "Asia/Jerusalem"
	b, err := decode(t, in, adapters.OpSend, "POST", "/v1/send-sms",
		`{"destination":"5511900000000","messageText":"x","scheduledDate":"2023-04-26T20:00:00","timeWindow":[9]}`, &acct)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Messages[0]
	if want := time.Date(2023, 4, 26, 17, 0, 0, 0, time.UTC); !m.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v (20:00 in Jerusalem, UTC+3)", m.NotBefore, want)
	}
	if m.Window == nil || m.Window.TimeZone != "Asia/Jerusalem" {
		t.Errorf("Window = %+v, want the account's time zone", m.Window)
	}
	// The request's own timeZone wins over the account's.
	b, err = decode(t, in, adapters.OpSend, "POST", "/v1/send-sms",
		`{"destination":"5511900000000","messageText":"x","scheduledDate":"2023-04-26T20:00:00","timeZone":"UTC"}`, &acct)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 4, 26, 20, 0, 0, 0, time.UTC); !b.Messages[0].NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", b.Messages[0].NotBefore, want)
	}
	// Without an account (credential not read first) the default is UTC.
	b, err = decode(t, in, adapters.OpSend, "POST", "/v1/send-sms",
		`{"destination":"5511900000000","messageText":"x","scheduledDate":"2023-04-26T20:00:00"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 4, 26, 20, 0, 0, 0, time.UTC); !b.Messages[0].NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", b.Messages[0].NotBefore, want)
	}
}

func TestDecodeRefusesOtherOps(t *testing.T) {
	in := New(Options{})
	_, err := decode(t, in, adapters.OpStatusList, "GET", "/v1/sms/status/list", "", nil)
	if e := canonical.AsError(err); e.Code != canonical.ErrNotFound {
		t.Errorf("status list through Decode: %v", err)
	}
	_, err = decode(t, in, adapters.OpBulk, "GET", "/v1/send-bulk-sms", "", nil)
	if e := canonical.AsError(err); e.Code != canonical.ErrMethod {
		t.Errorf("GET bulk: %v", err)
	}
}

func TestRoutes(t *testing.T) {
	want := map[string]adapters.Op{
		"GET /v1/send-sms": adapters.OpSend, "POST /v1/send-sms": adapters.OpSend,
		"POST /v1/send-bulk-sms": adapters.OpBulk, "POST /v1/sms/status/search": adapters.OpStatusQuery,
		"GET /v1/sms-status": adapters.OpStatusQuery, "GET /v1/sms/status/list": adapters.OpStatusList,
		"GET /v1/sms/receive/list": adapters.OpReplyList, "GET /v1/sms/receive/search": adapters.OpReplySearch,
	}
	got := map[string]adapters.Op{}
	for _, r := range New(Options{}).Routes() {
		for _, m := range r.Methods {
			got[m+" "+r.Path] = r.Op
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes = %v\nwant %v", got, want)
	}
}
