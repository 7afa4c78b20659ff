package multiwhats

import (
	"bytes"
	"encoding/json"
	"os"
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

func TestGoldenReplyActual(t *testing.T) {
	adaptertest.RunGolden(t, New(Options{Reply: ReplyActual}), "testdata/golden_actual")
}

func TestErrorClasses(t *testing.T) {
	adaptertest.CheckErrors(t, New(Options{}))
}

// TestErrorBodies pins the Laravel answers for the classes the gateway raises itself.
func TestErrorBodies(t *testing.T) {
	in := New(Options{})
	cases := []struct {
		err    *canonical.Error
		method string
		path   string
		status int
		body   string
	}{
		{canonical.Errorf(canonical.ErrUnauthorized, "unknown apikey"), "POST", sendPath, 401, `{"message":"Unauthenticated."}`},
		{canonical.Errorf(canonical.ErrForbidden, "tenant disabled"), "POST", sendPath, 403, `{"message":"This action is unauthorized."}`},
		{canonical.Errorf(canonical.ErrNotFound, "no route"), "POST", "/api/v1/basic/whatsapp/send", 404,
			`{"message":"The route api/v1/basic/whatsapp/send could not be found."}`},
		{canonical.Errorf(canonical.ErrMethod, "method"), "GET", sendPath, 405,
			`{"message":"The GET method is not supported for route api/v1/basic/whatsapp/send-dynamic. Supported methods: POST."}`},
		{canonical.Errorf(canonical.ErrConflict, "already queued"), "POST", sendPath, 409, `{"message":"already queued"}`},
		{canonical.Errorf(canonical.ErrTooLarge, "body"), "POST", sendPath, 413, `{"message":"The POST data is too large."}`},
		{canonical.Errorf(canonical.ErrTooMany, "slow down"), "POST", sendPath, 429, `{"message":"Too Many Attempts."}`},
		{canonical.Errorf(canonical.ErrUnavailable, "queue full"), "POST", sendPath, 503, `{"message":"Service Unavailable"}`},
		{canonical.Errorf(canonical.ErrInternal, "disk"), "POST", sendPath, 500, `{"message":"Server Error"}`},
		// Validation errors raised outside this package name canonical fields: renamed and worded.
		{canonical.Invalid("text", "is longer than %d bytes", 10), "POST", sendPath, 422,
			`{"message":"The message field is longer than 10 bytes.","errors":{"message":["The message field is longer than 10 bytes."]}}`},
		{canonical.Invalid("media.url", "must be an http or https URL"), "POST", sendPath, 422,
			`{"message":"The file url field must be an http or https URL.","errors":{"file_url":["The file url field must be an http or https URL."]}}`},
		{canonical.Invalid("", "duplicate \"request\""), "POST", sendPath, 422,
			`{"message":"The body field duplicate \"request\".","errors":{"body":["The body field duplicate \"request\"."]}}`},
	}
	for _, c := range cases {
		req := &fasthttp.Request{}
		req.Header.SetMethod(c.method)
		req.SetRequestURI(c.path)
		status, body := in.Error(&adapters.Call{Req: req}, c.err, nil)
		if status != c.status || string(body) != c.body {
			t.Errorf("%v: got %d %s, want %d %s", c.err, status, body, c.status, c.body)
		}
	}
}

func sendCall(uri, body string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI(uri)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	return &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
}

func TestCredential(t *testing.T) {
	in := New(Options{})
	cred, ok := in.Credential(sendCall(sendPath+"?apikey=k%2B1", `{}`))
	if !ok || cred != (adapters.Credential{Scheme: adapters.SchemeAPIKey, Secret: "k+1"}) {
		t.Errorf("query apikey: %+v %v", cred, ok)
	}
	if _, ok := in.Credential(sendCall(sendPath, `{"apikey":"k"}`)); ok {
		t.Error("an apikey in the body cannot be read without decoding")
	}
	if _, ok := in.Credential(sendCall(sendPath+"?apikey=", `{}`)); ok {
		t.Error("an empty apikey is no credential")
	}
}

// TestInvalidUTF8 checks that a body PHP's json_decode would refuse is refused as a whole.
func TestInvalidUTF8(t *testing.T) {
	in := New(Options{})
	body := `{"from":"908503080335","to":"905374937766","message":"caf` + "\xe9" + `","apikey":"k"}`
	var b adapters.Batch
	err := in.Decode(sendCall(sendPath+"?apikey=k", body), &b)
	if e, ok := err.(*canonical.Error); !ok || e.Code != canonical.ErrInvalid || e.Field != "body" {
		t.Fatalf("got %v, want the body refused", err)
	}
	b.Reset()
	err = in.Decode(sendCall(sendPath, body), &b)
	if e, ok := err.(*canonical.Error); !ok || e.Code != canonical.ErrUnauthorized {
		t.Fatalf("got %v, want 401: no apikey can be read from an unreadable body", err)
	}
}

// TestDecodeKeepsNoRequestBytes checks that the message owns its strings: the server reuses the
// request's buffer for the next request.
func TestDecodeKeepsNoRequestBytes(t *testing.T) {
	in := New(Options{})
	c := sendCall(sendPath+"?apikey=k", `{"from":"908503080335","to":"905374937766","message":"Merhaba","type":"button","buttons":["Evet","Hayır"],"file_url":"https://x.example/a.png"}`)
	var b adapters.Batch
	if err := in.Decode(c, &b); err != nil {
		t.Fatal(err)
	}
	body := c.Req.Body()
	for i := range body {
		body[i] = 'X'
	}
	c.Req.SetRequestURI("/XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX?apikey=X")
	m := b.Messages[0]
	if m.Text != "Merhaba" || m.Buttons[1] != "Hayır" || m.Media[0].URL != "https://x.example/a.png" || b.Cred.Secret != "k" {
		t.Fatalf("decoded message changed with the request buffer: %+v %+v", m, b.Cred)
	}
}

// TestAcceptedUsesSeq checks the ids of the queue record and the time stamps in UTC.
func TestAcceptedUsesSeq(t *testing.T) {
	in := New(Options{})
	var b adapters.Batch
	c := sendCall(sendPath+"?apikey=k", `{"from":"908503080335","to":"905374937766","message":"a\"b\\c\u0001\u2028"}`)
	if err := in.Decode(c, &b); err != nil {
		t.Fatal(err)
	}
	m := b.Messages[0]
	m.Seq = 18446744073709551615
	m.CreatedAt = adaptertest.Now.Add(3 * 3600e9).In(mustZone(t, "Europe/Istanbul"))
	status, body := in.Accepted(c, &b, []byte("prefix:"))
	s := string(body)
	for _, want := range []string{`prefix:{"user_id":264,`, `"message":"a\"b\\c\u0001\u2028",`,
		`"id":18446744073709551615,"targets":[{"id":18446744073709551615,`, `"queue_id":18446744073709551615,`,
		`"created_at":"2023-04-26 14:11:58"`} {
		if !strings.Contains(s, want) {
			t.Errorf("answer lacks %s:\n%s", want, s)
		}
	}
	if status != 200 || !json.Valid(body[len("prefix:"):]) {
		t.Errorf("status %d or invalid JSON: %s", status, body)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skip(err)
	}
	return loc
}

// TestDocumentAnswerBytes holds the answer to the document's own request to the document's
// answer byte for byte (spacing aside): same fields, same order, same values. The document's
// target id (53687) differs from its queue id (3664); Switchboard gives both the message's Seq.
func TestDocumentAnswerBytes(t *testing.T) {
	req, err := os.ReadFile("testdata/doc_request.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/doc_response.json")
	if err != nil {
		t.Fatal(err)
	}
	want = bytes.Replace(want, []byte(`"id": 53687`), []byte(`"id": 3664`), 1)
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	in := New(Options{})
	c := sendCall(sendPath+"?apikey=k", string(req))
	var b adapters.Batch
	if err := in.Decode(c, &b); err != nil {
		t.Fatal(err)
	}
	b.Messages[0].Seq, b.Messages[0].CreatedAt = 3664, adaptertest.Now
	status, got := in.Accepted(c, &b, nil)
	if status != 200 || !bytes.Equal(got, compact.Bytes()) {
		t.Errorf("answer differs from the document's:\n got %s\nwant %s", got, compact.Bytes())
	}
}
