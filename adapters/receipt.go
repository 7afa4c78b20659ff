package adapters

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// MaxReceipts bounds the receipts one request may carry.
const MaxReceipts = 1000

// genericReceipt is Switchboard's own receipt format (see ParseGenericReceipts).
type genericReceipt struct {
	// Type is "reply" on Switchboard's reply JSON, which this parser skips.
	Type       string `json:"type"`
	ID         string `json:"id"`
	UpstreamID string `json:"upstream_id"`
	Status     string `json:"status"`
	Code       string `json:"code"`
	Reason     string `json:"reason"`
	At         string `json:"at"`
}

// ParseGenericReceipts reads Switchboard's own receipt format, which the http upstream (and
// upstreams whose vendor posts no receipts of its own) use: one object or an array of them,
// {"id":"<our message id>","upstream_id":"...","status":"sent|delivered|read|failed|
// expired|rejected","code":"...","reason":"...","at":"<RFC 3339>"}. id or upstream_id is
// required; at defaults to now. Objects marked "type":"reply" are replies
// (ParseGenericReplies) and are skipped, so a body of replies alone gives no receipt.
func ParseGenericReceipts(body []byte, now time.Time) ([]Receipt, error) {
	var rs []genericReceipt
	if err := UnmarshalOneOrMany(body, &rs); err != nil {
		return nil, err
	}
	out := make([]Receipt, 0, len(rs))
	for i, g := range rs {
		if g.Type == ReplyType {
			continue
		}
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

// UnmarshalOneOrMany decodes a JSON object into a one-element slice, or an array.
func UnmarshalOneOrMany[T any](body []byte, dst *[]T) error {
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
	if len(*dst) > MaxReceipts {
		return canonical.Invalid("body", "holds %d receipts; at most %d per request", len(*dst), MaxReceipts)
	}
	return nil
}

// JSONInt reads an integer given as a JSON number or a string of digits; null is absent.
func JSONInt(raw json.RawMessage) (int64, bool) {
	v := bytes.Trim(bytes.TrimSpace(raw), `"`)
	if len(v) == 0 || string(v) == "null" {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	return n, err == nil
}
