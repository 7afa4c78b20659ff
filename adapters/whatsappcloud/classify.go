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

// objectMissing is the Graph error_subcode of a request to an object that does not exist:
// for a send, the configured phone number id (or the URL) is wrong.
const objectMissing = "33"

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
	Subcode     json.Number     `json:"error_subcode"`
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

// accountCode reports whether a Graph error code says the upstream's account, token or
// phone number is wrong, not the message (whatever the HTTP status, often 400): auth
// exception (0), capability (3), permission denied (10), policy block (368), access token
// expired (190), API permission (200-299), access denied (131005), account locked (131031),
// payment issue (131042), certificate (131045), and the registration errors 133000-133010
// (133004 is transient: retryCode).
// https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
func accountCode(code int) bool {
	switch {
	case code == 0, code == 3, code == 10, code == 190, code == 368,
		code >= 200 && code <= 299,
		code == 131005, code == 131031, code == 131042, code == 131045,
		code >= 133000 && code <= 133010:
		return true
	}
	return false
}

// Classify reads the Cloud API's answer: 2xx with messages[0].id is sent, that id (the
// wamid) becoming the upstream id; 408, 429, 5xx and the transient Graph codes are retried,
// and so are the upstream's faults (HTTP 401, 403, 404, 405, 407: adapters.UpstreamFault;
// the account codes of accountCode); any other error is the message's fault, with Meta's
// code and text as Code and Reason.
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
	graphCode, coded, transient := 0, false, false
	if e := a.Error; e != nil {
		var err error
		graphCode, err = strconv.Atoi(e.Code.String())
		coded = err == nil
		if graphCode != 0 {
			code = strconv.Itoa(graphCode)
		}
		reason = joinReason(e.Message, e.details())
		transient = e.IsTransient
	}
	if len(reason) > maxReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
	}
	// The upstream's fault: an account code; subcode 33, "object does not exist" (the phone
	// number id or the path is wrong); 401 or 407 whatever the code; and 403, 404 or 405
	// that no Graph code explains (a wrong URL answers a plain 404, but a template that does
	// not exist is 132001 on a 404: the message's).
	fault := (coded && accountCode(graphCode)) || (a.Error != nil && a.Error.Subcode.String() == objectMissing) ||
		status == 401 || status == 407 || (!coded && adapters.UpstreamFault(status))
	if status == 408 || status == 429 || status >= 500 || status < 200 || (status >= 300 && status < 400) ||
		retryCode(graphCode) || transient || fault {
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
