package adapters

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// ReplyType is the top-level "type" that marks an object of Switchboard's reply JSON: it is
// how one body posted to /receipts/{upstream} tells replies from receipts (a receipt has no
// "type").
const ReplyType = "reply"

// Bounds of a reply, whatever its vendor: they keep what the queue stores small.
const (
	// MaxReplyText bounds a reply's text, caption or a pick's title.
	MaxReplyText = 4 << 10
	// MaxReplyContacts bounds the contact cards kept as JSON.
	MaxReplyContacts = 16 << 10
)

// genericReply is one object of Switchboard's reply JSON, as an upstream posts it (see
// ParseGenericReplies).
type genericReply struct {
	Type                string                `json:"type"`
	ID                  string                `json:"id"`
	From                string                `json:"from"`
	Line                string                `json:"line"`
	ProfileName         string                `json:"profile_name"`
	Channel             string                `json:"channel"`
	Kind                string                `json:"kind"`
	Text                string                `json:"text"`
	Media               *canonical.Attachment `json:"media"`
	Pick                *canonical.Pick       `json:"pick"`
	Location            *canonical.Location   `json:"location"`
	Contacts            json.RawMessage       `json:"contacts"`
	Emoji               *string               `json:"emoji"`
	InReplyTo           string                `json:"in_reply_to"`
	InReplyToUpstreamID string                `json:"in_reply_to_upstream_id"`
	ReceivedAt          string                `json:"received_at"`
}

// ParseGenericReplies reads Switchboard's reply JSON, which upstreams whose vendor publishes
// no inbound format post to /receipts/{upstream} (adapters/http/DIALECT.md, "Replies"): one
// object or an array of them, each marked "type":"reply". Objects of another type (receipts)
// are skipped, so a body of receipts alone gives no reply and no error.
func ParseGenericReplies(body []byte, now time.Time) ([]canonical.Reply, error) {
	var gs []genericReply
	if err := UnmarshalOneOrMany(body, &gs); err != nil {
		return nil, err
	}
	var out []canonical.Reply
	for i := range gs {
		g := &gs[i]
		if g.Type != ReplyType {
			continue
		}
		field := "[" + strconv.Itoa(i) + "]"
		r := canonical.Reply{VendorID: g.ID, From: g.From, Line: g.Line, ProfileName: g.ProfileName,
			Channel: canonical.Channel(g.Channel), Kind: canonical.ReplyKind(g.Kind), Text: g.Text,
			Media: g.Media, Pick: g.Pick, Location: g.Location, InReplyTo: g.InReplyTo,
			InReplyToUpstreamID: g.InReplyToUpstreamID, ReceivedAt: now}
		if c := bytes.TrimSpace(g.Contacts); len(c) > 0 && string(c) != "null" {
			r.Contacts = append([]byte(nil), c...)
		}
		if g.Emoji != nil {
			r.Emoji = *g.Emoji
			if r.Kind == "" {
				r.Kind = canonical.ReplyReaction
			}
		}
		if r.Kind == "" {
			r.Kind = inferKind(&r)
		}
		if g.ReceivedAt != "" {
			at, err := time.Parse(time.RFC3339Nano, g.ReceivedAt)
			if err != nil {
				return nil, canonical.Invalid(field+".received_at", "%q is not an RFC 3339 time", g.ReceivedAt)
			}
			r.ReceivedAt = at.UTC()
		}
		if err := CheckReply(&r); err != nil {
			e := canonical.AsError(err)
			e.Field = field + "." + e.Field
			return nil, e
		}
		out = append(out, r)
	}
	return out, nil
}

// inferKind names the kind of a reply that did not say, from what it carries.
func inferKind(r *canonical.Reply) canonical.ReplyKind {
	switch {
	case r.Pick != nil:
		return canonical.ReplyButton
	case r.Media != nil:
		return canonical.ReplyMedia
	case r.Location != nil:
		return canonical.ReplyLocation
	case len(r.Contacts) > 0:
		return canonical.ReplyContacts
	}
	return canonical.ReplyText
}

