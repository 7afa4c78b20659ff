package canonical

import (
	"encoding/json"
	"time"
)

// ReplyKind says what a recipient's reply carries.
type ReplyKind string

const (
	ReplyText     ReplyKind = "text"
	ReplyMedia    ReplyKind = "media"    // image, video, audio, document, sticker
	ReplyButton   ReplyKind = "button"   // a tap on a reply button or a template quick reply
	ReplyList     ReplyKind = "list"     // a pick from a list
	ReplyLocation ReplyKind = "location" // a shared location
	ReplyContacts ReplyKind = "contacts" // shared contact cards
	ReplyReaction ReplyKind = "reaction" // an emoji on one of our messages
)

// Pick is the button or list row a recipient chose.
type Pick struct {
	// ID is the vendor's id of the choice (Meta's button/row id); Title its text.
	ID    string `json:"id,omitempty"`
	Title string `json:"title,omitempty"`
	// Index is the choice's 1-based position among the message's buttons or rows, when
	// known (0: unknown).
	Index int `json:"index,omitempty"`
}

// Attachment is an attachment a recipient sent. The gateway passes it by reference and
// never downloads it.
type Attachment struct {
	Type     string `json:"type"` // image, video, audio, document, sticker
	ID       string `json:"id,omitempty"`
	URL      string `json:"url,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// Location is a shared place.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Reply is one message a recipient sent back, as an upstream reported it. The upstream's
// parser fills what the vendor carried (Upstream and Line from where it arrived, From, Kind
// and content, VendorID, ReceivedAt, and the vendor's link to our message in InReplyTo
// and/or InReplyToUpstreamID); the gateway matches it to a tenant and a message and fills
// Tenant, MessageID, ClientRef and Dialect.
type Reply struct {
	// ID is the gateway's id of the reply (UUIDv7), set when it is stored.
	ID string `json:"id"`
	// Seq orders the replies as stored (the feed's sequence), set when it is stored.
	Seq uint64 `json:"seq,omitempty"`

	// Where it came from.
	Upstream string `json:"upstream"`
	// Line is the business line the reply was sent to: the Cloud API's phone_number_id, a
	// short code or sender number; "" when the vendor does not say.
	Line string `json:"line,omitempty"`
	// From is the recipient who replied, as NormalizePhone writes it.
	From string `json:"from"`
	// ProfileName is the sender's name as the vendor shows it, when it does.
	ProfileName string    `json:"profile_name,omitempty"`
	Channel     Channel   `json:"channel,omitempty"`
	VendorID    string    `json:"vendor_id,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`

	// What it carries.
	Kind     ReplyKind   `json:"kind"`
	Text     string      `json:"text,omitempty"`
	Media    *Attachment `json:"media,omitempty"`
	Pick     *Pick       `json:"pick,omitempty"`
	Location *Location   `json:"location,omitempty"`
	// Contacts keeps the vendor's contact cards as it sent them: JSON, written as is (not
	// base64) when the reply is marshalled.
	Contacts json.RawMessage `json:"contacts,omitempty"`
	// Emoji is a reaction's emoji ("" removes an earlier reaction).
	Emoji string `json:"emoji,omitempty"`

	// The vendor's link to the message answered: our id when it echoes it (Wavy's
	// correlationId), else its own id for it (Meta's context.id, the wamid it answered with).
	InReplyTo           string `json:"in_reply_to,omitempty"`
	InReplyToUpstreamID string `json:"in_reply_to_upstream_id,omitempty"`

	// Filled by the gateway's matching.
	Tenant string `json:"tenant,omitempty"`
	// MessageID is our message the reply answers ("" when unmatched); ClientRef and
	// Dialect are that message's, so a client can join the reply to what it sent.
	MessageID string `json:"message_id,omitempty"`
	// MessageSeq is that message's Seq: the id a dialect with integer ids (MultiWhats'
	// record id) gave the client for it.
	MessageSeq uint64 `json:"message_seq,omitempty"`
	ClientRef  string `json:"client_ref,omitempty"`
	Dialect    string `json:"dialect,omitempty"`
	// FlowID is the FlowBot flow of the message answered, when it had one.
	FlowID string `json:"flow_id,omitempty"`
	// MessageChannel is the channel of the message answered: a client that sent an SMS
	// reads SMS replies, whichever channel the upstream carried it on.
	MessageChannel Channel `json:"message_channel,omitempty"`
}
