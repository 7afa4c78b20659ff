package flowbot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

var testSecret = []byte("test-jwt-secret")

// testMaxTTL is the cap of the golden cases (config's default).
const testMaxTTL = 24 * time.Hour

// testClients are the client credentials of the golden cases (the document's placeholders
// and the demo tenant's), all the test account.
var testClients = []Client{
	{ID: "aiflow_acme", Account: adaptertest.TestAccount, APIKey: "sk_demo"},
	{ID: "aiflow_....", Account: adaptertest.TestAccount, APIKey: "sk_xxxxxxxxxxxxxxxxx"},
	{ID: "YOUR_CLIENT_ID", Account: adaptertest.TestAccount, APIKey: "YOUR_API_KEY"},
}

func newTest() *Inbound {
	return New(Options{JWTSecret: testSecret, MaxTokenTTL: testMaxTTL, Clients: testClients})
}

// serve answers a non-send call as the gateway does, errors in the dialect's shape.
func serve(in *Inbound, c *adapters.Call) (int, []byte) {
	status, body, err := in.Serve(c, adaptertest.TestEnv, nil)
	if err != nil {
		return in.Error(c, canonical.AsError(err), nil)
	}
	return status, body
}

func TestGolden(t *testing.T) {
	adaptertest.RunGolden(t, newTest(), "testdata/golden")
}

func TestErrors(t *testing.T) {
	adaptertest.CheckErrors(t, newTest())
}

func call(op adapters.Op, method, uri, body string, headers ...string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBodyString(body)
	return &adapters.Call{Op: op, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
}

func TestGoldenTokenVerifies(t *testing.T) {
	// The token the golden api-token case answers must verify, and name the account.
	in := newTest()
	c := call(adapters.OpToken, "POST", "/api/auth/api-token", `{"clientId":"aiflow_acme","apiKey":"sk_demo","ttlSec":60}`)
	status, body := serve(in, c)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	tok := between(string(body), `"accessToken":"`, `"`)
	id, err := VerifyToken(testSecret, tok, adaptertest.Now.Add(59*time.Second))
	if err != nil || id != "aiflow_acme" {
		t.Fatalf("VerifyToken = %q, %v", id, err)
	}
	if _, err := VerifyToken(testSecret, tok, adaptertest.Now.Add(61*time.Second)); err == nil {
		t.Fatal("token still valid after its ttl")
	}
	// Without a secret the token endpoint cannot answer.
	status, body = serve(New(Options{Clients: testClients}), c)
	if status != 500 || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("no secret: %d %s", status, body)
	}
}

func between(s, from, to string) string {
	_, s, _ = strings.Cut(s, from)
	s, _, _ = strings.Cut(s, to)
	return s
}

