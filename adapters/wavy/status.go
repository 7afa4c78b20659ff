package wavy

import (
	"bytes"
	"strconv"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Status queries and callbacks. The gateway serves them from its own status records; this
// file only translates: the query's ids in, the vendor's record shape out.

// Sent status codes (the first status: did the carrier take the message).
const (
	CodeSentSuccess                    = 2
	CodeExpired                        = 101
	CodeCarrierCommunicationError      = 102
	CodeRejectedByCarrier              = 103
	CodeNoCredit                       = 201
	CodeInvalidDestinationNumber       = 202
	CodeBlacklisted                    = 203
	CodeDestinationBlockedByOptout     = 204
	CodeDestinationMessageLimitReached = 205
	CodeInvalidMessageText             = 207
	CodeInternalError                  = 301
)

// Delivered status codes (the second status: did the handset get it).
const (
	CodeDeliveredSuccess = 4
	CodeNotDelivered     = 104
)

// StatusName returns the vendor's name for a sent or delivered status code, or "".
func StatusName(code int) string {
	switch code {
	case CodeSentSuccess:
		return "SENT_SUCCESS"
	case CodeExpired:
		return "EXPIRED"
	case CodeCarrierCommunicationError:
		return "CARRIER_COMMUNICATION_ERROR"
	case CodeRejectedByCarrier:
		return "REJECTED_BY_CARRIER"
	case CodeNoCredit:
		return "NO_CREDIT"
	case CodeInvalidDestinationNumber:
		return "INVALID_DESTINATION_NUMBER"
	case CodeBlacklisted:
		return "BLACKLISTED"
	case CodeDestinationBlockedByOptout:
		return "DESTINATION_BLOCKED_BY_OPTOUT"
	case CodeDestinationMessageLimitReached:
		return "DESTINATION_MESSAGE_LIMIT_REACHED"
	case CodeInvalidMessageText:
		return "INVALID_MESSAGE_TEXT"
	case CodeInternalError:
		return "INTERNAL_ERROR"
	case CodeDeliveredSuccess:
		return "DELIVERED_SUCCESS"
	case CodeNotDelivered:
		return "NOT_DELIVERED"
	}
	return ""
}

// ParseStatusSearch reads the ids a status query asks for: the JSON body of
// POST /v1/sms/status/search {"ids":[...],"correlationIds":[...]}, or the query of the legacy
// GET /v1/sms-status?id=... (also correlationId=...; repeated or comma-separated). At least
// one and at most 1000 ids in all.
func ParseStatusSearch(c *adapters.Call) (ids, correlationIDs []string, err error) {
	if string(c.Req.Header.Method()) == "POST" {
		var q struct {
			IDs            []string `json:"ids"`
			CorrelationIDs []string `json:"correlationIds"`
		}
		if err := unmarshal(c.Req.Body(), &q); err != nil {
			return nil, nil, err
		}
		ids, correlationIDs = nonEmpty(q.IDs), nonEmpty(q.CorrelationIDs)
	} else {
		for k, v := range c.Req.URI().QueryArgs().All() {
			switch {
			case bytes.EqualFold(k, []byte("id")) || bytes.EqualFold(k, []byte("ids")):
				ids = appendList(ids, v)
			case bytes.EqualFold(k, []byte("correlationId")) || bytes.EqualFold(k, []byte("correlationIds")):
				correlationIDs = appendList(correlationIDs, v)
			}
		}
	}
	switch n := len(ids) + len(correlationIDs); {
	case n == 0:
		return nil, nil, canonical.Invalid("ids", "at least one id or correlationId is required")
	case n > maxStatusIDs:
		return nil, nil, canonical.Invalid("ids", "at most %d ids and correlationIds per query", maxStatusIDs)
	}
	return ids, correlationIDs, nil
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func appendList(dst []string, v []byte) []string {
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if part = bytes.TrimSpace(part); len(part) > 0 {
			dst = append(dst, string(part))
		}
	}
	return dst
}

// StatusEntry is one message with its status history, as the gateway keeps them.
type StatusEntry struct {
	Message *canonical.Message
	History []canonical.Change
}

// AppendStatusAnswer renders the answer to a status search, legacy status query or status
// list: {"smsStatuses":[record, ...]}. Ids the gateway does not know are simply absent.
func AppendStatusAnswer(dst []byte, entries []StatusEntry) []byte {
	dst = append(dst, `{"smsStatuses":[`...)
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendStatusRecord(dst, e.Message, e.History)
	}
	return append(dst, "]}"...)
}

