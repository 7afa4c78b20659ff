package wavy

import (
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Limits of the MO pull endpoints (GET /v1/sms/receive/list and /search), as the vendor
// documents them.
const (
	// maxReceive is how many MOs one answer holds at most.
	maxReceive = 1000
	// receiveListWindow is the span receive/list answers for: MOs of the last 3 days.
	receiveListWindow = 3 * 24 * time.Hour
	// receiveLookback is receive/search's default start before now, and the oldest start
	// it takes: nothing older than 5 days.
	receiveLookback = 5 * 24 * time.Hour
)

// serveReceive answers the MO pull endpoints from the gateway's stored replies: list
// returns those no earlier call returned (and consumes them), search those received in
// [start, end). Both answer {"total","start","end","messages":[SMS MOs]}.
func serveReceive(c *adapters.Call, env adapters.Env, dst []byte) (int, []byte, error) {
	if env.Replies == nil {
		return 0, dst, canonical.Errorf(canonical.ErrUnavailable, "replies are not kept by this gateway")
	}
	loc, err := accountZone(c.Account)
	if err != nil {
		return 0, dst, err
	}
	tenant := c.Account.Tenant
	var rs []canonical.Reply
	start, end := c.Now.Add(-receiveListWindow), c.Now
	if c.Op == adapters.OpReplySearch {
		if start, end, err = ParseReceiveSearch(c, loc); err != nil {
			return 0, dst, err
		}
		rs, err = env.Replies.Between(tenant, start, end, maxReceive)
	} else {
		rs, err = env.Replies.Unlisted(tenant, maxReceive)
	}
	if err != nil {
		return 0, dst, err
	}
	return 200, AppendReceiveAnswer(dst, rs, start, end, loc), nil
}

// accountZone is the tenant's time zone (wavy.time_zone), UTC when it has none.
func accountZone(a *adapters.Account) (*time.Location, error) {
	if a.TimeZone == "" || a.TimeZone == "UTC" {
		return time.UTC, nil
	}
	return canonical.LoadLocation(a.TimeZone)
}

// ParseReceiveSearch reads receive/search's start and end: yyyy-MM-dd'T'HH:mm:ss in loc
// (the tenant's zone), or with an explicit zone. start defaults to 5 days before now and is
// moved up to that when older; end defaults to now and must come after start.
func ParseReceiveSearch(c *adapters.Call, loc *time.Location) (start, end time.Time, err error) {
	oldest := c.Now.Add(-receiveLookback)
	start, end = oldest, c.Now
	args := c.Req.URI().QueryArgs()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &start}, {"end", &end}} {
		v := string(args.Peek(p.name))
		if v == "" {
			continue
		}
		t, err := parseDate(v, loc)
		if err != nil {
			return start, end, canonical.Invalid(p.name, "%q is not a date (yyyy-MM-ddTHH:mm:ss)", v)
		}
		*p.dst = t.UTC()
	}
	if start.Before(oldest) {
		start = oldest
	}
	if !end.After(start) {
		return start, end, canonical.Invalid("end", "must come after start (and start after 5 days ago)")
	}
	return start, end, nil
}

// AppendReceiveAnswer renders an MO pull answer: {"total":N,"start":"...","end":"...",
// "messages":[...]}, start and end as yyyy-MM-dd'T'HH:mm:ss in loc, each MO in the SMS shape
// (AppendSMSMO), whatever channel it came on.
func AppendReceiveAnswer(dst []byte, rs []canonical.Reply, start, end time.Time, loc *time.Location) []byte {
	dst = append(dst, `{"total":`...)
	dst = appendInt(dst, int64(len(rs)))
	dst = append(dst, `,"start":"`...)
	dst = start.In(loc).AppendFormat(dst, dateLayout)
	dst = append(dst, `","end":"`...)
	dst = end.In(loc).AppendFormat(dst, dateLayout)
	dst = append(dst, `","messages":[`...)
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendSMSMO(dst, &rs[i])
	}
	return append(dst, "]}"...)
}