func TestVerifyToken(t *testing.T) {
	now := adaptertest.Now
	good, err := IssueToken(testSecret, "aiflow_acme", "acme", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := VerifyToken(testSecret, good, now); err != nil || id != "aiflow_acme" {
		t.Fatalf("good token: %q %v", id, err)
	}
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(good, &c); err != nil || c.Tenant != "acme" || c.Subject != "aiflow_acme" ||
		!c.IssuedAt.Time.Equal(now) || !c.ExpiresAt.Time.Equal(now.Add(time.Hour)) {
		t.Fatalf("claims %+v, %v", c, err)
	}
	sign := func(m jwt.SigningMethod, key any, cl jwt.Claims) string {
		s, err := jwt.NewWithClaims(m, cl).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := jwt.RegisteredClaims{Subject: "aiflow_acme", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}
	bad := map[string]string{
		"expired":        must(IssueToken(testSecret, "aiflow_acme", "acme", time.Hour, now.Add(-2*time.Hour))),
		"wrong secret":   must(IssueToken([]byte("other"), "aiflow_acme", "acme", time.Hour, now)),
		"alg none":       sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"HS512":          sign(jwt.SigningMethodHS512, testSecret, valid),
		"no exp":         sign(jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: "aiflow_acme"}),
		"no subject":     sign(jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{ExpiresAt: valid.ExpiresAt}),
		"not yet valid":  sign(jwt.SigningMethodHS256, testSecret, jwt.RegisteredClaims{Subject: "x", ExpiresAt: valid.ExpiresAt, NotBefore: jwt.NewNumericDate(now.Add(time.Minute))}),
		"garbage":        "not.a.token",
		"empty":          "",
		"tampered":       good[:len(good)-2] + "AA",
		"payload change": strings.Replace(good, strings.Split(good, ".")[1], strings.Split(must(IssueToken(testSecret, "other", "x", time.Hour, now)), ".")[1], 1),
	}
	// alg none, written by hand as an attacker would.
	parts := strings.Split(good, ".")
	bad["alg none by hand"] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	for name, tok := range bad {
		id, err := VerifyToken(testSecret, tok, now)
		if err == nil {
			t.Errorf("%s: accepted (id %q)", name, id)
			continue
		}
		if e, ok := err.(*canonical.Error); !ok || e.Code != canonical.ErrUnauthorized {
			t.Errorf("%s: error %T %v is not ErrUnauthorized", name, err, err)
		}
	}
	if _, err := VerifyToken(nil, good, now); err == nil {
		t.Error("empty secret verified a token")
	}
	if _, err := IssueToken(nil, "a", "b", time.Hour, now); err == nil {
		t.Error("issued a token with an empty secret")
	}
	if _, err := IssueToken(testSecret, "a", "b", 0, now); err == nil {
		t.Error("issued a token with no lifetime")
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestCheckSignature(t *testing.T) {
	// The document's example: openssl dgst -sha256 -hmac "YOUR_HMAC_SECRET" of the body.
	body := []byte(`{"phone":"+972501234567","name":"John"}`)
	secret := []byte("YOUR_HMAC_SECRET")
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	for _, s := range []string{sig, strings.ToUpper(sig), "sha256=" + sig, "SHA256=" + strings.ToUpper(sig), " " + sig + " "} {
		if !CheckSignature(body, s, secret) {
			t.Errorf("%q rejected", s)
		}
	}
	flipped := []byte(sig)
	flipped[10] ^= 1
	for name, s := range map[string]string{
		"flipped": string(flipped), "short": sig[:62], "long": sig + "00", "empty": "", "prefix only": "sha256=",
		"not hex": "zz" + sig[2:], "other prefix": "sha1=" + sig,
	} {
		if CheckSignature(body, s, secret) {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
	if CheckSignature(body, sig, []byte("other")) || CheckSignature(body, sig, nil) {
		t.Error("wrong or empty secret accepted")
	}
	if CheckSignature(append(body, ' '), sig, secret) {
		t.Error("changed body accepted")
	}
}

func TestCredential(t *testing.T) {
	in := newTest()
	for _, tc := range []struct {
		op      adapters.Op
		headers []string
		want    adapters.Credential
		ok      bool
	}{
		{adapters.OpOutbound, []string{"Authorization", "Bearer abc.def"}, adapters.Credential{Scheme: adapters.SchemeBearer, Secret: "abc.def"}, true},
		{adapters.OpOutbound, []string{"Authorization", "bearer   abc  "}, adapters.Credential{Scheme: adapters.SchemeBearer, Secret: "abc"}, true},
		{adapters.OpOutbound, []string{"Authorization", "Bearer "}, adapters.Credential{}, false},
		{adapters.OpOutbound, []string{"Authorization", "Basic abc"}, adapters.Credential{}, false},
		{adapters.OpOutbound, []string{"X-Signature-256", "abcd"}, adapters.Credential{}, false},
		{adapters.OpBulk, []string{"Authorization", "Bearer t"}, adapters.Credential{Scheme: adapters.SchemeBearer, Secret: "t"}, true},
		{adapters.OpCheckSent, []string{"Authorization", "Bearer t"}, adapters.Credential{Scheme: adapters.SchemeBearer, Secret: "t"}, true},
		{adapters.OpLead, []string{"X-Signature-256", "sha256=ab12"}, adapters.Credential{Scheme: adapters.SchemeHMAC, Secret: "ab12"}, true},
		{adapters.OpLead, []string{"X-Signature-256", "sha256="}, adapters.Credential{}, false},
		{adapters.OpLead, []string{"X-Signature-256", "ab12", "Authorization", "Bearer t"}, adapters.Credential{Scheme: adapters.SchemeBearer, Secret: "t"}, true},
		{adapters.OpToken, []string{"Authorization", "Bearer t"}, adapters.Credential{}, false},
	} {
		got, ok := in.Credential(call(tc.op, "POST", "/", "", tc.headers...))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s %q: got %+v %v, want %+v %v", tc.op, tc.headers, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTokenRequest(t *testing.T) {
	id, key, ttl, err := ParseTokenRequest(call(adapters.OpToken, "POST", "/api/auth/api-token", `{"clientId":"c","apiKey":"k"}`))
	if err != nil || id != "c" || key != "k" || ttl != DefaultTokenTTL {
		t.Fatalf("got %q %q %v %v", id, key, ttl, err)
	}
	_, _, ttl, err = ParseTokenRequest(call(adapters.OpToken, "POST", "/", `{"clientId":"c","apiKey":"k","ttlSec":99999999999999999}`))
	if err != nil || ttl <= 0 {
		t.Fatalf("huge ttl: %v %v", ttl, err)
	}
	// The credential is found even when ttlSec is wrong, so the gateway can count the attempt.
	id, key, _, err = ParseTokenRequest(call(adapters.OpToken, "POST", "/", `{"ttlSec":0,"clientId":"c","apiKey":"k"}`))
	if err == nil || id != "c" || key != "k" {
		t.Fatalf("bad ttl: %q %q %v", id, key, err)
	}
}

func TestCheckSentAnswer(t *testing.T) {
	c := call(adapters.OpCheckSent, "GET", "/api/templates/check-sent?phones=0501234567,%2B972521234567&phones[]=972531234567&templateName=t&hours=12", "")
	phones, name, hours, err := ParseCheckSent(c)
	if err != nil || name != "t" || hours != 12 || strings.Join(phones, " ") != "972501234567 972521234567 972531234567" {
		t.Fatalf("got %q %q %d %v", phones, name, hours, err)
	}
	at := time.Date(2023, 4, 26, 14, 11, 58, 123e6, time.FixedZone("IDT", 3*3600))
	got := string(AppendCheckSentAnswer(nil, phones, map[string]time.Time{"972521234567": at}))
	want := `{"success":true,"results":[{"phone":"+972501234567","sent":false},` +
		`{"phone":"+972521234567","sent":true,"lastSentAt":"2023-04-26T11:11:58.123Z"},{"phone":"+972531234567","sent":false}]}`
	if got != want {
		t.Fatalf("answer\n got %s\nwant %s", got, want)
	}
}

func TestAppendTokenAnswer(t *testing.T) {
	got := string(AppendTokenAnswer(nil, "eyJ.x.y", time.Hour, &adapters.Account{ClientID: "aiflow_acme", ClientNumber: "user-uuid"}))
	want := `{"success":true,"tokenType":"Bearer","accessToken":"eyJ.x.y","expiresInSec":3600,"clientNumber":"user-uuid","clientId":"aiflow_acme"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestNoEmptyCollections(t *testing.T) {
	// The queue codec turns empty maps and slices into nil: the decoder must not make them.
	in := newTest()
	for _, tc := range []struct {
		op        adapters.Op
		uri, body string
	}{
		{adapters.OpOutbound, "/api/webhook/outbound", `{"phone":"+972501234567","flowId":"f","data":{}}`},
		{adapters.OpOutbound, "/api/webhook/outbound", `{"phone":"+972501234567","flowId":"f","templateName":"t","data":{"templateParams":[]}}`},
		{adapters.OpBulk, "/api/templates/bulk-send", `{"templateId":"t","templateParams":[],"phones":["+972501234567"]}`},
	} {
		var b adapters.Batch
		if err := in.Decode(call(tc.op, "POST", tc.uri, tc.body, "Authorization", "Bearer t"), &b); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		m := b.Messages[0]
		if (m.Vars != nil && len(m.Vars) == 0) || (m.Extra != nil && len(m.Extra) == 0) ||
			(m.Template != nil && m.Template.Params != nil && len(m.Template.Params) == 0) {
			t.Errorf("%s: empty non-nil collection in %+v", tc.body, m)
		}
	}
}

func TestScanner(t *testing.T) {
	raw := []byte(` { "a" : "x\"}" , "b":[1,{"c":"]"}], "d" : {"e":[]} ,"f":-1.5e3,"g":true,"h":null } `)
	var got []string
	body := trimValue(raw)
	for it := members(body); ; {
		k, v, ok := it.nextMember()
		if !ok {
			break
		}
		got = append(got, string(keyName(k))+"="+string(v))
	}
	want := `a="x\"}"|b=[1,{"c":"]"}]|d={"e":[]}|f=-1.5e3|g=true|h=null`
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	if s := string(appendCompact(nil, []byte(`{ "a b" : [ 1 , "x  y" ] }`))); s != `{"a b":[1,"x  y"]}` {
		t.Fatalf("compact: %s", s)
	}
	if s := string(adapters.AppendJSONString(nil, "a\"\\\n\x01\xffש")); s != `"a\"\\\n\u0001\ufffdש"` {
		t.Fatalf("appendString: %s", s)
	}
}
