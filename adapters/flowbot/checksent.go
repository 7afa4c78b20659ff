package flowbot

import (
	"bytes"
	"strconv"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// ParseCheckSent reads GET|POST /api/templates/check-sent. GET takes the query string:
// phones (comma-separated, or repeated), templateName, hours; POST takes the JSON body
// {phones[], templateName?, hours?}. hours defaults to 24. Phones come back as E.164 digits
// (the form of Message.To), in the request's order.
func ParseCheckSent(c *adapters.Call) (phones []string, templateName string, hours int, err error) {
	var raw []string
	if c.Req.Header.IsGet() || c.Req.Header.IsHead() {
		raw, templateName, hours, err = checkSentQuery(c)
	} else {
		raw, templateName, hours, err = checkSentBody(c)
	}
	if err != nil {
		return nil, "", 0, err
	}
	if len(raw) == 0 {
		return nil, "", 0, canonical.Invalid("phones", "is required (a non-empty array)")
	}
	if len(raw) > MaxCheckPhones {
		return nil, "", 0, canonical.Invalid("phones", "has %d numbers; at most %d per request", len(raw), MaxCheckPhones)
	}
	if len(templateName) > canonical.MaxFieldBytes {
		return nil, "", 0, canonical.Invalid("templateName", "is longer than %d bytes", canonical.MaxFieldBytes)
	}
	phones = make([]string, len(raw))
	for i, p := range raw {
		if phones[i], err = phoneTo("phones", p, c.Account); err != nil {
			err.(*canonical.Error).Field = indexed("phones", i)
			return nil, "", 0, err
		}
	}
	return phones, templateName, hours, nil
}

func checkSentQuery(c *adapters.Call) (raw []string, templateName string, hours int, err error) {
	args := c.Req.URI().QueryArgs()
	for _, key := range [...]string{"phones", "phones[]"} {
		for _, v := range args.PeekMulti(key) {
			for _, p := range bytes.Split(v, []byte{','}) {
				if p = bytes.TrimSpace(p); len(p) > 0 {
					raw = append(raw, string(p))
				}
			}
		}
	}
	templateName = string(args.Peek("templateName"))
	hours = DefaultCheckHours
	if h := args.Peek("hours"); len(h) > 0 {
		n, perr := strconv.Atoi(string(h))
		if perr != nil || n <= 0 || n > MaxCheckHours {
			return nil, "", 0, canonical.Invalid("hours", "must be a whole number of hours from 1 to %d", MaxCheckHours)
		}
		hours = n
	}
	return raw, templateName, hours, nil
}

func checkSentBody(c *adapters.Call) (raw []string, templateName string, hours int, err error) {
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return nil, "", 0, err
	}
	hours = DefaultCheckHours
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		switch k := string(keyName(key)); k {
		case "phones":
			if kindOf(val) == kindNull {
				continue
			}
			if kindOf(val) != kindArray {
				return nil, "", 0, canonical.Invalid(k, "must be an array of phone numbers, not %s", kindOf(val))
			}
			raw = raw[:0]
			for pit, i := elements(val), 0; ; i++ {
				p, ok := pit.nextElement()
				if !ok {
					break
				}
				if kindOf(p) != kindString {
					return nil, "", 0, canonical.Invalid(indexed("phones", i), "must be a string, not %s", kindOf(p))
				}
				s, _ := unquote(p)
				raw = append(raw, s)
				if len(raw) > MaxCheckPhones {
					return nil, "", 0, canonical.Invalid(k, "has more than %d numbers; at most %d per request", MaxCheckPhones, MaxCheckPhones)
				}
			}
		case "templateName":
			if templateName, err = stringField(k, val); err != nil {
				return nil, "", 0, err
			}
		case "hours":
			switch kindOf(val) {
			case kindNull:
				hours = DefaultCheckHours
			case kindNumber:
				n, perr := strconv.Atoi(string(val))
				if perr != nil || n <= 0 || n > MaxCheckHours {
					return nil, "", 0, canonical.Invalid(k, "must be a whole number of hours from 1 to %d", MaxCheckHours)
				}
				hours = n
			default:
				return nil, "", 0, canonical.Invalid(k, "must be a number, not %s", kindOf(val))
			}
		}
	}
	return raw, templateName, hours, nil
}

// isoMillis is how the vendor's JavaScript server writes times (Date.toISOString).
const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// AppendCheckSentAnswer appends check-sent's (undocumented) answer: one result per phone,
// in the request's order, {"success":true,"results":[{"phone":"+972501234567","sent":true,
// "lastSentAt":"2023-04-26T11:11:58.000Z"}, {"phone":"+972501234568","sent":false}]}.
// phones are E.164 digits as ParseCheckSent returns them; sent maps those that were sent a
// template within the window to the last time.
func AppendCheckSentAnswer(dst []byte, phones []string, sent map[string]time.Time) []byte {
	dst = append(dst, `{"success":true,"results":[`...)
	for i, p := range phones {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"phone":`...)
		dst = adapters.AppendJSONString(dst, "+"+p)
		at, ok := sent[p]
		if ok {
			dst = append(dst, `,"sent":true,"lastSentAt":"`...)
			dst = at.UTC().AppendFormat(dst, isoMillis)
			dst = append(dst, `"}`...)
		} else {
			dst = append(dst, `,"sent":false}`...)
		}
	}
	return append(dst, "]}"...)
}
