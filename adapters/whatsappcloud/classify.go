package whatsappcloud

import (
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// maxReasonBytes bounds the vendor text kept as a failure's reason.
const maxReasonBytes = 512

// answer is what Classify reads of the Cloud API's answers: the message id on success, the
// Graph error otherwise. Fields whose type Meta has varied over the years are read loosely.
type answer struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
	Error *graphError `json:"error"`
}

type graphError struct {
	Message     string          `json:"message"`
	Type        string          `json:"type"`
	Code        json.Number     `json:"code"`
	IsTransient bool            `json:"is_transient"`
	ErrorData   json.RawMessage `json:"error_data"`
	FBTraceID   string          `json:"fbtrace_id"`
}

// details reads error_data.details; error_data is an object in Cloud API errors but a
// string in some older Graph errors.
func (e *graphError) details() string {
	var d struct {
		Details string `json:"details"`
	}
	if len(e.ErrorData) > 0 && e.ErrorData[0] == '{' && json.Unmarshal(e.ErrorData, &d) == nil {
		return d.Details
	}
	return ""
}

// retryCodes are the Graph error codes that say "try again later" whatever the HTTP status:
// API unknown (1) and service (2) errors, application (4) and account (80007) rate limits,
// throughput (130429), unknown message failure (131000), pair rate limit (131056) and
// service temporarily unavailable (133004).
func retryCode(code int) bool {
	switch code {
	case 1, 2, 4, 80007, 130429, 131000, 131056, 133004:
		return true
	}
	return false
}

// Classify reads the Cloud API's answer: 2xx with messages[0].id is sent, that id (the
// wamid) becoming the upstream id; 408, 429, 5xx and the transient Graph codes are retried;
// any other error is the message's fault, with Meta's code and text as Code and Reason.
func (o *Outbound) Classify(m *canonical.Message, resp *fasthttp.Response) adapters.Result {
	status := resp.StatusCode()
	var a answer
	_ = json.Unmarshal(resp.Body(), &a) // a body that is not the Graph API's leaves a empty
	if status >= 200 && status < 300 && a.Error == nil {
		r := adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}
		if len(a.Messages) > 0 {
			r.UpstreamID = a.Messages[0].ID
		}
		return r
	}
	code, reason := strconv.Itoa(status), fasthttp.StatusMessage(status)
	graphCode, transient := 0, false
	if e := a.Error; e != nil {
		graphCode, _ = strconv.Atoi(e.Code.String())
		if graphCode != 0 {
			code = strconv.Itoa(graphCode)
		}
		reason = joinReason(e.Message, e.details())
		transient = e.IsTransient
	}
	if len(reason) > maxReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
	}
	if status == 408 || status == 429 || status >= 500 || status < 200 || (status >= 300 && status < 400) ||
		retryCode(graphCode) || transient {
		// A redirect means the upstream is misconfigured (a wrong url): retrying lets the
		// breaker open and the route fail over instead of failing every message.
		return adapters.Result{Outcome: adapters.Retry, Code: code, Reason: reason,
			RetryAfter: adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now())}
	}
	return adapters.Result{Outcome: adapters.Permanent, Code: code, Reason: reason}
}

// joinReason is a Graph error's message followed by its details, when they add anything.
func joinReason(message, details string) string {
	switch {
	case details == "" || details == message:
		return message
	case message == "":
		return details
	}
	return message + ": " + details
}

var _ adapters.Outbound = (*Outbound)(nil)