// wavyStatus is a message's history seen through the vendor's two statuses. A zero code
// means not known yet.
type wavyStatus struct {
	sentCode, deliveredCode int
	sentAt, deliveredAt     time.Time
}

// statusOf maps a canonical history (oldest first) onto the sent and delivered statuses:
// sent is 2; a failure before sent is the upstream's own Wavy code when it kept one, else
// expired 101, dead (retries exhausted) 102, rejected 103, failed 103 when an upstream
// refused it and 301 otherwise; delivered or read is 4 (and implies sent); a failure after
// sent is 104. With no history, the message's current status stands alone, without time.
func statusOf(m *canonical.Message, history []canonical.Change) wavyStatus {
	var s wavyStatus
	if len(history) == 0 {
		s.apply(canonical.Change{Status: m.Status})
		return s
	}
	for _, ch := range history {
		s.apply(ch)
	}
	return s
}

func (s *wavyStatus) apply(ch canonical.Change) {
	switch ch.Status {
	case canonical.StatusSent:
		if s.sentCode != CodeSentSuccess {
			s.sentCode, s.sentAt = CodeSentSuccess, ch.At
		}
	case canonical.StatusDelivered, canonical.StatusRead:
		if s.sentCode != CodeSentSuccess {
			s.sentCode, s.sentAt = CodeSentSuccess, ch.At
		}
		if s.deliveredCode != CodeDeliveredSuccess {
			s.deliveredCode, s.deliveredAt = CodeDeliveredSuccess, ch.At
		}
	case canonical.StatusFailed, canonical.StatusExpired, canonical.StatusRejected, canonical.StatusDead:
		if s.sentCode == CodeSentSuccess {
			if s.deliveredCode == 0 {
				s.deliveredCode, s.deliveredAt = CodeNotDelivered, ch.At
			}
			return
		}
		s.sentCode, s.sentAt = failCode(ch), ch.At
	}
}

func failCode(ch canonical.Change) int {
	if ch.Code == canonical.CodeOptedOut {
		return CodeDestinationBlockedByOptout
	}
	if code, err := strconv.Atoi(ch.Code); err == nil && code != CodeSentSuccess && code >= 100 && StatusName(code) != "" && code != CodeNotDelivered {
		return code
	}
	switch ch.Status {
	case canonical.StatusExpired:
		return CodeExpired
	case canonical.StatusDead:
		return CodeCarrierCommunicationError
	case canonical.StatusRejected:
		return CodeRejectedByCarrier
	}
	if ch.Upstream != "" {
		return CodeRejectedByCarrier
	}
	return CodeInternalError
}

// AppendStatusRecord renders one status record: id, correlationId, carrierId,
// carrierName, destination, sentStatusCode, sentStatus, sentStatusAt, sentStatusDate,
// deliveredStatusCode, deliveredStatus, deliveredAt, deliveredDate, campaignId, extraInfo.
// What is not known yet is null. *At are epoch milliseconds, *Date ISO-8601 UTC.
func AppendStatusRecord(dst []byte, m *canonical.Message, history []canonical.Change) []byte {
	s := statusOf(m, history)
	dst = appendHead(dst, m)
	dst = appendCode(dst, "sentStatusCode", "sentStatus", s.sentCode)
	dst = appendAtDate(dst, "sentStatusAt", "sentStatusDate", s.sentAt)
	dst = appendCode(dst, "deliveredStatusCode", "deliveredStatus", s.deliveredCode)
	dst = appendAtDate(dst, "deliveredAt", "deliveredDate", s.deliveredAt)
	return appendTail(dst, m)
}

