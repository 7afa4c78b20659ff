package http

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Classify maps the answer: 2xx sent (upstream id from a JSON "id" field); 408, 429 and 5xx
// retry (honouring Retry-After); 401, 403, 404, 405 and 407 retry, the upstream's fault
// (adapters.UpstreamFault); other 4xx permanent with the body as reason. Anything else (a
// redirect, say) is a misconfigured URL, not the message's fault: retry.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: bodyID(resp.Body())}
	}
	res := adapters.Result{Outcome: adapters.Retry, Code: strconv.Itoa(code), Reason: reason(code, resp.Body())}
	if code >= 400 && code < 500 && code != 408 && code != 429 && !adapters.UpstreamFault(code) {
		res.Outcome = adapters.Permanent
		return res
	}
	res.RetryAfter = adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now())
	return res
}
