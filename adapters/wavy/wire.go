package wavy

import (
	"bytes"

	"github.com/goccy/go-json"
)

// wireMsg is one message as the vendor's JSON writes it. The bulk request's root and its
// defaultValues carry the same fields.
//
// Scalars the vendor's (Java) service coerces get their own types below: they record a
// wrong type instead of failing the whole decode, so the error can name the field.
type wireMsg struct {
	Destination      string                `json:"destination"`
	MessageText      string                `json:"messageText"`
	CorrelationID    string                `json:"correlationId"`
	ExtraInfo        string                `json:"extraInfo"`
	TimeWindow       []int                 `json:"timeWindow"`
	ExpiresAt        jsonLong              `json:"expiresAt"`
	ExpiresInMinutes jsonLong              `json:"expiresInMinutes"`
	ExpiresDate      string                `json:"expiresDate"`
	ScheduledAt      jsonLong              `json:"scheduledAt"`
	DelayedInMinutes jsonLong              `json:"delayedInMinutes"`
	ScheduledDate    string                `json:"scheduledDate"`
	TimeZone         string                `json:"timeZone"`
	CampaignAlias    string                `json:"campaignAlias"`
	FlashSMS         jsonBool              `json:"flashSMS"`
	FlowID           string                `json:"flowId"`
	SubAccount       string                `json:"subAccount"`
	Params           map[string]jsonScalar `json:"params"`
}

// wireBulk is a send-bulk-sms request: fields at the root apply to every message.
type wireBulk struct {
	wireMsg
	Messages      []wireMsg `json:"messages"`
	DefaultValues *wireMsg  `json:"defaultValues"`
}

func (w *wireMsg) hasExpiry() bool {
	return w.ExpiresAt.given() || w.ExpiresInMinutes.given() || w.ExpiresDate != ""
}

func (w *wireMsg) hasSchedule() bool {
	return w.ScheduledAt.given() || w.DelayedInMinutes.given() || w.ScheduledDate != ""
}

// inherit fills what w leaves out from d (a less specific level). An empty string counts
// as left out. The expiry fields and the schedule fields are inherited as a group, so a
// message's own expiresDate is never combined with a default expiresInMinutes. Params are
// merged key by key elsewhere.
func (w *wireMsg) inherit(d *wireMsg) {
	if d == nil {
		return
	}
	inheritString(&w.Destination, d.Destination)
	inheritString(&w.MessageText, d.MessageText)
	inheritString(&w.CorrelationID, d.CorrelationID)
	inheritString(&w.ExtraInfo, d.ExtraInfo)
	inheritString(&w.TimeZone, d.TimeZone)
	inheritString(&w.CampaignAlias, d.CampaignAlias)
	inheritString(&w.FlowID, d.FlowID)
	inheritString(&w.SubAccount, d.SubAccount)
	if len(w.TimeWindow) == 0 {
		w.TimeWindow = d.TimeWindow
	}
	if !w.FlashSMS.set {
		w.FlashSMS = d.FlashSMS
	}
	if !w.hasExpiry() {
		w.ExpiresAt, w.ExpiresInMinutes, w.ExpiresDate = d.ExpiresAt, d.ExpiresInMinutes, d.ExpiresDate
	}
	if !w.hasSchedule() {
		w.ScheduledAt, w.DelayedInMinutes, w.ScheduledDate = d.ScheduledAt, d.DelayedInMinutes, d.ScheduledDate
	}
}

func inheritString(dst *string, s string) {
	if *dst == "" {
		*dst = s
	}
}

// jsonLong is a Long field: a JSON integer, or a string of digits as Jackson coerces it.
// null, "" and 0 mean not given (0 is what a client serialising an unset Java long sends).
type jsonLong struct {
	v        int64
	set, bad bool
}

func (l *jsonLong) given() bool { return l.set && l.v != 0 }

func (l *jsonLong) UnmarshalJSON(p []byte) error {
	*l = jsonLong{}
	if string(p) == "null" {
		return nil
	}
	if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		p = bytes.TrimSpace(p[1 : len(p)-1])
		if len(p) == 0 {
			return nil
		}
	}
	v, ok := parseInt(p)
	l.v, l.set, l.bad = v, ok, !ok
	return nil
}

// parseInt parses an optionally signed decimal integer without allocating.
func parseInt(p []byte) (int64, bool) {
	neg := false
	if len(p) > 0 && (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-'
		p = p[1:]
	}
	if len(p) == 0 || len(p) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// jsonBool is a Boolean field: true/false, or the strings "true"/"false" as the
// document's own bulk example 3 sends flashSMS.
type jsonBool struct {
	v, set, bad bool
}

func (b *jsonBool) UnmarshalJSON(p []byte) error {
	*b = jsonBool{}
	s := string(p)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if s == "" {
			return nil
		}
	}
	switch {
	case s == "null":
	case s == "true" || equalFold(s, "true"):
		b.v, b.set = true, true
	case s == "false" || equalFold(s, "false"):
		b.set = true
	default:
		b.bad = true
	}
	return nil
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// jsonScalar is a params value: text, or a number or Boolean taken as its JSON text
// (Jackson coerces scalars into a Map<String,String>). Objects and arrays are refused;
// a null value is dropped.
type jsonScalar struct {
	s         string
	bad, null bool
}

func (v *jsonScalar) UnmarshalJSON(p []byte) error {
	*v = jsonScalar{}
	if len(p) == 0 {
		return nil
	}
	switch p[0] {
	case '"':
		return json.Unmarshal(p, &v.s)
	case '{', '[':
		v.bad = true
	case 'n': // null: as if the key were absent
		v.null = true
	default:
		v.s = string(p)
	}
	return nil
}
