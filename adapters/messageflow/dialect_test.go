package messageflow

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func TestGolden(t *testing.T) {
	adaptertest.RunGolden(t, New(Options{}), "testdata/golden")
}

func TestErrors(t *testing.T) {
	adaptertest.CheckErrors(t, New(Options{}))
}

func newCall(method, uri, contentType, body string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.SetBodyString(body)
	return &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now}
}

func decode(t *testing.T, in *Inbound, c *adapters.Call) (*adapters.Batch, *canonical.Error) {
	t.Helper()
	var b adapters.Batch
	err := in.Decode(c, &b)
	if err == nil {
		return &b, nil
	}
	e, ok := err.(*canonical.Error)
	if !ok {
		t.Fatalf("error is %T, not *canonical.Error: %v", err, err)
	}
	return &b, e
}

// goccy/go-json must match JSON keys to the struct's fields case-insensitively, as
// encoding/json does: clients spell MessageFlow's names both ways.
func TestJSONKeysCaseInsensitive(t *testing.T) {
	in := New(Options{})
	for _, body := range []string{
		`{"UUID":"u-1","ToMobileNumber":"972501234567","FromMobileNumber":"972521234567","Message":"hi","DownloadLink":"https://x.example/a.jpg"}`,
		`{"uuid":"u-1","toMobileNumber":"972501234567","fromMobileNumber":"972521234567","message":"hi","downloadLink":"https://x.example/a.jpg"}`,
		`{"Uuid":"u-1","TOMOBILENUMBER":"972501234567","frommobilenumber":"972521234567","MESSAGE":"hi","DOWNLOADLINK":"https://x.example/a.jpg"}`,
	} {
		b, err := decode(t, in, newCall("POST", "/add_message", "application/json", body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		m := b.Messages[0]
		if b.Cred.Secret != "u-1" || m.To != "972501234567" || m.From != "972521234567" || m.Text != "hi" ||
			len(m.Media) != 1 || m.Media[0].URL != "https://x.example/a.jpg" {
			t.Errorf("%s: decoded %+v, cred %+v", body, m, b.Cred)
		}
	}
	b, err := decode(t, in, newCall("POST", "/add_message", "application/json", `{"ToCountryCode":"972","toMobileNumber":"0501234567","UUID":"u","Message":"x"}`))
	if err != nil || b.Messages[0].To != "972501234567" {
		t.Fatalf("ToCountryCode: %v %+v", err, b.Messages)
	}
}

func TestCredential(t *testing.T) {
	in := New(Options{})
	for _, tc := range []struct {
		method, uri, ct, body string
		ok                    bool
		secret                string
	}{
		{"GET", "/webhook/add_message?UUID=abc&ToMobileNumber=972501234567&wapMessage=hi", "", "", true, "abc"},
		{"GET", "/webhook/add_message?uuid=abc", "", "", true, "abc"},
		{"GET", "/webhook/add_message?ToMobileNumber=972501234567", "", "", false, ""},
		{"POST", "/webhook/add_message?UUID=abc", "application/x-www-form-urlencoded", "UUID=other", true, "abc"},
		{"POST", "/webhook/add_message", "application/x-www-form-urlencoded", "UUID=abc", false, ""},
		{"POST", "/add_message?UUID=abc", "application/json", `{"UUID":"abc"}`, false, ""},
	} {
		cred, ok := in.Credential(newCall(tc.method, tc.uri, tc.ct, tc.body))
		if ok != tc.ok || cred.Secret != tc.secret || (ok && cred.Scheme != adapters.SchemeUUID) {
			t.Errorf("%s %s %q: got %+v %v", tc.method, tc.uri, tc.body, cred, ok)
		}
	}
}

func TestCountryCodeFallback(t *testing.T) {
	body := `{"UUID":"u","ToMobileNumber":"07911123456","FromMobileNumber":"07911654321","Message":"x"}`
	// No account: the option's default.
	b, err := decode(t, New(Options{DefaultCountryCode: "44"}), newCall("POST", "/add_message", "", body))
	if err != nil || b.Messages[0].To != "447911123456" || b.Messages[0].From != "447911654321" {
		t.Fatalf("option default: %v %+v", err, b.Messages)
	}
	// The tenant's country code wins over the option.
	c := newCall("POST", "/add_message", "", `{"UUID":"u","ToMobileNumber":"0501234567","Message":"x"}`)
	c.Account = &adapters.Account{CountryCode: "972"}
	b, err = decode(t, New(Options{DefaultCountryCode: "44"}), c)
	if err != nil || b.Messages[0].To != "972501234567" {
		t.Fatalf("account: %v %+v", err, b.Messages)
	}
	// A full international number ignores the defaults.
	b, err = decode(t, New(Options{DefaultCountryCode: "44"}), newCall("POST", "/add_message", "", `{"UUID":"u","ToMobileNumber":"972501234567","Message":"x"}`))
	if err != nil || b.Messages[0].To != "972501234567" {
		t.Fatalf("international: %v %+v", err, b.Messages)
	}
}

func TestLimits(t *testing.T) {
	in := New(Options{})
	long := strings.Repeat("א", canonical.MaxTextBytes/2+1) // 2 bytes each
	_, err := decode(t, in, newCall("POST", "/add_message", "", `{"UUID":"u","ToMobileNumber":"972501234567","Message":"`+long+`"}`))
	if err == nil || err.Code != canonical.ErrInvalid || err.Field != "Message" {
		t.Fatalf("long Message: %v", err)
	}
	_, err = decode(t, in, newCall("GET", "/webhook/add_message?UUID=u&ToMobileNumber=972501234567&wapMessage="+strings.Repeat("a", canonical.MaxTextBytes+1), "", ""))
	if err == nil || err.Field != "wapMessage" {
		t.Fatalf("long wapMessage: %v", err)
	}
	ok := strings.Repeat("a", canonical.MaxTextBytes)
	if _, err := decode(t, in, newCall("POST", "/add_message", "", `{"UUID":"u","ToMobileNumber":"972501234567","Message":"`+ok+`"}`)); err != nil {
		t.Fatalf("Message at the limit: %v", err)
	}
}

func TestPercentDecode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"plain text", "plain text", true},
		{"a+b", "a+b", true},
		{"%D7%A9%D7%9C%D7%95%D7%9D", "שלום", true},
		{"%d7%a9", "ש", true},
		{"50% off", "50% off", true},
		{"%", "%", true},
		{"%4", "%4", true},
		{"ends with %4", "ends with %4", true},
		{"%zz%41", "%zzA", true},
		{"%0A", "\n", true},
		{"%25D7", "%D7", true}, // decoded once only
		{"a%20b%2Bc", "a b+c", true},
		// Escapes that decode to invalid UTF-8 in plain text (a space, a non-ASCII letter) are kept.
		{"Discount code 100%AB", "Discount code 100%AB", true},
		{"קוד%AB", "קוד%AB", true},
		// Otherwise the text was encoded in another charset (Windows-1255 שלום).
		{"%F9%EC%E5%ED", "%F9%EC%E5%ED", false},
		{"100%AB", "100%AB", false},
	} {
		if got, ok := percentDecode(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("percentDecode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseLink(t *testing.T) {
	for _, tc := range []struct {
		in    string
		url   string
		local bool
		bad   bool
	}{
		{in: "https://www.dropbox.com/s/x/Logo.jpg?dl=1", url: "https://www.dropbox.com/s/x/Logo.jpg?dl=1"},
		{in: "  http://a.example/b  ", url: "http://a.example/b"},
		{in: "HtTpS://a.example/b", url: "https://a.example/b"},
		{in: "C:/Users/u/Pictures/path", url: "C:/Users/u/Pictures/path", local: true},
		{in: `C:\Users\u\Pictures\path`, url: `C:\Users\u\Pictures\path`, local: true},
		{in: `d:photo.jpg`, url: `d:photo.jpg`, local: true},
		{in: `\\server\share\a.pdf`, url: `\\server\share\a.pdf`, local: true},
		{in: `Pictures/logo.png`, url: `Pictures/logo.png`, local: true},
		{in: "/home/u/a.png", url: "/home/u/a.png", local: true},
		{in: "file:///C:/a.jpg", bad: true},
		{in: "ftp://a.example/a.jpg", bad: true},
		{in: "javascript:alert(1)", bad: true},
		{in: "JAVASCRIPT:alert(1)", bad: true},
		{in: "data:image/png;base64,AAAA", bad: true},
		{in: "https://", bad: true},
		{in: "https:/a.example/b", bad: true},
		{in: "http://?x", bad: true},
		{in: "C:/a\x00b", bad: true},
		{in: "C:/a\xffb", bad: true},
	} {
		md, err := parseLink(tc.in)
		if tc.bad {
			if err == nil || err.Field != "DownloadLink" {
				t.Errorf("parseLink(%q) = %+v, %v; want an error", tc.in, md, err)
			}
			continue
		}
		if err != nil || md.URL != tc.url || md.Local != tc.local {
			t.Errorf("parseLink(%q) = %+v, %v; want %q local=%v", tc.in, md, err, tc.url, tc.local)
		}
	}
}

func TestErrorShape(t *testing.T) {
	in := New(Options{})
	for _, tc := range []struct {
		call   *adapters.Call
		err    *canonical.Error
		status int
		body   string
	}{
		{newCall("POST", "/add_message", "", ""), &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "unknown UUID"}, 401, `{"success":false,"error":"unknown UUID"}`},
		{newCall("POST", "/add_message", "", ""), &canonical.Error{Code: canonical.ErrUnauthorized}, 401, `{"success":false,"error":"unknown UUID"}`},
		{newCall("POST", "/add_message", "", ""), canonical.Invalid("text", "is required"), 400, `{"success":false,"error":"Message: is required"}`},
		{newCall("GET", "/webhook/add_message", "", ""), canonical.Invalid("text", "is required"), 400, `{"success":false,"error":"wapMessage: is required"}`},
		{newCall("GET", "/webhook/add_message", "", ""), canonical.Invalid("to", "bad \"x\"\n"), 400, `{"success":false,"error":"ToMobileNumber: bad \"x\"\n"}`},
		{&adapters.Call{}, &canonical.Error{Code: canonical.ErrNotFound, Reason: "no such path"}, 404, `{"success":false,"error":"no such path"}`},
		{nil, &canonical.Error{Code: canonical.ErrMethod}, 405, `{"success":false,"error":"method not allowed"}`},
		{nil, &canonical.Error{Code: canonical.ErrConflict, Reason: "dup"}, 409, `{"success":false,"error":"dup"}`},
		{nil, &canonical.Error{Code: canonical.ErrTooLarge, Reason: "body over 1 MiB"}, 413, `{"success":false,"error":"body over 1 MiB"}`},
		{nil, &canonical.Error{Code: canonical.ErrTooMany}, 429, `{"success":false,"error":"too many requests: try again later"}`},
		{nil, &canonical.Error{Code: canonical.ErrUnavailable, Reason: "queue full"}, 503, `{"success":false,"error":"queue full"}`},
		{nil, &canonical.Error{Code: canonical.ErrInternal, Reason: "bug \xff"}, 500, `{"success":false,"error":"bug \ufffd"}`},
	} {
		status, body := in.Error(tc.call, tc.err, nil)
		if status != tc.status || !adaptertest.JSONEqual(body, []byte(tc.body)) {
			t.Errorf("Error(%v) = %d %s, want %d %s", tc.err, status, body, tc.status, tc.body)
		}
	}
}

func TestAcceptedID(t *testing.T) {
	in := New(Options{})
	b := &adapters.Batch{Messages: []*canonical.Message{{ID: "0190a5b2-0000-7000-8000-000000000001", Seq: 7}}}
	status, body := in.Accepted(newCall("GET", "/webhook/add_message", "", ""), b, []byte("prefix:"))
	if status != 200 || string(body) != `prefix:{"success":true,"id":"0190a5b2-0000-7000-8000-000000000001"}` {
		t.Fatalf("Accepted = %d %s", status, body)
	}
	b.Messages[0].ID = ""
	if _, body := in.Accepted(nil, b, nil); string(body) != `{"success":true,"id":"7"}` {
		t.Fatalf("Accepted without ID = %s", body)
	}
}
