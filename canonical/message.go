package canonical

import (
	"time"

	"github.com/google/uuid"
)

// Channel is the network a message travels on.
type Channel string

const (
	ChannelWhatsApp Channel = "whatsapp"
	ChannelSMS      Channel = "sms"
)

// Kind says what a message carries.
type Kind string

const (
	KindText     Kind = "text"
	KindMedia    Kind = "media"
	KindButtons  Kind = "buttons"
	KindList     Kind = "list"
	KindTemplate Kind = "template"
	KindFlow     Kind = "flow"
)

// Media is an attachment passed by reference: the gateway never downloads it.
type Media struct {
	URL      string `json:"url"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	// Local marks a path on the sender's own machine (MessageFlow's DownloadLink "C:/...").
	// Only an upstream of the same dialect may carry it; it is never read by the gateway.
	Local bool `json:"local,omitempty"`
}

// Template is a pre-approved template message.
type Template struct {
	Name     string   `json:"name,omitempty"`
	ID       string   `json:"id,omitempty"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
	// GroupID names a template group; the gateway picks one of its templates.
	GroupID string `json:"group_id,omitempty"`
}

// Window restricts sending to some hours of the day in a time zone.
type Window struct {
	// Hours lists the allowed hours (0-23): [11, 12, 18] allows 11:00-12:59 and 18:00-18:59.
	Hours []int `json:"hours"`
	// TimeZone is an IANA name; empty means UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// Message is the canonical form of one message to one recipient.
type Message struct {
	// Identity.
	ID        string `json:"id"`
	Seq       uint64 `json:"seq,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
	Dialect   string `json:"dialect,omitempty"`
	BatchID   string `json:"batch_id,omitempty"`
	ClientRef string `json:"client_ref,omitempty"`

	// Addressing.
	To      string  `json:"to"`
	From    string  `json:"from,omitempty"`
	Channel Channel `json:"channel,omitempty"`

	// Content.
	Kind     Kind              `json:"kind,omitempty"`
	Text     string            `json:"text,omitempty"`
	Media    []Media           `json:"media,omitempty"`
	Buttons  []string          `json:"buttons,omitempty"`
	Options  []string          `json:"options,omitempty"`
	Template *Template         `json:"template,omitempty"`
	FlowID   string            `json:"flow_id,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
	Flash    bool              `json:"flash,omitempty"`

	// Timing.
	NotBefore time.Time `json:"not_before,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Window    *Window   `json:"window,omitempty"`

	// Bookkeeping.
	CreatedAt  time.Time `json:"created_at,omitzero"`
	Attempts   int       `json:"attempts,omitempty"`
	Status     Status    `json:"status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Upstream   string    `json:"upstream,omitempty"`
	UpstreamID string    `json:"upstream_id,omitempty"`
	// Extra keeps the ingress dialect's fields that have no canonical home, so that an
	// upstream of the same dialect loses nothing.
	Extra map[string]string `json:"extra,omitempty"`
}

// NewID returns a new time-ordered message id (UUIDv7).
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// InferKind sets Kind from the content when the dialect did not say.
func (m *Message) InferKind() {
	if m.Kind != "" {
		return
	}
	switch {
	case m.Template != nil:
		m.Kind = KindTemplate
	case len(m.Buttons) > 0:
		m.Kind = KindButtons
	case len(m.Options) > 0:
		m.Kind = KindList
	case len(m.Media) > 0:
		m.Kind = KindMedia
	case m.FlowID != "" && m.Text == "":
		m.Kind = KindFlow
	default:
		m.Kind = KindText
	}
}
