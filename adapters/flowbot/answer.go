package flowbot

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Accepted implements adapters.Inbound with FlowBot's success answers, all HTTP 200.
//
// Outbound and lead answer as documented (neither carries a message id). Bulk-send's answer
// is not documented: {"success":true,"queued":N,"results":[{"phone","messageId"}]}.
// api-token and check-sent send nothing: Serve answers them.
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	switch c.Op {
	case adapters.OpOutbound:
		return 200, appendOutboundAnswer(dst, c, b)
	case adapters.OpLead:
		return 200, appendLeadAnswer(dst, c, b)
	case adapters.OpBulk:
		return 200, appendBulkAnswer(dst, b)
	}
	return 200, append(dst, `{"success":true}`...)
}

// appendOutboundAnswer writes {"success":true,"message":"Outbound flow triggered for <phone>",
// "flowId":"..."} with the phone as the client wrote it.
func appendOutboundAnswer(dst []byte, c *adapters.Call, b *adapters.Batch) []byte {
	var m canonical.Message
	if len(b.Messages) > 0 {
		m = *b.Messages[0]
	}
	var phone []byte
	if body, err := objectBody(c.Req.Body()); err == nil {
		for it := members(body); ; {
			key, val, ok := it.nextMember()
			if !ok {
				break
			}
			if string(keyName(key)) == "phone" && kindOf(val) == kindString {
				phone = keyName(val) // a string token, unquoted the same way as a key
			}
		}
	}
	dst = append(dst, `{"success":true,"message":"Outbound flow triggered for `...)
	if phone != nil {
		dst = adapters.AppendJSONStringContent(dst, phone)
	} else {
		dst = append(dst, '+')
		dst = adapters.AppendJSONStringContent(dst, m.To)
	}
	dst = append(dst, `","flowId":`...)
	dst = adapters.AppendJSONString(dst, m.FlowID)
	return append(dst, '}')
}

// appendLeadAnswer writes the lead answer. variables lists the body's field names, each
// once, in the order the vendor's JavaScript server lists an object's keys (Object.keys):
// integer-like names first in ascending order, then the others as the client sent them.
func appendLeadAnswer(dst []byte, c *adapters.Call, b *adapters.Batch) []byte {
	dst = append(dst, `{"success":true,"message":"Lead received and flow started","variables":[`...)
	var buf [16][]byte
	keys := buf[:0]
	if body, err := objectBody(c.Req.Body()); err == nil {
		for it := members(body); ; {
			key, _, ok := it.nextMember()
			if !ok {
				break
			}
			k := keyName(key)
			if !slices.ContainsFunc(keys, func(s []byte) bool { return string(s) == string(k) }) {
				keys = append(keys, k)
			}
		}
	} else if len(b.Messages) > 0 {
		// The body is gone: the variables' names will do.
		for k := range b.Messages[0].Vars {
			keys = append(keys, []byte(k))
		}
		slices.SortFunc(keys, bytes.Compare)
	}
	slices.SortStableFunc(keys, func(a, b []byte) int {
		ia, oka := arrayIndex(a)
		ib, okb := arrayIndex(b)
		switch {
		case oka && okb:
			return cmp.Compare(ia, ib)
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = adapters.AppendJSONStringContent(dst, k)
		dst = append(dst, '"')
	}
	return append(dst, "]}"...)
}

// arrayIndex reports whether JavaScript treats k as an array index (a canonical decimal
// below 2^32-1), which Object.keys lists before other keys.
func arrayIndex(k []byte) (uint64, bool) {
	if len(k) == 0 || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	var n uint64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n < 1<<32-1
}

// appendBulkAnswer writes bulk-send's (undocumented) answer: one result per phone, in the
// request's order, with the E.164 phone and the message id.
func appendBulkAnswer(dst []byte, b *adapters.Batch) []byte {
	dst = append(dst, `{"success":true,"queued":`...)
	dst = strconv.AppendInt(dst, int64(len(b.Messages)), 10)
	dst = append(dst, `,"results":[`...)
	for i, m := range b.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"phone":"+`...)
		dst = append(dst, m.To...) // digits only
		dst = append(dst, `","messageId":`...)
		dst = adapters.AppendJSONString(dst, m.ID)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// Error implements adapters.Inbound: FlowBot's {"error":"Human-readable error message"}.
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	dst = append(dst, `{"error":`...)
	dst = adapters.AppendJSONString(dst, errorText(err))
	return err.Code.HTTPStatus(), append(dst, '}')
}

// noCredential answers a request that presents no credential at all.
func noCredential(op adapters.Op) *canonical.Error {
	switch op {
	case adapters.OpOutbound, adapters.OpBulk, adapters.OpCheckSent:
		return &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "Unauthorized: missing Authorization Bearer token"}
	case adapters.OpLead:
		return &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "Unauthorized: missing Authorization Bearer token or X-Signature-256"}
	}
	return &canonical.Error{Code: canonical.ErrNotFound, Reason: "Not found"}
}

func errorText(err *canonical.Error) string {
	reason := err.Reason
	if reason == "" {
		reason = defaultReason(err.Code)
	}
	if err.Field != "" {
		return err.Field + " " + reason
	}
	return reason
}

func defaultReason(code canonical.Code) string {
	switch code {
	case canonical.ErrInvalid:
		return "Bad request"
	case canonical.ErrUnauthorized:
		return "Unauthorized"
	case canonical.ErrForbidden:
		return "Forbidden"
	case canonical.ErrNotFound:
		return "Not found"
	case canonical.ErrConflict:
		return "Conflict"
	case canonical.ErrTooLarge:
		return "Payload too large"
	case canonical.ErrTooMany:
		return "Too many requests"
	case canonical.ErrUnavailable:
		return "Service unavailable"
	case canonical.ErrMethod:
		return "Method not allowed"
	}
	return "Internal server error"
}
