package loadgen

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/registry"
)

// shape is one vendor request with two holes, the recipient and the text:
// body = pre + to + mid + text + post. Recipients and texts are ASCII digits
// and letters, so they need no JSON escaping; everything else is escaped once.
type shape struct {
	name    string
	uri     string
	headers [][2]string
	pre     []byte
	mid     []byte
	post    []byte
}

func (s *shape) build(req *fasthttp.Request, to, text []byte) {
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(s.uri)
	req.Header.SetContentType("application/json")
	for _, h := range s.headers {
		req.Header.Set(h[0], h[1])
	}
	req.AppendBody(s.pre)
	req.AppendBody(to)
	req.AppendBody(s.mid)
	req.AppendBody(text)
	req.AppendBody(s.post)
}

// jsonStr returns s as a JSON string literal.
func jsonStr(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// newShapes returns the request shapes for dialect; mix gives one of every dialect.
// fbToken is the FlowBot bearer token (only used for flowbot and mix).
func newShapes(dialect, base string, c Credentials, fbToken string) []*shape {
	all := shapes(base, c, fbToken)
	var names []string
	if dialect == "mix" {
		names = Dialects[:len(Dialects)-1]
	} else {
		names = []string{dialect}
	}
	out := make([]*shape, 0, len(names))
	for _, n := range names {
		s := all[n]
		s.name = n
		if s.post == nil {
			s.post = []byte(`"}`)
		}
		out = append(out, s)
	}
	return out
}

// shapes is the load generator's request of each ingress dialect it can load.
func shapes(base string, c Credentials, fbToken string) map[string]*shape {
	base = strings.TrimRight(base, "/")
	return map[string]*shape{
		"messageflow": {
			uri: base + "/add_message",
			pre: []byte(`{"UUID":` + jsonStr(c.MFUUID) + `,"ToMobileNumber":"`),
			mid: []byte(`","Message":"`),
		},
		"multiwhats": {
			uri:  base + "/api/v1/basic/whatsapp/send-dynamic?apikey=" + url.QueryEscape(c.MWAPIKey),
			pre:  []byte(`{"from":` + jsonStr(c.MWFrom) + `,"to":"`),
			mid:  []byte(`","message":"`),
			post: []byte(`","type":"text"}`),
		},
		"wavy": {
			uri:     base + "/v1/send-sms",
			headers: [][2]string{{"username", c.WavyUser}, {"authenticationtoken", c.WavyToken}},
			pre:     []byte(`{"destination":"`),
			mid:     []byte(`","messageText":"`),
		},
		"flowbot": {
			uri:     base + "/api/webhook/outbound",
			headers: [][2]string{{"Authorization", "Bearer " + fbToken}},
			pre:     []byte(`{"phone":"+`),
			mid:     []byte(`","flowId":` + jsonStr(c.FBFlow) + `,"data":{"customerName":"Bench","text":"`),
			post:    []byte(`"}}`),
		},
		"native": {
			uri:     base + "/gateway/v1/messages",
			headers: [][2]string{{"Authorization", "Bearer " + c.NativeToken}},
			pre:     []byte(`{"to":"`),
			mid:     []byte(`","text":"`),
		},
	}
}

// loadable lists the ingress dialects of the vendor table that shapes has a request for,
// in the table's order.
func loadable() []string {
	known := shapes("", Credentials{}, "")
	var out []string
	for _, v := range registry.Vendors() {
		if _, ok := known[v.Name]; ok && v.Ingress {
			out = append(out, v.Name)
		}
	}
	return out
}

// fetchFlowbotToken exchanges the client id and API key for a bearer token,
// once per run: the vendor limits api-token to 10 requests per 15 minutes.
func fetchFlowbotToken(hc *fasthttp.HostClient, base string, c Credentials, ttl, timeout time.Duration) (string, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	body, _ := json.Marshal(map[string]any{"clientId": c.FBClient, "apiKey": c.FBKey, "ttlSec": int(ttl.Seconds())})
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(strings.TrimRight(base, "/") + "/api/auth/api-token")
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(body)
	if err := hc.DoTimeout(req, resp, timeout); err != nil {
		return "", fmt.Errorf("cannot obtain flowbot token: %w", err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return "", fmt.Errorf("cannot obtain flowbot token: status %d: %.200s", resp.StatusCode(), resp.Body())
	}
	var ans struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(resp.Body(), &ans); err != nil {
		return "", fmt.Errorf("cannot parse flowbot token answer: %w", err)
	}
	if ans.AccessToken == "" {
		return "", fmt.Errorf("flowbot token answer has no accessToken: %.200s", resp.Body())
	}
	return ans.AccessToken, nil
}
