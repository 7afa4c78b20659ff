package multiwhats

import (
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// timeLayout is how the queue record writes its times (UTC).
const timeLayout = "2006-01-02 15:04:05"

// Accepted renders the queue record MultiWhats answers with, in the document's field order.
// The record's id and its target's id are the message's Seq. It is appended by hand:
// goccy/go-json takes 8 times the CPU on the same record (json_timing_test.go).
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	if len(b.Messages) == 0 {
		return in.Error(c, canonical.Errorf(canonical.ErrInternal, "no message to answer for"), dst)
	}
	m := b.Messages[0]
	var acct adapters.Account
	if c.Account != nil {
		acct = *c.Account
	}
	at := m.CreatedAt
	if at.IsZero() {
		at = c.Now
	}
	var tsBuf [len(timeLayout)]byte
	ts := at.UTC().AppendFormat(tsBuf[:0], timeLayout)
	status, sent, pending, target := "done", "1", "0", "sent"
	if in.actual {
		status, sent, pending, target = "pending", "0", "1", "pending"
	}

	dst = append(dst, `{"user_id":`...)
	dst = strconv.AppendInt(dst, int64(acct.UserID), 10)
	dst = append(dst, `,"social_media_account_id":`...)
	dst = strconv.AppendInt(dst, int64(acct.AccountID), 10)
	dst = append(dst, `,"platform":"whatsapp","from_identifier":`...)
	dst = adapters.AppendJSONString(dst, m.From)
	dst = append(dst, `,"message":`...)
	if m.Text == "" {
		dst = append(dst, "null"...)
	} else {
		dst = adapters.AppendJSONString(dst, m.Text)
	}
	dst = append(dst, `,"file_url":`...)
	if len(m.Media) > 0 {
		dst = adapters.AppendJSONString(dst, m.Media[0].URL)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, `,"queue_type":"normal","message_type":`...)
	typ := m.Extra["type"]
	if typ == "" {
		typ = typeOf(m.Kind)
	}
	dst = adapters.AppendJSONString(dst, typ)
	dst = append(dst, `,"total_credit":1,"target_count":1,"pending_count":`...)
	dst = append(dst, pending...)
	dst = append(dst, `,"sent_count":`...)
	dst = append(dst, sent...)
	dst = append(dst, `,"delivered_count":0,"not_delivered_count":0,"seen_count":0,"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, '"')
	dst = appendTimes(dst, ts, "send_at", "created_at", "updated_at")
	dst = append(dst, `,"extra_data":{"buttons":`...)
	dst = appendStrings(dst, m.Buttons)
	dst = append(dst, `,"options":`...)
	dst = appendStrings(dst, m.Options)
	dst = append(dst, `,"selectedItemId":null},"id":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	dst = append(dst, `,"targets":[{"id":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	dst = append(dst, `,"user_id":`...)
	dst = strconv.AppendInt(dst, int64(acct.UserID), 10)
	dst = append(dst, `,"queue_id":`...)
	dst = strconv.AppendUint(dst, m.Seq, 10)
	dst = append(dst, `,"target_identifier":`...)
	dst = adapters.AppendJSONString(dst, m.To)
	dst = append(dst, `,"message":null,"status":"`...)
	dst = append(dst, target...)
	dst = append(dst, `","extra_data":{"buttons":null,"options":null,"selectedItemId":null}`...)
	dst = appendTimes(dst, ts, "created_at", "updated_at")
	dst = append(dst, "}]}"...)
	return 200, dst
}

// appendTimes writes the named timestamps, all with the value ts.
func appendTimes(dst, ts []byte, names ...string) []byte {
	for _, n := range names {
		dst = append(dst, `,"`...)
		dst = append(dst, n...)
		dst = append(dst, `":"`...)
		dst = append(dst, ts...)
		dst = append(dst, '"')
	}
	return dst
}

// Error renders err as the Laravel application behind MultiWhats does: {"message": "..."}, and
// for validation errors 422 with "errors" keyed by the request's own field name.
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	status := 500
	msg := "Server Error"
	switch err.Code {
	case canonical.ErrInvalid:
		field := vendorField(err.Field)
		if field == "" {
			field = "body"
		}
		msg = err.Reason
		if !strings.HasPrefix(msg, "The ") {
			msg = invalid(field, msg).Reason
		}
		dst = append(dst, `{"message":`...)
		dst = adapters.AppendJSONString(dst, msg)
		dst = append(dst, `,"errors":{`...)
		dst = adapters.AppendJSONString(dst, field)
		dst = append(dst, ":["...)
		dst = adapters.AppendJSONString(dst, msg)
		dst = append(dst, "]}}"...)
		return 422, dst
	case canonical.ErrUnauthorized:
		status, msg = 401, "Unauthenticated."
	case canonical.ErrForbidden:
		status, msg = 403, "This action is unauthorized."
	case canonical.ErrNotFound:
		status, msg = 404, "The route "+routePath(c)+" could not be found."
	case canonical.ErrMethod:
		method := "GET"
		if c.Req != nil && len(c.Req.Header.Method()) > 0 {
			method = string(c.Req.Header.Method())
		}
		status, msg = 405, "The "+method+" method is not supported for route "+routePath(c)+". Supported methods: POST."
	case canonical.ErrConflict:
		status, msg = 409, err.Reason
		if msg == "" {
			msg = "Conflict"
		}
	case canonical.ErrTooLarge:
		status, msg = 413, "The POST data is too large."
	case canonical.ErrTooMany:
		status, msg = 429, "Too Many Attempts."
	case canonical.ErrUnavailable:
		status, msg = 503, "Service Unavailable"
	}
	dst = append(dst, `{"message":`...)
	dst = adapters.AppendJSONString(dst, msg)
	return status, append(dst, '}')
}

// routePath is the request's path as Laravel's Request::path() gives it: without the leading slash.
func routePath(c *adapters.Call) string {
	p := "/"
	if c.Req != nil {
		p = string(c.Req.URI().Path())
	}
	if p == "/" || p == "" {
		return "/"
	}
	return strings.TrimPrefix(p, "/")
}

// appendStrings writes a JSON array of strings, or null when there are none.
func appendStrings(dst []byte, list []string) []byte {
	if len(list) == 0 {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = adapters.AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"
