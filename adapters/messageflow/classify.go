package messageflow

import (
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Classify implements adapters.Outbound. Any 2xx means queued on MessageFlow's servers
// (sent, from Switchboard's side) unless the body says "success":false. 401 (an unknown
// UUID), 403, 404, 405 and 407 are the upstream's fault (adapters.UpstreamFault): Retry.
// Other 4xx (400: a missing or invalid field) fail the message.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	status := resp.StatusCode()
	var a answer
	parsed := json.Unmarshal(resp.Body(), &a) == nil
	code := strconv.Itoa(status)
	switch {
	case status >= 200 && status < 300:
		if parsed && isFalse(a.Success) {
			return adapters.Result{Outcome: adapters.Permanent, Code: code, Reason: reason(&a, parsed, resp)}
		}
		return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: scalar(a.ID)}
	case status >= 400 && status < 500 && status != 408 && status != 429 && !adapters.UpstreamFault(status):
		return adapters.Result{Outcome: adapters.Permanent, Code: code, Reason: reason(&a, parsed, resp)}
	}
	// 408, 429, 5xx, the upstream's faults, and answers no MessageFlow server gives (1xx,
	// 3xx): a misconfigured or failing upstream, not a bad message.
	return adapters.Result{Outcome: adapters.Retry, Code: code, Reason: reason(&a, parsed, resp),
		RetryAfter: adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now())}
}
