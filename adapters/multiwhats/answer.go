package multiwhats

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"switchboard/adapters"
	"switchboard/canonical"
)

// timeLayout is how the queue record writes its times (UTC).
const timeLayout = "2006-01-02 15:04:05"

// Accepted renders the queue record MultiWhats answers with, in the document's field order.
// The record's id and its target's id are the message's Seq.
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
	dst = appendString(dst, m.From)
	dst = append(dst, `,"message":`...)
	if m.Text == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendString(dst, m.Text)
	}
	dst = append(dst, `,"file_url":`...)
	if len(m.Media) > 0 {
		dst = appendString(dst, m.Media[0].URL)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, `,"queue_type":"normal","message_type":`...)
	typ := m.Extra["type"]
	if typ == "" {
		typ = typeOf(m.Kind)
	}
	dst = appendString(dst, typ)
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
	dst = appendString(dst, m.To)
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
		dst = appendString(dst, msg)
		dst = append(dst, `,"errors":{`...)
		dst = appendString(dst, field)
		dst = append(dst, ":["...)
		dst = appendString(dst, msg)
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
	dst = appendString(dst, msg)
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
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Non-ASCII text is written as UTF-8, as the document
// shows it; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xf])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
