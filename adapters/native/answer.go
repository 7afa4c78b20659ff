package native

import (
	"strconv"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Accepted implements adapters.Inbound: {"id": "...", "status": "..."}, 202 for a new
// message and 200 for a repeat of an earlier request with the same client_ref.
func (*Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	m := b.Messages[0]
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendQuote(dst, m.ID)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendQuote(dst, string(m.Status))
	dst = append(dst, '}')
	if len(b.Dup) > 0 && b.Dup[0] {
		return 200, dst
	}
	return 202, dst
}

// Error implements adapters.Inbound: {"error": {"code": "...", "field": "...", "message": "..."}}.
func (*Inbound) Error(c *adapters.Call, e *canonical.Error, dst []byte) (int, []byte) {
	return e.Code.HTTPStatus(), AppendError(dst, e)
}

// AppendError renders e in the native error shape.
func AppendError(dst []byte, e *canonical.Error) []byte {
	body := struct {
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field,omitempty"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Code, body.Error.Field, body.Error.Message = CodeName(e.Code), e.Field, e.Error()
	out, _ := json.Marshal(&body)
	return append(dst, out...)
}

// CodeName is the stable, documented name of an error class in native answers.
func CodeName(c canonical.Code) string {
	switch c {
	case canonical.ErrInvalid:
		return "invalid"
	case canonical.ErrUnauthorized:
		return "unauthorized"
	case canonical.ErrForbidden:
		return "forbidden"
	case canonical.ErrNotFound:
		return "not_found"
	case canonical.ErrConflict:
		return "conflict"
	case canonical.ErrTooLarge:
		return "too_large"
	case canonical.ErrTooMany:
		return "too_many_requests"
	case canonical.ErrUnavailable:
		return "unavailable"
	case canonical.ErrMethod:
		return "method_not_allowed"
	}
	return "internal"
}
