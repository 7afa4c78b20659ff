package wavy

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// dateLayout is the vendor's yyyy-MM-dd'T'HH:mm:ss. Go's parser also takes a fractional
// second after it; an explicit zone ("Z", "-03:00") is taken by the RFC 3339 fallback.
const dateLayout = "2006-01-02T15:04:05"

// Times must fit the queue's encoding (Unix nanoseconds) and mean something.
var (
	minTime = time.Unix(1, 0)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// msUnixThreshold: a Unix time at or above it is read as milliseconds (in seconds it would
// be the year 5138).
const msUnixThreshold = 100_000_000_000

// path names a level of a request in error messages: the single message or bulk root
// (""), "defaultValues." or "messages[i].". It only formats when an error is built.
type path struct {
	level string
	i     int
}

var (
	rootPath     = path{}
	defaultsPath = path{level: "defaultValues."}
)

func msgPath(i int) path { return path{level: "messages", i: i} }

func (p path) name(field string) string {
	if p.level == "messages" {
		return "messages[" + strconv.Itoa(p.i) + "]." + field
	}
	return p.level + field
}

func (in *Inbound) decodeSingle(c *adapters.Call, b *adapters.Batch) error {
	var w wireMsg
	if err := unmarshal(c.Req.Body(), &w); err != nil {
		return err
	}
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

func (in *Inbound) decodeBulk(c *adapters.Call, b *adapters.Batch) error {
	var w wireBulk
	if err := unmarshal(c.Req.Body(), &w); err != nil {
		return err
	}
	switch {
	case len(w.Messages) == 0:
		return canonical.Invalid("messages", "at least one message is required")
	case len(w.Messages) > maxBulk:
		return canonical.Invalid("messages", "at most %d messages per request, not %d", maxBulk, len(w.Messages))
	}
	root, defs := &w.wireMsg, w.DefaultValues
	if err := in.check(root, rootPath); err != nil {
		return err
	}
	if defs != nil {
		if err := in.check(defs, defaultsPath); err != nil {
			return err
		}
	}
	for i := range w.Messages {
		if err := in.check(&w.Messages[i], msgPath(i)); err != nil {
			return err
		}
	}
	var defParams map[string]jsonScalar
	if defs != nil {
		defParams = defs.Params
	}
	b.ID = canonical.NewID()
	for i := range w.Messages {
		eff := &w.Messages[i]
		vars := mergeParams(root.Params, defParams, eff.Params)
		eff.inherit(defs)
		eff.inherit(root)
		m, err := in.build(c, eff, vars, msgPath(i))
		if err != nil {
			clear(b.Messages)
			b.Messages, b.ID = b.Messages[:0], ""
			return err
		}
		b.Messages = append(b.Messages, m)
	}
	return nil
}

// unmarshal decodes a JSON body, turning the decoder's errors into ErrInvalid naming the
// vendor's field.
func unmarshal(body []byte, v any) error {
	if len(body) == 0 {
		return canonical.Invalid("", "Required request body is missing")
	}
	if e := adapters.CheckJSONText(body); e != nil {
		return e
	}
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return canonical.Invalid("", "request body must be a JSON object, not %s", te.Value)
		}
		return canonical.Invalid(fieldPath(te.Field), "must be %s, not %s", typeName(te.Type), te.Value)
	}
	return canonical.Invalid("", "malformed JSON: %v", err)
}

