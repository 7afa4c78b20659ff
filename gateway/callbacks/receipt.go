package callbacks

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters/wavy"
	"switchboard/canonical"
)

// maxReceipts bounds the receipts one request may carry.
const maxReceipts = 1000

// Receipt is one status an upstream reports for a message it was sent.
type Receipt struct {
	// ID is our message id when the vendor echoes it (Wavy's correlationId, the Cloud API's
	// biz_opaque_callback_data, the http format's id); UpstreamID is the vendor's own.
	ID, UpstreamID string
	Change         canonical.Change
}

// wavyCallback is a Wavy sent-status callback or delivery receipt, as the vendor posts it
// (specs/wavy.txt; NOTES.md). Codes may come as numbers or strings.
type wavyCallback struct {
	ID                  string          `json:"id"`
	CorrelationID       string          `json:"correlationId"`
	SentStatusCode      json.RawMessage `json:"sentStatusCode"`
	SentStatus          string          `json:"sentStatus"`
	SentAt              json.RawMessage `json:"sentAt"`
	SentStatusAt        json.RawMessage `json:"sentStatusAt"`
	DeliveredStatusCode json.RawMessage `json:"deliveredStatusCode"`
	DeliveredStatus     string          `json:"deliveredStatus"`
	DeliveredAt         json.RawMessage `json:"deliveredAt"`
}

// ParseWavy reads a Wavy callback body: one object per message (as the vendor posts), or
// leniently an array of them. A delivery receipt (deliveredStatusCode set) gives delivered
// (4) or failed (104 and any other code); a sent-status callback gives sent (2), expired
// (101) or failed. Code is the vendor's numeric code, Reason its name. Times are the
// vendor's epoch milliseconds, else now.
func ParseWavy(body []byte, now time.Time) ([]Receipt, error) {
	var cbs []wavyCallback
	if err := unmarshalOneOrMany(body, &cbs); err != nil {
		return nil, err
	}
	out := make([]Receipt, 0, len(cbs))
	for i, c := range cbs {
		field := "[" + strconv.Itoa(i) + "]"
		if c.ID == "" && c.CorrelationID == "" {
			return nil, canonical.Invalid(field+".id", "id or correlationId is required")
		}
		r := Receipt{ID: c.CorrelationID, UpstreamID: c.ID}
		code, ok := jsonInt(c.DeliveredStatusCode)
		at := c.DeliveredAt
		name := c.DeliveredStatus
		switch {
		case ok:
			r.Change.Status = canonical.StatusFailed
			if code == wavy.CodeDeliveredSuccess {
				r.Change.Status = canonical.StatusDelivered
			}
		default:
			if code, ok = jsonInt(c.SentStatusCode); !ok {
				return nil, canonical.Invalid(field+".sentStatusCode", "a sent or delivered status code is required")
			}
			at, name = c.SentAt, c.SentStatus
			if len(bytes.TrimSpace(at)) == 0 || string(at) == "null" {
				at = c.SentStatusAt
			}
			switch code {
			case wavy.CodeSentSuccess:
				r.Change.Status = canonical.StatusSent
			case wavy.CodeExpired:
				r.Change.Status = canonical.StatusExpired
			default:
				r.Change.Status = canonical.StatusFailed
			}
		}
		if r.Change.Status != canonical.StatusSent && r.Change.Status != canonical.StatusDelivered {
			r.Change.Code = strconv.FormatInt(code, 10)
			r.Change.Reason = name
			if r.Change.Reason == "" {
				r.Change.Reason = wavy.StatusName(int(code))
			}
		}
		r.Change.At = now
		if ms, ok := jsonInt(at); ok && ms > 0 {
			r.Change.At = time.UnixMilli(ms).UTC()
		}
		out = append(out, r)
	}
	return out, nil
}

// genericReceipt is the http upstream's receipt format (docs/receipts.md).
type genericReceipt struct {
	ID         string `json:"id"`
	UpstreamID string `json:"upstream_id"`
	Status     string `json:"status"`
	Code       string `json:"code"`
	Reason     string `json:"reason"`
	At         string `json:"at"`
}

// ParseGeneric reads Switchboard's own receipt format, which the http upstream (and
// upstreams whose vendor posts no receipts of its own) use: one object or an array of them,
// {"id":"<our message id>","upstream_id":"...","status":"sent|delivered|read|failed|
// expired|rejected","code":"...","reason":"...","at":"<RFC 3339>"}. id or upstream_id is
// required; at defaults to now.
func ParseGeneric(body []byte, now time.Time) ([]Receipt, error) {
	var rs []genericReceipt
	if err := unmarshalOneOrMany(body, &rs); err != nil {
		return nil, err
	}
	out := make([]Receipt, 0, len(rs))
	for i, g := range rs {
		field := "[" + strconv.Itoa(i) + "]"
		if g.ID == "" && g.UpstreamID == "" {
			return nil, canonical.Invalid(field+".id", "id or upstream_id is required")
		}
		st := canonical.Status(strings.ToLower(g.Status))
		switch st {
		case canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead, canonical.StatusFailed,
			canonical.StatusExpired, canonical.StatusRejected:
		default:
			return nil, canonical.Invalid(field+".status", "must be sent, delivered, read, failed, expired or rejected, not %q", g.Status)
		}
		if len(g.Code) > canonical.MaxFieldBytes || len(g.Reason) > 4*canonical.MaxFieldBytes {
			return nil, canonical.Invalid(field+".reason", "code or reason is too long")
		}
		r := Receipt{ID: g.ID, UpstreamID: g.UpstreamID,
			Change: canonical.Change{Status: st, At: now, Code: g.Code, Reason: g.Reason}}
		if g.At != "" {
			at, err := time.Parse(time.RFC3339Nano, g.At)
			if err != nil {
				return nil, canonical.Invalid(field+".at", "%q is not an RFC 3339 time", g.At)
			}
			r.Change.At = at.UTC()
		}
		out = append(out, r)
	}
	return out, nil
}

// unmarshalOneOrMany decodes a JSON object into a one-element slice, or an array.
func unmarshalOneOrMany[T any](body []byte, dst *[]T) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return canonical.Invalid("body", "is empty")
	}
	var err error
	if body[0] == '[' {
		err = json.Unmarshal(body, dst)
	} else {
		var one T
		if err = json.Unmarshal(body, &one); err == nil {
			*dst = []T{one}
		}
	}
	if err != nil {
		return canonical.Invalid("body", "cannot parse JSON: %v", err)
	}
	if len(*dst) == 0 {
		return canonical.Invalid("body", "holds no receipt")
	}
	if len(*dst) > maxReceipts {
		return canonical.Invalid("body", "holds %d receipts; at most %d per request", len(*dst), maxReceipts)
	}
	return nil
}

// jsonInt reads an integer given as a JSON number or a string of digits; null is absent.
func jsonInt(raw json.RawMessage) (int64, bool) {
	v := bytes.Trim(bytes.TrimSpace(raw), `"`)
	if len(v) == 0 || string(v) == "null" {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}
