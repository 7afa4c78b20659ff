package multiwhats

import (
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Classify reads MultiWhats' answer: 2xx is the queue record, whose id becomes the upstream id.
// Bodies that are not JSON (a proxy's HTML page) are read as empty. 401 ("Unauthenticated.":
// the apikey), 403, 404, 405 and 407 are the upstream's fault (adapters.UpstreamFault): Retry.
// Other 4xx (422: Laravel's validation errors) fail the message.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		var r record
		_ = json.Unmarshal(resp.Body(), &r)
		return adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: r.ID.String()}
	}
	var f failure
	_ = json.Unmarshal(resp.Body(), &f)
	code, reason := strconv.Itoa(status), f.Message
	if reason == "" {
		reason = fasthttp.StatusMessage(status)
	}
	if len(reason) > maxReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
	}
	if status == 408 || status == 429 || status >= 500 || status < 300 || adapters.UpstreamFault(status) {
		return adapters.Result{Outcome: adapters.Retry, Code: code, Reason: reason,
			RetryAfter: adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now())}
	}
	if status < 400 {
		// A redirect means the upstream is misconfigured (a wrong url, http for https): retrying
		// lets the breaker open and the route fail over instead of failing every message.
		return adapters.Result{Outcome: adapters.Retry, Code: code, Reason: reason}
	}
	return adapters.Result{Outcome: adapters.Permanent, Code: code, Reason: reason}
}