// CheckReply holds a parsed reply to what every parser promises the gateway: a sender as
// E.164 digits (normalised in place), a known kind carrying its content, and bounded
// fields. Errors are *canonical.Error naming the field in the reply JSON's terms.
func CheckReply(r *canonical.Reply) error {
	from, err := canonical.NormalizePhone(r.From, "")
	if err != nil {
		return canonical.Invalid("from", "%s", canonical.AsError(err).Reason)
	}
	r.From = from
	switch r.Channel {
	case "", canonical.ChannelWhatsApp, canonical.ChannelSMS:
	default:
		return canonical.Invalid("channel", "must be whatsapp or sms, not %q", r.Channel)
	}
	for _, f := range [...]struct{ name, v string }{{"id", r.VendorID}, {"line", r.Line}, {"profile_name", r.ProfileName},
		{"in_reply_to", r.InReplyTo}, {"in_reply_to_upstream_id", r.InReplyToUpstreamID}, {"emoji", r.Emoji}} {
		if len(f.v) > canonical.MaxFieldBytes {
			return canonical.Invalid(f.name, "is longer than %d bytes", canonical.MaxFieldBytes)
		}
	}
	if len(r.Text) > MaxReplyText {
		return canonical.Invalid("text", "is longer than %d bytes", MaxReplyText)
	}
	switch r.Kind {
	case canonical.ReplyText:
		if strings.TrimSpace(r.Text) == "" {
			return canonical.Invalid("text", "is required for a text reply")
		}
	case canonical.ReplyMedia:
		if r.Media == nil || (r.Media.ID == "" && r.Media.URL == "") {
			return canonical.Invalid("media", "an id or url is required for a media reply")
		}
		m := r.Media
		if len(m.Type) > 32 || len(m.ID)+len(m.URL)+len(m.MIMEType)+len(m.Filename) > 4*canonical.MaxFieldBytes ||
			len(m.Caption) > MaxReplyText {
			return canonical.Invalid("media", "is too long")
		}
	case canonical.ReplyButton, canonical.ReplyList:
		if r.Pick == nil || (r.Pick.ID == "" && r.Pick.Title == "") {
			return canonical.Invalid("pick", "an id or title is required for a %s reply", r.Kind)
		}
		if len(r.Pick.ID) > canonical.MaxFieldBytes || len(r.Pick.Title) > MaxReplyText || r.Pick.Index < 0 {
			return canonical.Invalid("pick", "is too long or its index is negative")
		}
	case canonical.ReplyLocation:
		l := r.Location
		if l == nil || l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
			return canonical.Invalid("location", "a latitude in [-90, 90] and a longitude in [-180, 180] are required")
		}
		if len(l.Name)+len(l.Address) > 2*canonical.MaxFieldBytes {
			return canonical.Invalid("location", "is too long")
		}
	case canonical.ReplyContacts:
		if len(r.Contacts) == 0 || len(r.Contacts) > MaxReplyContacts || !json.Valid(r.Contacts) {
			return canonical.Invalid("contacts", "must be JSON of at most %d bytes", MaxReplyContacts)
		}
	case canonical.ReplyReaction:
	default:
		return canonical.Invalid("kind", "must be text, media, button, list, location, contacts or reaction, not %q", r.Kind)
	}
	if !utf8.ValidString(r.Text) {
		r.Text = strings.ToValidUTF8(r.Text, "\uFFFD")
	}
	return nil
}

// AppendGenericReply appends a reply as Switchboard's reply JSON, the shape native,
// MultiWhats, MessageFlow and FlowBot clients receive (and upstreams post, without the
// gateway's fields): "type":"reply", the gateway's reply id, the message it answers
// (message_id, client_ref, flow_id), the sender, the business line, the kind and its
// content, and received_at (RFC 3339, UTC). Empty fields are left out, except a reaction's
// emoji ("" removes an earlier reaction).
func AppendGenericReply(dst []byte, r *canonical.Reply) []byte {
	dst = append(dst, `{"type":"reply"`...)
	dst = appendOpt(dst, "id", r.ID)
	dst = appendOpt(dst, "message_id", r.MessageID)
	if r.MessageSeq > 0 { // the integer id MultiWhats clients got
		dst = strconv.AppendUint(append(dst, `,"message_seq":`...), r.MessageSeq, 10)
	}
	dst = appendOpt(dst, "client_ref", r.ClientRef)
	dst = appendOpt(dst, "flow_id", r.FlowID)
	return appendReplyContent(dst, r)
}

// AppendUpstreamReply appends a reply as an upstream posts it to /receipts/{upstream} in
// Switchboard's reply JSON (the simulators do): "type":"reply", the upstream's id of the
// reply (VendorID), its link to the message answered (in_reply_to, in_reply_to_upstream_id),
// then the same fields as AppendGenericReply. ParseGenericReplies reads it back.
func AppendUpstreamReply(dst []byte, r *canonical.Reply) []byte {
	dst = append(dst, `{"type":"reply"`...)
	dst = appendOpt(dst, "id", r.VendorID)
	dst = appendOpt(dst, "in_reply_to", r.InReplyTo)
	dst = appendOpt(dst, "in_reply_to_upstream_id", r.InReplyToUpstreamID)
	return appendReplyContent(dst, r)
}

