package wavy

import (
	"bytes"
	"strconv"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// wavyCallback is a Wavy sent-status callback or delivery receipt, as the vendor posts it
// (see DIALECT.md, "Callbacks"). Codes may come as numbers or strings.
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
	// An MO (ParseReplies) has these, and is skipped.
	moProbe
}

// ParseReceipts reads a Wavy callback body: one object per message (as the vendor posts), or
// leniently an array of them. A delivery receipt (deliveredStatusCode set) gives delivered
// (4) or failed (104 and any other code); a sent-status callback gives sent (2), expired
// (101) or failed. Code is the vendor's numeric code, Reason its name. Times are the
// vendor's epoch milliseconds, else now. MOs (ParseReplies) are skipped, so a body of MOs
// alone gives no receipt and no error.
func ParseReceipts(body []byte, now time.Time) ([]adapters.Receipt, error) {
	var cbs []wavyCallback
	if err := adapters.UnmarshalOneOrMany(body, &cbs); err != nil {
		return nil, err
	}
	out := make([]adapters.Receipt, 0, len(cbs))
	for i, c := range cbs {
		if c.isMO() {
			continue
		}
		field := "[" + strconv.Itoa(i) + "]"
		if c.ID == "" && c.CorrelationID == "" {
			return nil, canonical.Invalid(field+".id", "id or correlationId is required")
		}
		r := adapters.Receipt{ID: c.CorrelationID, UpstreamID: c.ID}
		code, ok := adapters.JSONInt(c.DeliveredStatusCode)
		at := c.DeliveredAt
		name := c.DeliveredStatus
		switch {
		case ok:
			r.Change.Status = canonical.StatusFailed
			if code == CodeDeliveredSuccess {
				r.Change.Status = canonical.StatusDelivered
			}
		default:
			if code, ok = adapters.JSONInt(c.SentStatusCode); !ok {
				return nil, canonical.Invalid(field+".sentStatusCode", "a sent or delivered status code is required")
			}
			at, name = c.SentAt, c.SentStatus
			if len(bytes.TrimSpace(at)) == 0 || string(at) == "null" {
				at = c.SentStatusAt
			}
			switch code {
			case CodeSentSuccess:
				r.Change.Status = canonical.StatusSent
			case CodeExpired:
				r.Change.Status = canonical.StatusExpired
			default:
				r.Change.Status = canonical.StatusFailed
			}
		}
		if r.Change.Status != canonical.StatusSent && r.Change.Status != canonical.StatusDelivered {
			r.Change.Code = strconv.FormatInt(code, 10)
			r.Change.Reason = name
			if r.Change.Reason == "" {
				r.Change.Reason = StatusName(int(code))
			}
		}
		r.Change.At = now
		if ms, ok := adapters.JSONInt(at); ok && ms > 0 {
			r.Change.At = time.UnixMilli(ms).UTC()
		}
		out = append(out, r)
	}
	return out, nil
}
