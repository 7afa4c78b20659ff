package wavy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

var fuzzHeaders = map[string]string{"username": "acme", "authenticationtoken": "t", "content-type": "application/json"}

// goldenInputs returns the bodies (POST) or query strings (GET) of the golden cases for op.
func goldenInputs(t testing.TB, op adapters.Op, method string) []string {
	files, _ := filepath.Glob("testdata/golden/*.json")
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c adaptertest.Case
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Op != op || c.Method != method {
			continue
		}
		if method == "GET" {
			_, q, _ := strings.Cut(c.URI, "?")
			out = append(out, q)
		} else {
			out = append(out, c.Body)
		}
	}
	return out
}

func FuzzDecodeSendJSON(f *testing.F) {
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "POST", "/v1/send-sms", fuzzHeaders,
		goldenInputs(f, adapters.OpSend, "POST")...)
}

func FuzzDecodeSendQuery(f *testing.F) {
	for _, q := range goldenInputs(f, adapters.OpSend, "GET") {
		f.Add("", q)
	}
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "GET", "/v1/send-sms", fuzzHeaders)
}

func FuzzDecodeBulk(f *testing.F) {
	adaptertest.Fuzz(f, New(Options{}), adapters.OpBulk, "POST", "/v1/send-bulk-sms", fuzzHeaders,
		goldenInputs(f, adapters.OpBulk, "POST")...)
}

func FuzzDecodeStatusSearch(f *testing.F) {
	f.Add(`{"ids":["9cb87d36-79af-11e5-89f3-1b0591cdf807"],"correlationIds":["myId"]}`, "")
	f.Add("", "id=a,b&correlationId=c")
	f.Fuzz(func(t *testing.T, body, query string) {
		for _, method := range []string{"POST", "GET"} {
			req := &fasthttp.Request{}
			req.Header.SetMethod(method)
			req.SetRequestURI("/v1/sms/status/search?" + query)
			req.SetBodyString(body)
			ids, refs, err := ParseStatusSearch(&adapters.Call{Op: adapters.OpStatusQuery, Req: req})
			if err != nil {
				if _, ok := err.(*canonical.Error); !ok {
					t.Fatalf("error is not a *canonical.Error: %T %v", err, err)
				}
				continue
			}
			if n := len(ids) + len(refs); n == 0 || n > maxStatusIDs {
				t.Fatalf("%d ids accepted", n)
			}
			for _, s := range append(ids, refs...) {
				if s == "" {
					t.Fatal("empty id accepted")
				}
			}
		}
	})
}

// FuzzClassify: Classify and ClassifyBulk decide every answer.
func FuzzClassify(f *testing.F) {
	out, err := NewOutbound(adapters.UpstreamConfig{URL: "https://api-messaging.wavy.global",
		Credentials: map[string]string{"username": "u", "token": "t"}})
	if err != nil {
		f.Fatal(err)
	}
	adaptertest.FuzzClassify(f, out, `[{"id":"9cb87d36-79af-11e5-89f3-1b0591cdf807","correlationId":"x"}]`,
		`{"id":"b","messages":[{"id":"1"},{"id":"2"}]}`, `{"errorCode":400,"errorMessage":"bad"}`)
}

func FuzzParseReceipts(f *testing.F) {
	f.Add([]byte(`{"id":"v-1","correlationId":"our-1","sentStatusCode":2,"deliveredStatusCode":4,"deliveredAt":1}`))
	f.Add([]byte(`[{"id":"v-1","sentStatusCode":"101"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := ParseReceipts(body, receiptNow)
		if err == nil && len(rs) > adapters.MaxReceipts {
			t.Fatalf("%d receipts without an error", len(rs))
		}
		if err == nil && len(rs) == 0 {
			// Only a body of MOs, which the reply parser reads, may give no receipt.
			var probes []moProbe
			if err := adapters.UnmarshalOneOrMany(body, &probes); err != nil {
				t.Fatalf("a body the receipt parser read does not parse: %v", err)
			}
			for _, p := range probes {
				if !p.isMO() {
					t.Fatalf("a callback gave no receipt and no error: %q", body)
				}
			}
		}
		for _, r := range rs {
			if r.ID == "" && r.UpstreamID == "" || r.Change.Status == "" {
				t.Fatalf("receipt without an id or status: %+v", r)
			}
		}
	})
}
