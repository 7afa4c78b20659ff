package wavy

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Replies (MO, "mobile originated"): what Wavy posts when a recipient writes back, and what
// a Wavy client receives and pulls. Two shapes, both in DIALECT.md, "Replies":
//   - an SMS MO, one JSON object per message: id, source, shortCode, messageText,
//     receivedAt, mt{id, correlationId} (the message it answers), carrier and campaign;
//   - WhatsApp MOs, batched: {"total":N,"data":[{id, source, origin, userProfile,
//     correlationId, message{type, messageText, mediaUrl, ...}, receivedAt}]}.

// smsMO is one SMS MO as Wavy posts it and as its pull endpoints answer it.
type smsMO struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	ShortCode   string          `json:"shortCode"`
	MessageText string          `json:"messageText"`
	ReceivedAt  json.RawMessage `json:"receivedAt"`
	// ReceivedDate is read when receivedAt is missing.
	ReceivedDate string `json:"receivedDate"`
	MT           *struct {
		ID            string `json:"id"`
		CorrelationID string `json:"correlationId"`
	} `json:"mt"`
}

// waMO is one WhatsApp MO of a batch.
type waMO struct {
	ID          string `json:"id"`
	Source      string `json:"source"`
	Origin      string `json:"origin"`
	UserProfile *struct {
		Name string `json:"name"`
	} `json:"userProfile"`
	CorrelationID string          `json:"correlationId"`
	ReceivedAt    json.RawMessage `json:"receivedAt"`
	ReceivedDate  string          `json:"receivedDate"`
	Message       *struct {
		Type        string          `json:"type"`
		MessageText string          `json:"messageText"`
		MediaURL    string          `json:"mediaUrl"`
		MIMEType    string          `json:"mimeType"`
		Caption     string          `json:"caption"`
		GeoPoint    string          `json:"geoPoint"`
		Name        string          `json:"name"`
		Address     string          `json:"address"`
		Contacts    json.RawMessage `json:"contacts"`
	} `json:"message"`
}

// moProbe tells the shapes apart: a batch has data; an SMS MO has source; a callback
// (ParseReceipts) has neither.
type moProbe struct {
	Data   json.RawMessage `json:"data"`
	Source string          `json:"source"`
}

// isMO reports whether one posted object is an MO (either shape), which ParseReceipts skips.
func (p *moProbe) isMO() bool { return len(p.Data) > 0 || p.Source != "" }

