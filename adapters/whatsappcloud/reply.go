package whatsappcloud

import (
	"bytes"
	"strconv"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Meta's inbound message webhook: the same envelope as the status webhook, with the
// messages a user sent in value.messages[] and who sent them in value.contacts[]
// (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components).
type messageWebhook struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Metadata struct {
					PhoneNumberID string `json:"phone_number_id"`
				} `json:"metadata"`
				Contacts []struct {
					Profile struct {
						Name string `json:"name"`
					} `json:"profile"`
					WaID string `json:"wa_id"`
				} `json:"contacts"`
				Messages []inMessage `json:"messages"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// inMessage is one message a user sent.
type inMessage struct {
	From      string          `json:"from"`
	ID        string          `json:"id"`
	Timestamp json.RawMessage `json:"timestamp"`
	Type      string          `json:"type"`
	Context   *struct {
		ID string `json:"id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *inMedia        `json:"image"`
	Video    *inMedia        `json:"video"`
	Audio    *inMedia        `json:"audio"`
	Document *inMedia        `json:"document"`
	Sticker  *inMedia        `json:"sticker"`
	Location *inLocation     `json:"location"`
	Contacts json.RawMessage `json:"contacts"`
	Button   *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		Type        string  `json:"type"`
		ButtonReply *inPick `json:"button_reply"`
		ListReply   *inPick `json:"list_reply"`
	} `json:"interactive"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
}

type inMedia struct {
	ID       string `json:"id"`
	MIMEType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type inLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type inPick struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ParseReplies reads the messages users sent from a Cloud API webhook body (its signature
// is checked before, with CheckSignature). Each reply's Line is the phone_number_id it was
// sent to, InReplyToUpstreamID the wamid it answers (context.id, or the message a reaction
// is on). A reply-button or list-row id that Encode wrote (btn-N, opt-N) gives the pick's
// Index. Messages of types no client dialect can carry (unsupported, system, order, ...)
// are skipped (DIALECT.md, "Replies"); a webhook of statuses only gives none.
func ParseReplies(body []byte, now time.Time) ([]canonical.Reply, error) {
	var w messageWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, canonical.Invalid("body", "cannot parse the webhook: %v", err)
	}
	if w.Object != webhookObject {
		return nil, canonical.Invalid("object", "is %q, not %q", w.Object, webhookObject)
	}
	var out []canonical.Reply
	for _, e := range w.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "messages" {
				continue
			}
			v := &ch.Value
			for i := range v.Messages {
				m := &v.Messages[i]
				r := canonical.Reply{Line: v.Metadata.PhoneNumberID, From: m.From, VendorID: m.ID,
					Channel: canonical.ChannelWhatsApp, ReceivedAt: now}
				if !readContent(m, &r) {
					continue
				}
				if len(out) == adapters.MaxReceipts {
					return nil, canonical.Invalid("messages", "holds more than %d messages", adapters.MaxReceipts)
				}
				if at, ok := unixTime(m.Timestamp); ok {
					r.ReceivedAt = at
				} else if len(bytes.TrimSpace(m.Timestamp)) > 0 {
					return nil, canonical.Invalid("messages.timestamp", "%s is not a Unix time", m.Timestamp)
				}
				if m.Context != nil && r.InReplyToUpstreamID == "" {
					r.InReplyToUpstreamID = m.Context.ID
				}
				for _, c := range v.Contacts {
					if c.WaID == m.From || len(v.Contacts) == 1 {
						r.ProfileName = c.Profile.Name
						break
					}
				}
				if err := adapters.CheckReply(&r); err != nil {
					e := canonical.AsError(err)
					e.Field = "messages." + e.Field
					return nil, e
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// readContent fills r's kind and content from m; false when the type is one a reply
// cannot carry (or its object is missing).
func readContent(m *inMessage, r *canonical.Reply) bool {
	switch m.Type {
	case "text":
		if m.Text == nil {
			return false
		}
		r.Kind, r.Text = canonical.ReplyText, m.Text.Body
	case "image", "video", "audio", "document", "sticker":
		media := map[string]*inMedia{"image": m.Image, "video": m.Video, "audio": m.Audio,
			"document": m.Document, "sticker": m.Sticker}[m.Type]
		if media == nil {
			return false
		}
		r.Kind = canonical.ReplyMedia
		r.Media = &canonical.Attachment{Type: m.Type, ID: media.ID, MIMEType: media.MIMEType,
			Caption: media.Caption, Filename: media.Filename}
	case "location":
		if m.Location == nil {
			return false
		}
		l := m.Location
		r.Kind, r.Location = canonical.ReplyLocation, &canonical.Location{Latitude: l.Latitude, Longitude: l.Longitude,
			Name: l.Name, Address: l.Address}
	case "contacts":
		if len(m.Contacts) == 0 {
			return false
		}
		r.Kind, r.Contacts = canonical.ReplyContacts, append(json.RawMessage(nil), m.Contacts...)
	case "button":
		if m.Button == nil {
			return false
		}
		r.Kind, r.Pick = canonical.ReplyButton, &canonical.Pick{ID: m.Button.Payload, Title: m.Button.Text}
	case "interactive":
		in := m.Interactive
		switch {
		case in == nil:
			return false
		case in.Type == "button_reply" && in.ButtonReply != nil:
			r.Kind = canonical.ReplyButton
			r.Pick = &canonical.Pick{ID: in.ButtonReply.ID, Title: in.ButtonReply.Title, Index: adapters.PickIndex(in.ButtonReply.ID)}
		case in.Type == "list_reply" && in.ListReply != nil:
			r.Kind = canonical.ReplyList
			r.Pick = &canonical.Pick{ID: in.ListReply.ID, Title: in.ListReply.Title, Index: adapters.PickIndex(in.ListReply.ID)}
		default:
			return false // nfm_reply (flows) and other interactive answers
		}
	case "reaction":
		if m.Reaction == nil {
			return false
		}
		r.Kind, r.Emoji, r.InReplyToUpstreamID = canonical.ReplyReaction, m.Reaction.Emoji, m.Reaction.MessageID
	default:
		return false
	}
	return true
}

// AppendMessageWebhook appends a Cloud API webhook carrying replies as Meta posts them to
// the business number phoneNumberID (the simulator's recipient answering): contacts[] with
// each sender's profile name and messages[] with context.id set to InReplyToUpstreamID (a
// reaction's message_id). As in AppendStatusWebhook, the business account id and display
// number are the phone number id.
func AppendMessageWebhook(dst []byte, phoneNumberID string, replies []canonical.Reply) []byte {
	dst = appendWebhookHead(dst, phoneNumberID)
	dst = append(dst, `,"contacts":[`...)
	for i := range replies {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"profile":{`...)
		dst = appendField(dst, true, "name", replies[i].ProfileName)
		dst = append(dst, '}')
		dst = appendField(dst, false, "wa_id", replies[i].From)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"messages":[`...)
	for i := range replies {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendInMessage(dst, phoneNumberID, &replies[i])
	}
	return append(dst, `]},"field":"messages"}]}]}`...)
}

func appendInMessage(dst []byte, phoneNumberID string, r *canonical.Reply) []byte {
	dst = append(dst, '{')
	if r.InReplyToUpstreamID != "" && r.Kind != canonical.ReplyReaction {
		dst = append(dst, `"context":{`...)
		dst = appendField(dst, true, "from", phoneNumberID)
		dst = appendField(dst, false, "id", r.InReplyToUpstreamID)
		dst = append(dst, "},"...)
	}
	dst = appendField(dst, true, "from", r.From)
	dst = appendField(dst, false, "id", r.VendorID)
	dst = append(dst, `,"timestamp":"`...)
	dst = strconv.AppendInt(dst, r.ReceivedAt.Unix(), 10)
	dst = append(dst, '"')
	switch r.Kind {
	case canonical.ReplyMedia:
		m := r.Media
		if m == nil {
			m = &canonical.Attachment{Type: "document"}
		}
		dst = appendField(dst, false, "type", m.Type)
		dst = append(dst, ',', '"')
		dst = append(dst, m.Type...)
		dst = append(dst, `":{`...)
		dst = appendField(dst, true, "id", m.ID)
		dst = appendField(dst, false, "mime_type", m.MIMEType)
		if m.Caption != "" {
			dst = appendField(dst, false, "caption", m.Caption)
		}
		if m.Filename != "" {
			dst = appendField(dst, false, "filename", m.Filename)
		}
		dst = append(dst, '}')
	case canonical.ReplyButton, canonical.ReplyList:
		p := r.Pick
		if p == nil {
			p = &canonical.Pick{}
		}
		kind := "button_reply"
		if r.Kind == canonical.ReplyList {
			kind = "list_reply"
		}
		dst = append(dst, `,"type":"interactive","interactive":{"type":"`+kind+`","`+kind+`":{`...)
		dst = appendField(dst, true, "id", p.ID)
		dst = appendField(dst, false, "title", p.Title)
		dst = append(dst, "}}"...)
	case canonical.ReplyLocation:
		l := r.Location
		if l == nil {
			l = &canonical.Location{}
		}
		dst = append(dst, `,"type":"location","location":{"latitude":`...)
		dst = strconv.AppendFloat(dst, l.Latitude, 'f', -1, 64)
		dst = append(dst, `,"longitude":`...)
		dst = strconv.AppendFloat(dst, l.Longitude, 'f', -1, 64)
		if l.Name != "" {
			dst = appendField(dst, false, "name", l.Name)
		}
		if l.Address != "" {
			dst = appendField(dst, false, "address", l.Address)
		}
		dst = append(dst, '}')
	case canonical.ReplyContacts:
		dst = append(dst, `,"type":"contacts","contacts":`...)
		if json.Valid(r.Contacts) {
			dst = append(dst, r.Contacts...)
		} else {
			dst = append(dst, "[]"...)
		}
	case canonical.ReplyReaction:
		dst = append(dst, `,"type":"reaction","reaction":{`...)
		dst = appendField(dst, true, "message_id", r.InReplyToUpstreamID)
		dst = appendField(dst, false, "emoji", r.Emoji)
		dst = append(dst, '}')
	default:
		dst = append(dst, `,"type":"text","text":{`...)
		dst = appendField(dst, true, "body", r.Text)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}