// appendReplyContent appends who sent a reply, where to, what it carries and when, and
// closes the object.
func appendReplyContent(dst []byte, r *canonical.Reply) []byte {
	dst = appendOpt(dst, "from", r.From)
	dst = appendOpt(dst, "profile_name", r.ProfileName)
	dst = appendOpt(dst, "line", r.Line)
	dst = appendOpt(dst, "channel", string(r.Channel))
	dst = appendOpt(dst, "kind", string(r.Kind))
	dst = appendOpt(dst, "text", r.Text)
	if m := r.Media; m != nil {
		dst = append(dst, `,"media":{"type":`...)
		dst = AppendJSONString(dst, m.Type)
		dst = appendOpt(dst, "id", m.ID)
		dst = appendOpt(dst, "url", m.URL)
		dst = appendOpt(dst, "mime_type", m.MIMEType)
		dst = appendOpt(dst, "caption", m.Caption)
		dst = appendOpt(dst, "filename", m.Filename)
		dst = append(dst, '}')
	}
	if p := r.Pick; p != nil {
		dst = append(dst, `,"pick":{"id":`...)
		dst = AppendJSONString(dst, p.ID)
		dst = append(dst, `,"title":`...)
		dst = AppendJSONString(dst, p.Title)
		if p.Index > 0 {
			dst = append(dst, `,"index":`...)
			dst = strconv.AppendInt(dst, int64(p.Index), 10)
		}
		dst = append(dst, '}')
	}
	if l := r.Location; l != nil {
		dst = append(dst, `,"location":{"latitude":`...)
		dst = strconv.AppendFloat(dst, l.Latitude, 'f', -1, 64)
		dst = append(dst, `,"longitude":`...)
		dst = strconv.AppendFloat(dst, l.Longitude, 'f', -1, 64)
		dst = appendOpt(dst, "name", l.Name)
		dst = appendOpt(dst, "address", l.Address)
		dst = append(dst, '}')
	}
	if len(r.Contacts) > 0 && json.Valid(r.Contacts) {
		dst = append(dst, `,"contacts":`...)
		dst = append(dst, r.Contacts...)
	}
	if r.Kind == canonical.ReplyReaction || r.Emoji != "" {
		dst = append(dst, `,"emoji":`...)
		dst = AppendJSONString(dst, r.Emoji)
	}
	dst = append(dst, `,"received_at":"`...)
	dst = r.ReceivedAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}

// appendOpt appends `,"key":"value"` when value is not empty.
func appendOpt(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return AppendJSONString(dst, value)
}

// ReplyText is a reply as one line of text, for dialects that carry only text (an SMS MO):
// the text; else a pick's title; a file's caption, else its link or name; a place as
// "latitude,longitude name, address"; the emoji; or the contact cards' JSON.
func ReplyText(r *canonical.Reply) string {
	switch {
	case r.Text != "":
		return r.Text
	case r.Pick != nil:
		if r.Pick.Title != "" {
			return r.Pick.Title
		}
		return r.Pick.ID
	case r.Media != nil:
		for _, s := range []string{r.Media.Caption, r.Media.URL, r.Media.Filename, r.Media.ID} {
			if s != "" {
				return s
			}
		}
	case r.Location != nil:
		l := r.Location
		s := strconv.FormatFloat(l.Latitude, 'f', -1, 64) + "," + strconv.FormatFloat(l.Longitude, 'f', -1, 64)
		if place := strings.TrimSpace(strings.Trim(l.Name+", "+l.Address, ", ")); place != "" {
			s += " " + place
		}
		return s
	case r.Emoji != "":
		return r.Emoji
	case len(r.Contacts) > 0:
		return string(r.Contacts)
	}
	return ""
}

// Reply-button and list-row ids Switchboard's upstream adapters send (btn-1..., opt-1...):
// a pick that carries one names its position.
var pickPrefixes = []string{"btn-", "opt-"}

// FillPickIndex sets a pick's 1-based Index, when it has none, from the message it answers:
// the position of a button (or, failing that, a list option) whose text is the pick's title
// (case and surrounding spaces aside), else the position a btn-N / opt-N id names.
func FillPickIndex(r *canonical.Reply, m *canonical.Message) {
	p := r.Pick
	if p == nil || p.Index > 0 || m == nil {
		return
	}
	title := strings.TrimSpace(p.Title)
	for _, choices := range [][]string{m.Buttons, m.Options} {
		for i, c := range choices {
			if title != "" && strings.EqualFold(strings.TrimSpace(c), title) {
				p.Index = i + 1
				return
			}
		}
	}
	p.Index = PickIndex(p.ID)
}

// PickIndex reads the position a btn-N or opt-N choice id names, or 0.
func PickIndex(id string) int {
	for _, prefix := range pickPrefixes {
		if rest, ok := strings.CutPrefix(id, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 && n <= canonical.MaxOptions {
				return n
			}
		}
	}
	return 0
}
