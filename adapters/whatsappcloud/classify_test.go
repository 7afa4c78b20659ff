package whatsappcloud

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

func graphErr(code int, message, details string) string {
	s := `{"error":{"message":"` + message + `","type":"OAuthException","code":` + strconv.Itoa(code)
	if details != "" {
		s += `,"error_data":{"messaging_product":"whatsapp","details":"` + details + `"}`
	}
	return s + `,"fbtrace_id":"AJ6Zh7I8BCYXWwv8W3nEI8c"}}`
}

// TestClassify reads the Cloud API's documented answers.
func TestClassify(t *testing.T) {
	const (
		reengage = "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
	)
	for _, c := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		want       adapters.Result
	}{
		{"sent", 200, "", `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],` +
			`"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}`,
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}},
		{"sent_template_accepted", 200, "", `{"messaging_product":"whatsapp","contacts":[{"input":"5732281489748","wa_id":"5732281489748"}],` +
			`"messages":[{"id":"wamid.HBgNNTczMjI4MTQ4OTc0OBUCABEYEkIyMzFDMjE1MkI3NjhDQTlGMgA=","message_status":"accepted"}]}`,
			adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent, UpstreamID: "wamid.HBgNNTczMjI4MTQ4OTc0OBUCABEYEkIyMzFDMjE1MkI3NjhDQTlGMgA="}},
		{"reengagement_131047", 400, "", graphErr(131047, "(#131047) Re-engagement message", reengage),
			adapters.Result{Outcome: adapters.Permanent, Code: "131047", Reason: "(#131047) Re-engagement message: " + reengage}},
		{"undeliverable_131026", 400, "", graphErr(131026, "(#131026) Message Undeliverable", "Message Undeliverable."),
			adapters.Result{Outcome: adapters.Permanent, Code: "131026", Reason: "(#131026) Message Undeliverable: Message Undeliverable."}},
		{"invalid_parameter_100", 400, "", graphErr(100, "(#100) Invalid parameter", "Parameter Invalid"),
			adapters.Result{Outcome: adapters.Permanent, Code: "100", Reason: "(#100) Invalid parameter: Parameter Invalid"}},
		{"template_missing_132001", 404, "", graphErr(132001, "(#132001) Template name does not exist in the translation", "template name (pedido) does not exist in pt_BR"),
			adapters.Result{Outcome: adapters.Permanent, Code: "132001", Reason: "(#132001) Template name does not exist in the translation: template name (pedido) does not exist in pt_BR"}},
		{"button_title_131009", 400, "", graphErr(131009, "(#131009) Parameter value is not valid", "Button title length invalid. Min length: 1, Max length: 20"),
			adapters.Result{Outcome: adapters.Permanent, Code: "131009", Reason: "(#131009) Parameter value is not valid: Button title length invalid. Min length: 1, Max length: 20"}},
		{"token_190", 401, "", graphErr(190, "Invalid OAuth access token - Cannot parse access token", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "190", Reason: "Invalid OAuth access token - Cannot parse access token"}},
		{"token_expired_190_on_400", 400, "", graphErr(190, "Error validating access token: Session has expired", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "190", Reason: "Error validating access token: Session has expired"}},
		{"permission_10_on_403", 403, "", graphErr(10, "(#10) Application does not have permission for this action", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "10", Reason: "(#10) Application does not have permission for this action"}},
		{"account_locked_131031", 400, "", graphErr(131031, "(#131031) Business Account locked", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "131031", Reason: "(#131031) Business Account locked"}},
		{"not_registered_133010", 400, "", graphErr(133010, "(#133010) Phone number Not Registered", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "133010", Reason: "(#133010) Phone number Not Registered"}},
		{"proxy_auth_407", 407, "", ``, adapters.Result{Outcome: adapters.Retry, Code: "407", Reason: "Proxy Authentication Required"}},
		{"throughput_429", 429, "30", graphErr(130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
			adapters.Result{Outcome: adapters.Retry, Code: "130429", Reason: "(#130429) Rate limit hit: Cloud API message throughput has been reached.", RetryAfter: 30 * time.Second}},
		{"throughput_code_on_400", 400, "", graphErr(130429, "(#130429) Rate limit hit", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "130429", Reason: "(#130429) Rate limit hit"}},
		{"pair_rate_131056", 400, "", graphErr(131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "131056", Reason: "(#131056) (Business Account, Consumer Account) pair rate limit hit"}},
		{"api_unknown_1", 400, "", graphErr(1, "An unknown error has occurred.", ""),
			adapters.Result{Outcome: adapters.Retry, Code: "1", Reason: "An unknown error has occurred."}},
		{"api_service_2", 503, "", `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"A1"}}`,
			adapters.Result{Outcome: adapters.Retry, Code: "2", Reason: "An unexpected error has occurred. Please retry your request later."}},
		{"transient_flag", 400, "", `{"error":{"message":"(#100) Temporary","type":"OAuthException","is_transient":true,"code":100}}`,
			adapters.Result{Outcome: adapters.Retry, Code: "100", Reason: "(#100) Temporary"}},
		{"old_graph_error_data_string", 400, "", `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_data":"{\"blame_field_specs\":[[\"to\"]]}"}}`,
			adapters.Result{Outcome: adapters.Permanent, Code: "100", Reason: "(#100) Invalid parameter"}},
		{"bad_gateway_html", 502, "", `<html><body>502 Bad Gateway</body></html>`,
			adapters.Result{Outcome: adapters.Retry, Code: "502", Reason: "Bad Gateway"}},
		{"timeout_408", 408, "", ``, adapters.Result{Outcome: adapters.Retry, Code: "408", Reason: "Request Timeout"}},
		{"redirect", 301, "", ``, adapters.Result{Outcome: adapters.Retry, Code: "301", Reason: "Moved Permanently"}},
		{"not_found_plain", 404, "", `Not Found`, adapters.Result{Outcome: adapters.Retry, Code: "404", Reason: "Not Found"}},
		{"method_405", 405, "", ``, adapters.Result{Outcome: adapters.Retry, Code: "405", Reason: "Method Not Allowed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp fasthttp.Response
			resp.SetStatusCode(c.status)
			if c.retryAfter != "" {
				resp.Header.Set("Retry-After", c.retryAfter)
			}
			resp.SetBodyString(c.body)
			got := newOutbound(t, "", testCreds).Classify(&canonical.Message{}, &resp)
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestClassifyBoundsReason(t *testing.T) {
	var resp fasthttp.Response
	resp.SetStatusCode(400)
	resp.SetBodyString(graphErr(100, "(#100) "+strings.Repeat("ç", 600), ""))
	got := newOutbound(t, "", testCreds).Classify(&canonical.Message{}, &resp)
	if len(got.Reason) > maxReasonBytes || !strings.HasPrefix(got.Reason, "(#100) ççç") || !strings.HasSuffix(got.Reason, "ç") {
		t.Errorf("reason of %d bytes: %q...", len(got.Reason), got.Reason[:20])
	}
}

// TestClassifyInboundAnswers classifies what the Inbound (the simulator) answers, so the
// two sides of the wire agree on every error they exchange.
func TestClassifyInboundAnswers(t *testing.T) {
	in, o := New(), newOutbound(t, "", testCreds)
	call := &adapters.Call{Op: adapters.OpSend, Req: &fasthttp.Request{}}
	for code, want := range map[canonical.Code]adapters.Outcome{
		canonical.ErrInvalid: adapters.Permanent, canonical.ErrUnauthorized: adapters.Retry,
		canonical.ErrForbidden: adapters.Retry, canonical.ErrNotFound: adapters.Retry,
		canonical.ErrMethod: adapters.Retry, canonical.ErrConflict: adapters.Permanent,
		canonical.ErrTooLarge: adapters.Permanent, canonical.ErrTooMany: adapters.Retry,
		canonical.ErrUnavailable: adapters.Retry, canonical.ErrInternal: adapters.Retry,
	} {
		status, body := in.Error(call, &canonical.Error{Code: code, Reason: "x"}, nil)
		var resp fasthttp.Response
		resp.SetStatusCode(status)
		resp.SetBody(body)
		if got := o.Classify(&canonical.Message{}, &resp); got.Outcome != want || got.Code == "" || got.Reason == "" {
			t.Errorf("error class %d (%d %s): %+v", code, status, body, got)
		}
	}
	// And the success answer gives the wamid back.
	m := &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", To: "972501234567"}
	status, body := in.Accepted(call, &adapters.Batch{Messages: []*canonical.Message{m}}, nil)
	var resp fasthttp.Response
	resp.SetStatusCode(status)
	resp.SetBody(body)
	if got := o.Classify(m, &resp); got.Outcome != adapters.Sent || got.UpstreamID != WAMID(m) {
		t.Errorf("accepted: %+v", got)
	}
}