// ParseReplies reads what Wavy posts for replies: an SMS MO (an object, or leniently an
// array of them) or a batch of WhatsApp MOs. A sent-status callback or delivery receipt
// (ParseReceipts) gives no reply and no error. mt.correlationId and a WhatsApp MO's
// correlationId are the id Switchboard gave the message it answers (-> InReplyTo); mt.id
// is Wavy's (-> InReplyToUpstreamID). An SMS MO's shortCode, a WhatsApp MO's origin, is
// the line it was sent to.
func ParseReplies(body []byte, now time.Time) ([]canonical.Reply, error) {
	var probes []moProbe
	if err := adapters.UnmarshalOneOrMany(body, &probes); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(body)
	if len(probes) == 1 && len(probes[0].Data) > 0 && trimmed[0] == '{' {
		return parseWhatsAppMOs(trimmed, now)
	}
	var mos []smsMO
	if err := adapters.UnmarshalOneOrMany(trimmed, &mos); err != nil {
		return nil, err
	}
	var out []canonical.Reply
	for i := range mos {
		if probes[i].Source == "" {
			continue // a callback
		}
		field := "[" + strconv.Itoa(i) + "]"
		m := &mos[i]
		if strings.TrimSpace(m.MessageText) == "" {
			continue // an empty SMS carries nothing to pass on
		}
		r := canonical.Reply{VendorID: m.ID, From: m.Source, Line: m.ShortCode, Channel: canonical.ChannelSMS,
			Kind: canonical.ReplyText, Text: m.MessageText}
		if m.MT != nil {
			r.InReplyTo, r.InReplyToUpstreamID = m.MT.CorrelationID, m.MT.ID
		}
		if err := finish(&r, m.ReceivedAt, m.ReceivedDate, now, field); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parseWhatsAppMOs reads a batch {"total":N,"data":[...]}; total is not checked (data is
// what counts).
func parseWhatsAppMOs(body []byte, now time.Time) ([]canonical.Reply, error) {
	var batch struct {
		Data []waMO `json:"data"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, canonical.Invalid("data", "cannot parse JSON: %v", err)
	}
	if len(batch.Data) > adapters.MaxReceipts {
		return nil, canonical.Invalid("data", "holds %d messages; at most %d per request", len(batch.Data), adapters.MaxReceipts)
	}
	out := make([]canonical.Reply, 0, len(batch.Data))
	for i := range batch.Data {
		field := "data[" + strconv.Itoa(i) + "]"
		m := &batch.Data[i]
		r := canonical.Reply{VendorID: m.ID, From: m.Source, Line: m.Origin, Channel: canonical.ChannelWhatsApp,
			InReplyTo: m.CorrelationID}
		if m.UserProfile != nil {
			r.ProfileName = m.UserProfile.Name
		}
		if m.Message == nil || !readWhatsAppContent(m, &r) {
			continue // a type no client dialect carries (DIALECT.md, "Replies")
		}
		if err := finish(&r, m.ReceivedAt, m.ReceivedDate, now, field); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// readWhatsAppContent fills r's kind and content from a WhatsApp MO's message; false for a
// type it does not read. Types are matched case-insensitively.
func readWhatsAppContent(m *waMO, r *canonical.Reply) bool {
	msg := m.Message
	switch t := strings.ToLower(msg.Type); t {
	case "text":
		r.Kind, r.Text = canonical.ReplyText, msg.MessageText
	case "image", "audio", "video", "document", "sticker", "voice":
		if t == "voice" {
			t = "audio"
		}
		r.Kind = canonical.ReplyMedia
		r.Media = &canonical.Attachment{Type: t, URL: msg.MediaURL, MIMEType: msg.MIMEType, Caption: msg.Caption}
	case "location":
		lat, lon, ok := parseGeoPoint(msg.GeoPoint)
		if !ok {
			return false
		}
		r.Kind = canonical.ReplyLocation
		r.Location = &canonical.Location{Latitude: lat, Longitude: lon, Name: msg.Name, Address: msg.Address}
	case "contacts":
		if c := bytes.TrimSpace(msg.Contacts); len(c) > 0 && string(c) != "null" {
			r.Kind, r.Contacts = canonical.ReplyContacts, append(json.RawMessage(nil), c...)
		} else {
			return false
		}
	default:
		return false
	}
	return true
}

// parseGeoPoint reads Wavy's "latitude,longitude".
func parseGeoPoint(s string) (lat, lon float64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	return lat, lon, err1 == nil && err2 == nil
}

// receivedAt reads an MO's time: receivedAt (epoch milliseconds), else receivedDate
// (ISO-8601 UTC), else now.
func receivedAt(ms json.RawMessage, date string, now time.Time, field string) (time.Time, error) {
	if v, ok := adapters.JSONInt(ms); ok {
		if v <= 0 {
			return time.Time{}, canonical.Invalid(field+".receivedAt", "%d is not a time", v)
		}
		return time.UnixMilli(v).UTC(), nil
	}
	if s := bytes.TrimSpace(ms); len(s) > 0 && string(s) != "null" {
		return time.Time{}, canonical.Invalid(field+".receivedAt", "%s is not epoch milliseconds", s)
	}
	if date != "" {
		t, err := time.Parse(time.RFC3339Nano, date)
		if err != nil {
			return time.Time{}, canonical.Invalid(field+".receivedDate", "%q is not an ISO-8601 time", date)
		}
		return t.UTC(), nil
	}
	return now, nil
}

// finish sets a reply's time from the MO's and holds it to the reply contract, naming the
// field at fault in the body's terms.
func finish(r *canonical.Reply, ms json.RawMessage, date string, now time.Time, field string) error {
	var err error
	if r.ReceivedAt, err = receivedAt(ms, date, now, field); err != nil {
		return err
	}
	if err := adapters.CheckReply(r); err != nil {
		e := canonical.AsError(err)
		name := e.Field
		switch name {
		case "from":
			name = "source"
		case "text":
			name = "messageText"
		}
		e.Field = field + "." + name
		return e
	}
	return nil
}

// moDateMillis is a WhatsApp MO's receivedDate, with milliseconds as Wavy writes it.
const moDateMillis = "2006-01-02T15:04:05.000Z"

// RenderReply appends a reply as Wavy pushes it to its client: a WhatsApp reply as a batch
// of one WhatsApp MO, any other as an SMS MO (AppendSMSMO); a reply to an SMS the client
// sent is an SMS MO whatever carried it (an SMS client reads SMS MOs).
func RenderReply(dst []byte, r *canonical.Reply) []byte {
	if r.Channel == canonical.ChannelWhatsApp && r.MessageChannel != canonical.ChannelSMS {
		return AppendWhatsAppMOs(dst, []canonical.Reply{*r})
	}
	return AppendSMSMO(dst, r)
}

// AppendSMSMO appends one SMS MO: id (the gateway's reply id), source (the sender),
// shortCode (the line), messageText (the reply as text: a pick's title, a file's caption or
// link, a place), receivedAt (epoch ms) and receivedDate, and mt with the message it
// answers (id: the id the client got for it; correlationId: the client's own), null when
// unmatched. Subaccount, campaign, carrier and mt's user are not known: null.
func AppendSMSMO(dst []byte, r *canonical.Reply) []byte {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, r.ID)
	dst = append(dst, `,"subAccount":null,"campaignAlias":null,"carrierId":null,"carrierName":null,"source":`...)
	dst = adapters.AppendJSONString(dst, r.From)
	dst = append(dst, `,"shortCode":`...)
	dst = appendStringOrNull(dst, r.Line)
	dst = append(dst, `,"messageText":`...)
	dst = adapters.AppendJSONString(dst, adapters.ReplyText(r))
	dst = appendAtDate(dst, "receivedAt", "receivedDate", r.ReceivedAt)
	dst = append(dst, `,"mt":`...)
	if r.MessageID == "" && r.ClientRef == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"id":`...)
		dst = appendStringOrNull(dst, r.MessageID)
		dst = append(dst, `,"correlationId":`...)
		dst = appendStringOrNull(dst, r.ClientRef)
		dst = append(dst, `,"username":null,"email":null}`...)
	}
	return append(dst, '}')
}

// AppendWhatsAppMOs appends a batch of WhatsApp MOs: {"total":N,"data":[...]}, each with id,
// source, origin (the line), userProfile, correlationId (the client's reference of the
// message answered), flowId, message and the time. message is TEXT (messageText; a pick as
// its title, a reaction as its emoji), IMAGE/AUDIO/VIDEO/DOCUMENT/STICKER (mediaUrl,
// mimeType, caption), LOCATION (geoPoint "lat,lon", name, address) or CONTACTS.
func AppendWhatsAppMOs(dst []byte, rs []canonical.Reply) []byte {
	dst = append(dst, `{"total":`...)
	dst = appendInt(dst, int64(len(rs)))
	dst = append(dst, `,"data":[`...)
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendWhatsAppMO(dst, &rs[i])
	}
	return append(dst, "]}"...)
}

func appendWhatsAppMO(dst []byte, r *canonical.Reply) []byte {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, r.ID)
	dst = append(dst, `,"source":`...)
	dst = adapters.AppendJSONString(dst, r.From)
	dst = append(dst, `,"origin":`...)
	dst = appendStringOrNull(dst, r.Line)
	dst = append(dst, `,"userProfile":{"name":`...)
	dst = appendStringOrNull(dst, r.ProfileName)
	dst = append(dst, `},"campaignId":null,"correlationId":`...)
	dst = appendStringOrNull(dst, r.ClientRef)
	dst = append(dst, `,"campaignAlias":null,"flowId":`...)
	dst = appendStringOrNull(dst, r.FlowID)
	dst = append(dst, `,"extraInfo":null,"message":{"type":`...)
	switch {
	case r.Kind == canonical.ReplyMedia && r.Media != nil:
		dst = adapters.AppendJSONString(dst, strings.ToUpper(r.Media.Type))
		dst = append(dst, `,"mediaUrl":`...)
		dst = appendStringOrNull(dst, r.Media.URL)
		dst = append(dst, `,"mimeType":`...)
		dst = appendStringOrNull(dst, r.Media.MIMEType)
		dst = append(dst, `,"caption":`...)
		dst = appendStringOrNull(dst, r.Media.Caption)
	case r.Kind == canonical.ReplyLocation && r.Location != nil:
		l := r.Location
		dst = append(dst, `"LOCATION","geoPoint":"`...)
		dst = strconv.AppendFloat(dst, l.Latitude, 'f', -1, 64)
		dst = append(dst, ',')
		dst = strconv.AppendFloat(dst, l.Longitude, 'f', -1, 64)
		dst = append(dst, `","name":`...)
		dst = appendStringOrNull(dst, l.Name)
		dst = append(dst, `,"address":`...)
		dst = appendStringOrNull(dst, l.Address)
	case r.Kind == canonical.ReplyContacts && json.Valid(r.Contacts):
		dst = append(dst, `"CONTACTS","contacts":`...)
		dst = append(dst, r.Contacts...)
	default:
		dst = append(dst, `"TEXT","messageText":`...)
		dst = adapters.AppendJSONString(dst, adapters.ReplyText(r))
	}
	dst = append(dst, `},"receivedAt":`...)
	if r.ReceivedAt.IsZero() {
		dst = append(dst, `null,"receivedDate":null}`...)
		return dst
	}
	dst = appendInt(dst, r.ReceivedAt.UnixMilli())
	dst = append(dst, `,"receivedDate":"`...)
	dst = r.ReceivedAt.UTC().AppendFormat(dst, moDateMillis)
	return append(dst, `"}`...)
}
