package loadgen

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/bench/marker"
)

// vendorServer checks each request against the vendor documents' shape and
// the demo credentials, answering 401/422 on any mismatch.
type vendorServer struct {
	mu     sync.Mutex
	hits   map[string]int
	tokens int
	bad    []string
}

func (v *vendorServer) fail(ctx *fasthttp.RequestCtx, why string) {
	v.mu.Lock()
	v.bad = append(v.bad, string(ctx.Path())+": "+why)
	v.mu.Unlock()
	ctx.SetStatusCode(422)
}

func (v *vendorServer) handle(ctx *fasthttp.RequestCtx) {
	c := DefaultCredentials
	var body map[string]any
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		v.fail(ctx, "body is not JSON: "+err.Error())
		return
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	hdr := func(k string) string { return string(ctx.Request.Header.Peek(k)) }
	var dialect, to, text string
	switch path := string(ctx.Path()); {
	case !ctx.IsPost():
		v.fail(ctx, "method "+string(ctx.Method()))
		return
	case path == "/api/auth/api-token":
		if str("clientId") != c.FBClient || str("apiKey") != c.FBKey || body["ttlSec"] == nil {
			v.fail(ctx, "bad api-token request")
			return
		}
		v.mu.Lock()
		v.tokens++
		v.mu.Unlock()
		ctx.SetBodyString(`{"success":true,"tokenType":"Bearer","accessToken":"jwt-xyz","expiresInSec":3600}`)
		return
	case path == "/add_message":
		dialect, to, text = "messageflow", str("ToMobileNumber"), str("Message")
		if str("UUID") != c.MFUUID {
			v.fail(ctx, "UUID")
			return
		}
	case path == "/api/v1/basic/whatsapp/send-dynamic":
		dialect, to, text = "multiwhats", str("to"), str("message")
		if string(ctx.QueryArgs().Peek("apikey")) != c.MWAPIKey || str("type") != "text" || str("from") == "" {
			v.fail(ctx, "apikey, type or from")
			return
		}
	case path == "/v1/send-sms":
		dialect, to, text = "wavy", str("destination"), str("messageText")
		if hdr("UserName") != c.WavyUser || hdr("AuthenticationToken") != c.WavyToken {
			v.fail(ctx, "wavy headers")
			return
		}
	case path == "/api/webhook/outbound":
		dialect, to = "flowbot", strings.TrimPrefix(str("phone"), "+")
		data, _ := body["data"].(map[string]any)
		text, _ = data["text"].(string)
		if hdr("Authorization") != "Bearer jwt-xyz" || str("flowId") != c.FBFlow || !strings.HasPrefix(str("phone"), "+") {
			v.fail(ctx, "flowbot auth, flowId or phone")
			return
		}
	case path == "/gateway/v1/messages":
		dialect, to, text = "native", str("to"), str("text")
		if hdr("Authorization") != "Bearer "+c.NativeToken {
			v.fail(ctx, "native token")
			return
		}
	default:
		v.fail(ctx, "unknown path")
		return
	}
	if len(to) < 12 || !strings.HasPrefix(text, marker.Prefix) || len(text) != 64 {
		v.fail(ctx, "to "+to+" or text "+text)
		return
	}
	v.mu.Lock()
	v.hits[dialect]++
	v.mu.Unlock()
	ctx.SetBodyString(`{}`)
}

func TestMixSendsEveryVendorShape(t *testing.T) {
	v := &vendorServer{hits: map[string]int{}}
	base := serve(t, v.handle)
	r, err := Run(context.Background(), Options{
		Target: base, Dialect: "mix", Connections: 3, Requests: 100, Duration: 10 * time.Second,
		Size: 64,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.bad) > 0 {
		t.Fatalf("rejected requests: %v", v.bad[:min(len(v.bad), 5)])
	}
	if r.OK != 100 || r.Errors != 0 {
		t.Errorf("ok %d errors %d, want 100 and 0", r.OK, r.Errors)
	}
	for _, d := range []string{"messageflow", "multiwhats", "wavy", "flowbot", "native"} {
		if v.hits[d] != 20 {
			t.Errorf("%s: %d requests, want 20 (mix rotates)", d, v.hits[d])
		}
	}
	if v.tokens != 1 {
		t.Errorf("api-token called %d times, want once per run", v.tokens)
	}
}

func TestFlowbotTokenFailureStopsRun(t *testing.T) {
	base := serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetStatusCode(401)
		ctx.SetBodyString(`{"error":"Invalid client credentials"}`)
	})
	_, err := Run(context.Background(), Options{Target: base, Dialect: "flowbot", Requests: 1, Creds: DefaultCredentials})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("got %v, want a token error with the status", err)
	}
}