// fieldPath turns the decoder's "messages.0.destination" into "messages[0].destination".
func fieldPath(f string) string {
	var sb strings.Builder
	for i, part := range strings.Split(f, ".") {
		if _, err := strconv.Atoi(part); err == nil && i > 0 {
			sb.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(part)
	}
	return sb.String()
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a String"
	case reflect.Int, reflect.Int64:
		return "an Integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return t.Kind().String()
}

// check applies the vendor's per-field rules to one level of a request, before levels are
// merged, so that an error names the field where the client wrote it.
func (in *Inbound) check(w *wireMsg, p path) error {
	if w.FlashSMS.bad {
		return canonical.Invalid(p.name("flashSMS"), "must be a Boolean (true or false)")
	}
	for _, l := range [...]struct {
		name string
		v    *jsonLong
	}{{"expiresAt", &w.ExpiresAt}, {"expiresInMinutes", &w.ExpiresInMinutes},
		{"scheduledAt", &w.ScheduledAt}, {"delayedInMinutes", &w.DelayedInMinutes}} {
		if l.v.bad {
			return canonical.Invalid(p.name(l.name), "must be an Integer")
		}
		if l.v.v < 0 {
			return canonical.Invalid(p.name(l.name), "must not be negative")
		}
	}
	for _, s := range [...]struct {
		name, v string
		max     int
	}{{"messageText", w.MessageText, maxText}, {"correlationId", w.CorrelationID, maxCorrelationID},
		{"extraInfo", w.ExtraInfo, maxExtraInfo}, {"campaignAlias", w.CampaignAlias, 0},
		{"flowId", w.FlowID, 0}, {"subAccount", w.SubAccount, 0}, {"timeZone", w.TimeZone, 0}} {
		if err := checkText(p, s.name, s.v, s.max); err != nil {
			return err
		}
	}
	if len(w.TimeWindow) > 24 {
		return canonical.Invalid(p.name("timeWindow"), "must list at most 24 hours")
	}
	for _, h := range w.TimeWindow {
		if h < 0 || h > 23 {
			return canonical.Invalid(p.name("timeWindow"), "hour %d is not between 0 and 23", h)
		}
	}
	if f := exclusive(w.ExpiresAt.given(), w.ExpiresInMinutes.given(), w.ExpiresDate != "", expiryFields); f != "" {
		return canonical.Invalid(p.name(f), "expiresAt, expiresInMinutes and expiresDate are mutually exclusive: use only one")
	}
	if f := exclusive(w.ScheduledAt.given(), w.DelayedInMinutes.given(), w.ScheduledDate != "", scheduleFields); f != "" {
		return canonical.Invalid(p.name(f), "scheduledAt, delayedInMinutes and scheduledDate are mutually exclusive: use only one")
	}
	if w.ExpiresDate != "" {
		if _, err := parseDate(w.ExpiresDate, time.UTC); err != nil {
			return canonical.Invalid(p.name("expiresDate"), "%q is not a date in the format yyyy-MM-dd'T'HH:mm:ss", w.ExpiresDate)
		}
	}
	if w.ScheduledDate != "" {
		if _, err := parseDate(w.ScheduledDate, time.UTC); err != nil {
			return canonical.Invalid(p.name("scheduledDate"), "%q is not a date in the format yyyy-MM-dd'T'HH:mm:ss", w.ScheduledDate)
		}
	}
	if w.TimeZone != "" {
		if _, err := in.zone(w.TimeZone); err != nil {
			return canonical.Invalid(p.name("timeZone"), "unknown time zone %q", w.TimeZone)
		}
	}
	if len(w.Params) > canonical.MaxVars {
		return canonical.Invalid(p.name("params"), "at most %d params", canonical.MaxVars)
	}
	for k, v := range w.Params {
		if v.bad {
			return canonical.Invalid(p.name("params."+k), "must be a String")
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v.s) {
			return canonical.Invalid(p.name("params"), "is not valid UTF-8")
		}
	}
	return nil
}

// checkText checks a string field's encoding and length: max is in characters as the
// vendor counts them (UTF-16 code units, Java's String.length), 0 means the canonical
// limit in bytes.
func checkText(p path, name, s string, max int) error {
	if s == "" {
		return nil
	}
	if !utf8.ValidString(s) {
		return canonical.Invalid(p.name(name), "is not valid UTF-8")
	}
	if max == 0 {
		if len(s) > canonical.MaxFieldBytes {
			return canonical.Invalid(p.name(name), "is longer than %d bytes", canonical.MaxFieldBytes)
		}
		return nil
	}
	if len(s) > max && utf16Len(s) > max {
		return canonical.Invalid(p.name(name), "is longer than %d characters", max)
	}
	return nil
}

// utf16Len counts s as Java's String.length does: characters outside the Basic
// Multilingual Plane (most emoji) count twice.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

var (
	expiryFields   = [3]string{"expiresAt", "expiresInMinutes", "expiresDate"}
	scheduleFields = [3]string{"scheduledAt", "delayedInMinutes", "scheduledDate"}
)

// exclusive returns the second field given of a mutually exclusive group, or "".
func exclusive(a, b, c bool, names [3]string) string {
	n := 0
	for i, given := range [3]bool{a, b, c} {
		if given {
			if n++; n > 1 {
				return names[i]
			}
		}
	}
	return ""
}

// paramsOf returns a single message's params as canonical vars.
func paramsOf(w *wireMsg) map[string]string {
	return mergeParams(nil, nil, w.Params)
}

// mergeParams merges params maps from the least to the most specific level, key by key:
// the message's own value wins over defaultValues', which wins over the root's. It
// returns nil when there are none.
func mergeParams(levels ...map[string]jsonScalar) map[string]string {
	n := 0
	for _, l := range levels {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	vars := make(map[string]string, n)
	for _, l := range levels {
		for k, v := range l {
			if !v.null {
				vars[k] = v.s
			}
		}
	}
	if len(vars) == 0 {
		return nil // only null values: the queue keeps no empty maps
	}
	return vars
}

// build turns one merged message into a canonical message.
func (in *Inbound) build(c *adapters.Call, w *wireMsg, vars map[string]string, p path) (*canonical.Message, error) {
	if w.Destination == "" {
		return nil, canonical.Invalid(p.name("destination"), "is required")
	}
	cc := ""
	if c.Account != nil && strings.HasPrefix(strings.TrimSpace(w.Destination), "0") {
		// The document wants the full international number; a number in local form is
		// completed with the tenant's country code rather than refused.
		cc = c.Account.CountryCode
	}
	to, err := canonical.NormalizePhone(w.Destination, cc)
	if err != nil {
		return nil, rename(err, p.name("destination"))
	}
	if w.MessageText == "" && w.FlowID == "" {
		return nil, canonical.Invalid(p.name("messageText"), "is required")
	}
	if len(vars) > 0 && w.FlowID == "" {
		return nil, canonical.Invalid(p.name("params"), "requires flowId")
	}
	tzName := w.TimeZone
	if tzName == "" && c.Account != nil {
		tzName = c.Account.TimeZone
	}
	loc, err := in.zone(tzName)
	if err != nil {
		return nil, canonical.Errorf(canonical.ErrInternal, "the account's time zone %q is unknown", tzName)
	}
	t0 := now(c).UTC()
	m := &canonical.Message{
		Dialect:   Dialect,
		ClientRef: w.CorrelationID,
		To:        to,
		Channel:   canonical.ChannelSMS,
		Text:      w.MessageText,
		FlowID:    w.FlowID,
		Vars:      vars,
		Flash:     w.FlashSMS.v,
	}
	expField := ""
	switch {
	case w.ExpiresAt.given():
		expField, m.ExpiresAt = "expiresAt", unixTime(w.ExpiresAt.v)
	case w.ExpiresInMinutes.given():
		expField, m.ExpiresAt = "expiresInMinutes", addMinutes(t0, w.ExpiresInMinutes.v)
	case w.ExpiresDate != "":
		expField, m.ExpiresAt = "expiresDate", mustParseDate(w.ExpiresDate, loc)
	}
	schedField := ""
	switch {
	case w.ScheduledAt.given():
		schedField, m.NotBefore = "scheduledAt", unixTime(w.ScheduledAt.v)
	case w.DelayedInMinutes.given():
		schedField, m.NotBefore = "delayedInMinutes", addMinutes(t0, w.DelayedInMinutes.v)
	case w.ScheduledDate != "":
		schedField, m.NotBefore = "scheduledDate", mustParseDate(w.ScheduledDate, loc)
	}
	if expField != "" && !inRange(m.ExpiresAt) {
		return nil, canonical.Invalid(p.name(expField), "is out of range")
	}
	if schedField != "" && !inRange(m.NotBefore) {
		return nil, canonical.Invalid(p.name(schedField), "is out of range")
	}
	if expField != "" && schedField != "" && !m.ExpiresAt.After(m.NotBefore) {
		return nil, canonical.Invalid(p.name(expField), "must be after %s", schedField)
	}
	if len(w.TimeWindow) > 0 {
		m.Window = &canonical.Window{Hours: slices.Clone(w.TimeWindow), TimeZone: tzName}
	}
	if w.ExtraInfo != "" || w.CampaignAlias != "" || w.SubAccount != "" {
		m.Extra = make(map[string]string, 3)
		setExtra(m.Extra, "extraInfo", w.ExtraInfo)
		setExtra(m.Extra, "campaignAlias", w.CampaignAlias)
		setExtra(m.Extra, "subAccount", w.SubAccount)
	}
	m.InferKind()
	if err := m.Validate(); err != nil {
		return nil, rename(err, p.name(vendorField(canonical.AsError(err).Field, expField)))
	}
	return m, nil
}

func setExtra(extra map[string]string, k, v string) {
	if v != "" {
		extra[k] = v
	}
}

// rename returns err (a *canonical.Error) naming field instead.
func rename(err error, field string) error {
	e := *canonical.AsError(err)
	e.Field = field
	return &e
}

// vendorField maps a canonical field name back to the vendor's.
func vendorField(f, expField string) string {
	switch f {
	case "to":
		return "destination"
	case "text":
		return "messageText"
	case "client_ref":
		return "correlationId"
	case "vars":
		return "params"
	case "window.hours":
		return "timeWindow"
	case "window.time_zone":
		return "timeZone"
	case "expires_at":
		return expField
	}
	return f
}

// zone loads an IANA time zone through the cache; "" is UTC. "Local" names the server's
// zone, which means nothing to a client, and is refused.
func (in *Inbound) zone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New("unknown time zone")
	}
	return canonical.LoadLocation(name)
}

