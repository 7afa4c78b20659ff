package messageflow

import (
	"strconv"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Accepted implements adapters.Inbound. MessageFlow's answer body is undocumented; the
// decision is HTTP 200 {"success":true,"id":"<message id>"}, which, as with MessageFlow
// itself, means "queued".
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	id := ""
	if len(b.Messages) > 0 {
		m := b.Messages[0]
		id = m.ID
		if id == "" {
			id = strconv.FormatUint(m.Seq, 10)
		}
	}
	dst = append(dst, `{"success":true,"id":`...)
	dst = appendJSONString(dst, id)
	return 200, append(dst, '}')
}

// Error implements adapters.Inbound: {"success":false,"error":"<field>: <reason>"} with the
// error class's HTTP status (400 invalid, 401 unknown UUID, 404, 405, 409, 413, 429, 503, 500).
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	textField := "Message"
	if c != nil && c.Req != nil && isWebhook(c.Req) {
		textField = "wapMessage"
	}
	reason := err.Reason
	if reason == "" {
		reason = defaultReason(err.Code)
	}
	dst = append(dst, `{"success":false,"error":`...)
	if field := vendorField(err.Field, textField); field != "" {
		reason = field + ": " + reason
	}
	dst = appendJSONString(dst, reason)
	return err.Code.HTTPStatus(), append(dst, '}')
}

func defaultReason(code canonical.Code) string {
	switch code {
	case canonical.ErrInvalid:
		return "invalid request"
	case canonical.ErrUnauthorized:
		return "unknown UUID"
	case canonical.ErrForbidden:
		return "forbidden"
	case canonical.ErrNotFound:
		return "not found"
	case canonical.ErrConflict:
		return "conflict"
	case canonical.ErrTooLarge:
		return "request too large"
	case canonical.ErrTooMany:
		return "too many requests: try again later"
	case canonical.ErrUnavailable:
		return "service unavailable: try again later"
	case canonical.ErrMethod:
		return "method not allowed"
	}
	return "internal error"
}
