package wavy

import (
	"bytes"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Classify reads the answer to a single send: 2xx (the documented array or the live
// object) is Sent with the vendor's id; 408, 429 and 5xx are Retry (with Retry-After), and so
// are 401, 403, 404, 405 and 407, the upstream's fault (adapters.UpstreamFault); other 4xx
// (400: the vendor's validation errors) are Permanent with its errorCode and errorMessage.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	if r, ok := classifyFailure(resp); ok {
		return r
	}
	if isLong(m) { // sent in parts (encodeParts): the first part's id is the message's
		return o.ClassifyBulk([]*canonical.Message{m}, resp)[0]
	}
	var one sendAnswer
	body := bytes.TrimSpace(resp.Body())
	if len(body) > 0 && body[0] == '[' {
		var arr []sendAnswer
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			one = arr[0]
		}
	} else {
		_ = json.Unmarshal(body, &one)
	}
	return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: one.ID}
}

// ClassifyBulk reads the answer to EncodeBulk: one Result per message, in order.
func (o *Outbound) ClassifyBulk(ms []*canonical.Message, resp *fasthttp.Response) []adapters.Result {
	out := make([]adapters.Result, len(ms))
	if r, ok := classifyFailure(resp); ok {
		for i := range out {
			out[i] = r
		}
		return out
	}
	var ans struct {
		Messages []sendAnswer `json:"messages"`
	}
	_ = json.Unmarshal(resp.Body(), &ans)
	for i := range out {
		out[i] = adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}
		if i < len(ans.Messages) {
			out[i].UpstreamID = ans.Messages[i].ID
		}
	}
	return out
}
