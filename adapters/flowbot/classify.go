package flowbot

import (
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Classify reads FlowBot's answer. 2xx with "success" not false is Sent (FlowBot returns no
// message id: the upstream id is the message's own); 401 is Retry with Code "401" so the
// dispatcher drops the token and fetches another; 403, 404, 405 and 407 are Retry too, the
// upstream's fault (adapters.UpstreamFault); 408, 429 and 5xx are Retry (honouring
// Retry-After); other 4xx (400, 409, 413, 422) are Permanent with FlowBot's error text.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		var a struct {
			Success *bool  `json:"success"`
			Error   string `json:"error"`
		}
		if json.Unmarshal(resp.Body(), &a) == nil && a.Success != nil && !*a.Success {
			return adapters.Result{Outcome: adapters.Permanent, Code: strconv.Itoa(code), Reason: reason(code, resp.Body())}
		}
		return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: m.ID}
	}
	res := adapters.Result{Outcome: adapters.Retry, Code: strconv.Itoa(code), Reason: reason(code, resp.Body())}
	if code >= 400 && code < 500 && code != 408 && code != 429 && !adapters.UpstreamFault(code) {
		res.Outcome = adapters.Permanent
		return res
	}
	res.RetryAfter = adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now())
	return res
}