// parseDate reads yyyy-MM-dd'T'HH:mm:ss in loc, or an RFC 3339 time with its own zone.
func parseDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation(dateLayout, s, loc)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	return t, err
}

// mustParseDate parses a date check already accepted.
func mustParseDate(s string, loc *time.Location) time.Time {
	t, _ := parseDate(s, loc)
	return t.UTC()
}

// unixTime reads a Unix time in seconds, or in milliseconds when it is clearly so.
func unixTime(v int64) time.Time {
	if v >= msUnixThreshold {
		if v > maxTime.UnixMilli() {
			return maxTime
		}
		return time.UnixMilli(v).UTC()
	}
	return time.Unix(v, 0).UTC()
}

// addMinutes adds minutes to t, saturating instead of overflowing.
func addMinutes(t time.Time, minutes int64) time.Time {
	if minutes > int64(maxTime.Sub(t)/time.Minute) {
		return maxTime
	}
	return t.Add(time.Duration(minutes) * time.Minute)
}

func inRange(t time.Time) bool {
	return !t.Before(minTime) && t.Before(maxTime)
}

// Decode reads a single (GET query or POST JSON) or bulk send into b.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	b.Cred = credential(c.Req)
	b.RefScope = adapters.RefContent
	method := c.Req.Header.Method()
	switch c.Op {
	case adapters.OpSend:
		switch string(method) {
		case "GET":
			return in.decodeQuery(c, b)
		case "POST":
			return in.decodeSingle(c, b)
		}
	case adapters.OpBulk:
		if string(method) == "POST" {
			return in.decodeBulk(c, b)
		}
	default:
		return canonical.Errorf(canonical.ErrNotFound, "Not Found")
	}
	return canonical.Errorf(canonical.ErrMethod, "Request method '%s' not supported", method)
}

// now is the request's clock; the gateway always sets it, tests pin it.
func now(c *adapters.Call) time.Time {
	if c.Now.IsZero() {
		return time.Now()
	}
	return c.Now
}
