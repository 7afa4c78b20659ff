package whatsappcloud

import (
	"bytes"
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// A validation error travels from Decode to Error as a *canonical.Error whose Field is the
// request parameter (in the Graph API's notation) and whose Reason is the Graph error's
// message, starting "(#<code>)", followed by detailsSep and error_data.details when the API
// gives details. Messages quote any value taken from the request, so they hold no raw line
// break and the separator is unambiguous.
const detailsSep = "\n"

// errRequired is the Graph API's answer to a missing parameter.
func errRequired(param string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: param,
		Reason: "(#100) The parameter " + param + " is required."}
}

// errParam is the Graph API's answer to a parameter of the wrong type, length or value:
// "(#100) Param <param> <rule>."
func errParam(param, rule string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: param, Reason: "(#100) Param " + param + " " + rule + "."}
}

// errEnum is errParam for a value outside an enumeration.
func errEnum(param, allowed, got string) *canonical.Error {
	return errParam(param, "must be one of {"+allowed+"} - got "+strconv.Quote(got))
}

// errValue is the Cloud API's 131009, a parameter's value breaking a WhatsApp limit.
func errValue(param, details string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: param,
		Reason: "(#131009) Parameter value is not valid" + detailsSep + details}
}

// errUnsupported is the Cloud API's 131051, for the message types this package cannot hold.
func errUnsupported(param string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: param,
		Reason: "(#131051) Unsupported message type" + detailsSep + "Message type is not currently supported."}
}

// errTemplateParams is the Cloud API's 132018.
func errTemplateParams(param string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: param,
		Reason: "(#132018) There was an issue with the parameters in your template." + detailsSep +
			"Param text cannot have new-line/tab characters or more than 4 consecutive spaces"}
}

// errRecipient is the Graph API's answer to a "to" that is not a phone number.
func errRecipient() *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: "to",
		Reason: "(#100) Invalid parameter" + detailsSep + "Parameter Invalid"}
}

// Accepted renders the Cloud API's success answer: the recipient as sent and as a WhatsApp
// id, and the message's wamid. A template message's answer also says message_status
// "accepted", as the API's does.
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	dst = append(dst, `{"messaging_product":"whatsapp","contacts":[`...)
	for i, m := range b.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		input := m.To
		if raw, ok := m.Extra["to"]; ok {
			input = raw
		}
		dst = append(dst, '{')
		dst = appendField(dst, true, "input", input)
		dst = appendField(dst, false, "wa_id", m.To)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"messages":[`...)
	for i, m := range b.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":"`...)
		dst = appendWAMID(dst, m)
		dst = append(dst, '"')
		if m.Kind == canonical.KindTemplate {
			dst = append(dst, `,"message_status":"accepted"`...)
		}
		dst = append(dst, '}')
	}
	return 200, append(dst, "]}"...)
}

// Error renders err as a Graph API error:
// {"error":{"message","type","code","error_subcode"?,"is_transient"?,"error_data"?,"fbtrace_id"}}.
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	status, typ, code, subcode := 400, "OAuthException", 100, 0
	var msg, details string
	transient := false
	switch err.Code {
	case canonical.ErrInvalid:
		code, msg, details = splitReason(err)
	case canonical.ErrUnauthorized:
		status, code, msg = 401, 190, "Invalid OAuth access token - Cannot parse access token"
	case canonical.ErrForbidden:
		status, code, msg = 403, 10, "(#10) Application does not have permission for this action"
	case canonical.ErrNotFound, canonical.ErrMethod:
		typ, subcode = "GraphMethodException", 33
		msg = unsupportedRequest(c)
	case canonical.ErrConflict:
		msg, details = "(#100) Invalid parameter", err.Error()
	case canonical.ErrTooLarge:
		status, msg, details = 413, "(#100) Invalid parameter", "Request body is too large"
	case canonical.ErrTooMany:
		status, code, msg, details = 429, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."
	case canonical.ErrUnavailable:
		status, code, transient = 503, 2, true
		msg = "An unexpected error has occurred. Please retry your request later."
	default:
		status, code, msg = 500, 1, "An unknown error has occurred."
	}
	dst = append(dst, `{"error":{`...)
	dst = appendField(dst, true, "message", msg)
	dst = appendField(dst, false, "type", typ)
	dst = append(dst, `,"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	if subcode != 0 {
		dst = append(dst, `,"error_subcode":`...)
		dst = strconv.AppendInt(dst, int64(subcode), 10)
	}
	if transient {
		dst = append(dst, `,"is_transient":true`...)
	}
	if details != "" {
		dst = append(dst, `,"error_data":{"messaging_product":"whatsapp",`...)
		dst = appendField(dst, true, "details", details)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"fbtrace_id":"`...)
	if c != nil {
		dst = appendTraceID(dst, c.Req)
	} else {
		dst = appendTraceID(dst, nil)
	}
	return status, append(dst, `"}}`...)
}

// splitReason reads a validation error built by the err* functions back into the Graph
// code, message and details. Any other ErrInvalid is a generic invalid parameter.
func splitReason(err *canonical.Error) (code int, msg, details string) {
	r := err.Reason
	if strings.HasPrefix(r, "(#") {
		if end := strings.IndexByte(r, ')'); end > 2 {
			if n, convErr := strconv.Atoi(r[2:end]); convErr == nil {
				msg, details, _ = strings.Cut(r, detailsSep)
				return n, msg, details
			}
		}
	}
	return 100, "(#100) Invalid parameter", err.Error()
}

// unsupportedRequest is the Graph API's answer for a path or method it does not serve.
func unsupportedRequest(c *adapters.Call) string {
	method, object := "post", ""
	if c != nil && c.Req != nil {
		if m := c.Req.Header.Method(); len(m) > 0 {
			method = strings.ToLower(string(m))
		}
		segs := bytes.Split(bytes.Trim(c.Req.URI().Path(), "/"), []byte("/"))
		if len(segs) >= 2 {
			object = string(segs[1])
		} else {
			object = string(segs[0])
		}
	}
	return "Unsupported " + method + " request. Object with ID '" + object + "' does not exist, cannot be " +
		"loaded due to missing permissions, or does not support this operation. Please read the Graph API " +
		"documentation at https://developers.facebook.com/docs/graph-api"
}
