package whatsappcloud

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

const fuzzPath = "/v21.0/106540352242922/messages"

var fuzzHeaders = map[string]string{"Authorization": "Bearer EAAJB-meta-demo-token", "Content-Type": "application/json"}

// goldenBodies returns the request bodies of the golden cases.
func goldenBodies(t testing.TB) []string {
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
		out = append(out, c.Body)
	}
	return out
}

func FuzzDecodeSend(f *testing.F) {
	adaptertest.Fuzz(f, New(), adapters.OpSend, "POST", fuzzPath, fuzzHeaders, goldenBodies(f)...)
}

// FuzzEncodeDecode holds the Outbound and the Inbound (the simulator) to each other: a valid
// canonical message the Outbound encodes is a request the Inbound accepts.
func FuzzEncodeDecode(f *testing.F) {
	f.Add(uint8(0), "Olá João!\n📦", "✅ Sim", "https://cdn.example.com/a.jpg", "order_update")
	f.Add(uint8(2), "שלום", "כן", "", "")
	f.Add(uint8(3), "Menü", "Falar com um atendente humano", "https://cdn.example.com/menu.pdf", "")
	f.Add(uint8(4), "", "a\n\tb     c", "", "aviso")
	o := newOutbound(f, "http://127.0.0.1:9101", testCreds)
	in := New()
	f.Fuzz(func(t *testing.T, kind uint8, text, label, link, name string) {
		m := &canonical.Message{To: "972501234567", Text: text}
		switch kind % 5 {
		case 1:
			m.Kind = canonical.KindMedia
		case 2:
			m.Kind, m.Buttons = canonical.KindButtons, []string{label, label + "2"}
		case 3:
			m.Kind, m.Options = canonical.KindList, []string{label, "x", label + label}
		case 4:
			m.Kind, m.Template = canonical.KindTemplate, &canonical.Template{Name: name, Language: "pt_BR", Params: []string{label, text}}
		}
		if link != "" {
			m.Media = []canonical.Media{{URL: link}}
		}
		m.InferKind()
		if m.Validate() != nil {
			return
		}
		var req fasthttp.Request
		if err := o.Encode(m, &req); err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("encode error is not a *canonical.Error: %T %v", err, err)
			}
			return
		}
		var v any
		if err := json.Unmarshal(req.Body(), &v); err != nil {
			t.Fatalf("encoded body is not JSON: %v\n%s", err, req.Body())
		}
		var b adapters.Batch
		call := &adapters.Call{Op: adapters.OpSend, Req: &req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
		if err := in.Decode(call, &b); err != nil {
			t.Fatalf("the simulator refuses what the upstream adapter sends: %v\nmessage %+v\nbody %s", err, m, req.Body())
		}
	})
}

func FuzzParseStatusWebhook(f *testing.F) {
	f.Add([]byte(metaWebhook))
	f.Add(AppendStatusWebhook(nil, "1", metaStatuses))
	f.Fuzz(func(t *testing.T, body []byte) {
		statuses, err := ParseStatusWebhook(body)
		if err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("error is not a *canonical.Error: %T %v", err, err)
			}
			return
		}
		out := AppendStatusWebhook(nil, "106540352242922", statuses)
		back, err := ParseStatusWebhook(out)
		if err != nil || len(back) != len(statuses) {
			t.Fatalf("re-rendered webhook: %v, %d statuses of %d\n%s", err, len(back), len(statuses), out)
		}
		for i := range back {
			if back[i].MessageID != statuses[i].MessageID || back[i].Status != statuses[i].Status || !back[i].At.Equal(statuses[i].At) {
				t.Fatalf("status %d: %+v, want %+v", i, back[i], statuses[i])
			}
		}
	})
}

// FuzzClassify: Classify decides every answer.
func FuzzClassify(f *testing.F) {
	out, err := NewOutbound(adapters.UpstreamConfig{Credentials: map[string]string{"token": "t", "phone_number_id": "1"}})
	if err != nil {
		f.Fatal(err)
	}
	adaptertest.FuzzClassify(f, out,
		`{"messaging_product":"whatsapp","contacts":[{"input":"1","wa_id":"1"}],"messages":[{"id":"wamid.x"}]}`,
		`{"error":{"message":"x","type":"OAuthException","code":130429,"error_data":{"details":"d"},"fbtrace_id":"f"}}`)
}
