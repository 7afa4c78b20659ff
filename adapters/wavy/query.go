package wavy

import (
	"bytes"
	"strconv"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Query parameters of GET /v1/send-sms, matched case-insensitively. Each may appear once,
// except timeWindow (repeated or comma-separated) and params[key] / params.key.
const (
	qDestination = iota
	qMessageText
	qCorrelationID
	qExtraInfo
	qTimeWindow
	qExpiresAt
	qExpiresInMinutes
	qExpiresDate
	qScheduledAt
	qDelayedInMinutes
	qScheduledDate
	qTimeZone
	qCampaignAlias
	qFlashSMS
	qFlowID
	qSubAccount
	qCount
)

var queryNames = [qCount]string{"destination", "messageText", "correlationId", "extraInfo", "timeWindow",
	"expiresAt", "expiresInMinutes", "expiresDate", "scheduledAt", "delayedInMinutes", "scheduledDate",
	"timeZone", "campaignAlias", "flashSMS", "flowId", "subAccount"}

func queryField(k []byte) int {
	for i, n := range queryNames {
		if len(k) == len(n) && bytes.EqualFold(k, []byte(n)) {
			return i
		}
	}
	return -1
}

// decodeQuery reads GET /v1/send-sms?destination=...&messageText=... . Values arrive
// percent-decoded ("+" is a space, %0A a line break).
func (in *Inbound) decodeQuery(c *adapters.Call, b *adapters.Batch) error {
	var w wireMsg
	var seen [qCount]bool
	params := map[string]jsonScalar(nil)
	for k, v := range c.Req.URI().QueryArgs().All() {
		f := queryField(k)
		if f < 0 {
			if key, ok := paramKey(k); ok {
				if params == nil {
					params = make(map[string]jsonScalar)
				}
				params[key] = jsonScalar{s: string(v)}
			}
			continue // unknown parameters (and the credential) are ignored
		}
		if seen[f] && f != qTimeWindow {
			return canonical.Invalid(queryNames[f], "is given more than once")
		}
		seen[f] = true
		if len(v) == 0 {
			continue
		}
		var err error
		switch f {
		case qDestination:
			w.Destination = string(v)
		case qMessageText:
			w.MessageText = string(v)
		case qCorrelationID:
			w.CorrelationID = string(v)
		case qExtraInfo:
			w.ExtraInfo = string(v)
		case qTimeWindow:
			w.TimeWindow, err = appendHours(w.TimeWindow, v)
		case qExpiresAt:
			err = queryLong(&w.ExpiresAt, v, f)
		case qExpiresInMinutes:
			err = queryLong(&w.ExpiresInMinutes, v, f)
		case qExpiresDate:
			w.ExpiresDate = string(v)
		case qScheduledAt:
			err = queryLong(&w.ScheduledAt, v, f)
		case qDelayedInMinutes:
			err = queryLong(&w.DelayedInMinutes, v, f)
		case qScheduledDate:
			w.ScheduledDate = string(v)
		case qTimeZone:
			w.TimeZone = string(v)
		case qCampaignAlias:
			w.CampaignAlias = string(v)
		case qFlashSMS:
			w.FlashSMS, err = queryBool(v)
		case qFlowID:
			w.FlowID = string(v)
		case qSubAccount:
			w.SubAccount = string(v)
		}
		if err != nil {
			return err
		}
	}
	w.Params = params
	if err := in.check(&w, rootPath); err != nil {
		return err
	}
	m, err := in.build(c, &w, paramsOf(&w), rootPath)
	if err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

// paramKey reads "params[key]" or "params.key" (the two forms Spring binds to a map).
func paramKey(k []byte) (string, bool) {
	const p = "params"
	if len(k) < len(p)+2 || !bytes.EqualFold(k[:len(p)], []byte(p)) {
		return "", false
	}
	rest := k[len(p):]
	switch {
	case rest[0] == '.':
		return string(rest[1:]), true
	case rest[0] == '[' && rest[len(rest)-1] == ']' && len(rest) > 2:
		return string(rest[1 : len(rest)-1]), true
	}
	return "", false
}

// appendHours reads "11,12,18" (brackets and spaces allowed) into hours.
func appendHours(hours []int, v []byte) ([]int, error) {
	v = bytes.Trim(v, "[] ")
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		part = bytes.TrimSpace(part)
		if len(part) == 0 {
			continue
		}
		h, ok := parseInt(part)
		if !ok || h < -1<<31 || h > 1<<31 {
			return nil, canonical.Invalid("timeWindow", "%q is not a list of hours", part)
		}
		hours = append(hours, int(h))
	}
	return hours, nil
}

func queryLong(l *jsonLong, v []byte, f int) error {
	n, ok := parseInt(bytes.TrimSpace(v))
	if !ok {
		return canonical.Invalid(queryNames[f], "%s is not an Integer", strconv.Quote(string(v)))
	}
	*l = jsonLong{v: n, set: true}
	return nil
}

// queryBool reads the forms Spring converts to a Boolean.
func queryBool(v []byte) (jsonBool, error) {
	switch string(bytes.ToLower(bytes.TrimSpace(v))) {
	case "true", "on", "yes", "1":
		return jsonBool{v: true, set: true}, nil
	case "false", "off", "no", "0":
		return jsonBool{set: true}, nil
	}
	return jsonBool{}, canonical.Invalid("flashSMS", "%s is not a Boolean (true or false)", strconv.Quote(string(v)))
}