// AppendSentCallback renders the sent-status callback for m: id, correlationId, carrierId,
// carrierName, destination, sentStatusCode, sentStatus, sentAt, sentDate (and the same time
// as sentStatusAt, sentStatusDate, as the documents spell it both ways), campaignId,
// extraInfo.
func AppendSentCallback(dst []byte, m *canonical.Message, history []canonical.Change) []byte {
	s := statusOf(m, history)
	dst = appendHead(dst, m)
	dst = appendSent(dst, s)
	return appendTail(dst, m)
}

// AppendDeliveryCallback renders the delivery receipt for m: the sent-status callback's
// fields plus deliveredStatusCode, deliveredStatus, deliveredAt, deliveredDate.
func AppendDeliveryCallback(dst []byte, m *canonical.Message, history []canonical.Change) []byte {
	s := statusOf(m, history)
	dst = appendHead(dst, m)
	dst = appendSent(dst, s)
	dst = appendCode(dst, "deliveredStatusCode", "deliveredStatus", s.deliveredCode)
	dst = appendAtDate(dst, "deliveredAt", "deliveredDate", s.deliveredAt)
	return appendTail(dst, m)
}

// CallbacksDue says which callbacks the last change of history calls for: the sent-status
// callback when it settles the sent status (sent, or a failure before sent), the delivery
// receipt when it settles the delivered status. A message delivered at once gets both.
func CallbacksDue(m *canonical.Message, history []canonical.Change) (sent, delivery bool) {
	if len(history) == 0 {
		return false, false
	}
	before, after := wavyStatus{}, statusOf(m, history)
	for _, ch := range history[:len(history)-1] {
		before.apply(ch)
	}
	return after.sentCode != before.sentCode, after.deliveredCode != before.deliveredCode
}

func appendSent(dst []byte, s wavyStatus) []byte {
	dst = appendCode(dst, "sentStatusCode", "sentStatus", s.sentCode)
	dst = appendAtDate(dst, "sentAt", "sentDate", s.sentAt)
	return appendAtDate(dst, "sentStatusAt", "sentStatusDate", s.sentAt)
}

func appendHead(dst []byte, m *canonical.Message) []byte {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, m.ID)
	dst = append(dst, `,"correlationId":`...)
	dst = appendStringOrNull(dst, m.ClientRef)
	dst = append(dst, `,"carrierId":`...)
	dst = appendNumberOrString(dst, m.Extra["carrierId"])
	dst = append(dst, `,"carrierName":`...)
	dst = appendStringOrNull(dst, m.Extra["carrierName"])
	dst = append(dst, `,"destination":`...)
	return adapters.AppendJSONString(dst, m.To)
}

func appendTail(dst []byte, m *canonical.Message) []byte {
	dst = append(dst, `,"campaignId":`...)
	dst = appendNumberOrString(dst, m.Extra["campaignId"])
	dst = append(dst, `,"extraInfo":`...)
	dst = appendStringOrNull(dst, m.Extra["extraInfo"])
	return append(dst, '}')
}

func appendCode(dst []byte, codeKey, nameKey string, code int) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, codeKey...)
	dst = append(dst, '"', ':')
	if code == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = appendInt(dst, int64(code))
	}
	dst = append(dst, ',', '"')
	dst = append(dst, nameKey...)
	dst = append(dst, '"', ':')
	return appendStringOrNull(dst, StatusName(code))
}

// appendNumberOrString renders an id kept in Extra (carrierId, campaignId: integers at the
// vendor) as a number when it is one, else as a string; null when absent.
func appendNumberOrString(dst []byte, s string) []byte {
	if _, ok := parseInt([]byte(s)); ok && s[0] != '+' && !(len(s) > 1 && s[0] == '0') {
		return append(dst, s...)
	}
	return appendStringOrNull(dst, s)
}
