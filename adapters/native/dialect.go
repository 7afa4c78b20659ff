// Package native is Switchboard's own API: canonical messages as snake_case JSON at
// /gateway/v1/messages, authenticated with a tenant's Bearer token.
//
// Like every adapter it is pure translation and never reads a file or fetches a URL.
package native

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Dialect is the name of this dialect in config and in Message.Dialect.
const Dialect = "native"

// Inbound decodes native requests.
type Inbound struct{}

// New returns the native dialect.
func New() *Inbound { return &Inbound{} }

var _ adapters.Inbound = (*Inbound)(nil)

// Dialect implements adapters.Inbound.
func (*Inbound) Dialect() string { return Dialect }

// Routes implements adapters.Inbound. GET /gateway/v1/messages/{id} is served by the gateway.
func (*Inbound) Routes() []adapters.Route {
	return []adapters.Route{{Methods: []string{"POST"}, Path: "/gateway/v1/messages", Op: adapters.OpSend}}
}

// Credential implements adapters.Inbound: the Bearer token.
func (*Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	tok, ok := BearerToken(c.Req.Header.Peek("Authorization"))
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: tok}, ok
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
func BearerToken(h []byte) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(string(h[:len(prefix)]), prefix) {
		return "", false
	}
	tok := strings.TrimSpace(string(h[len(prefix):]))
	return tok, tok != ""
}

type media struct {
	URL      string `json:"url"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type template struct {
	Name     string   `json:"name"`
	ID       string   `json:"id"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
	GroupID  string   `json:"group_id"`
}

type request struct {
	To        string            `json:"to"`
	From      string            `json:"from"`
	Channel   string            `json:"channel"`
	Kind      string            `json:"kind"`
	Text      string            `json:"text"`
	Media     []media           `json:"media"`
	Buttons   []string          `json:"buttons"`
	Options   []string          `json:"options"`
	Template  *template         `json:"template"`
	FlowID    string            `json:"flow_id"`
	Vars      map[string]string `json:"vars"`
	Flash     bool              `json:"flash"`
	ClientRef string            `json:"client_ref"`
	NotBefore *time.Time        `json:"not_before"`
	ExpiresAt *time.Time        `json:"expires_at"`
}

// Decode implements adapters.Inbound.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	b.Cred, _ = in.Credential(c)
	b.RefScope = adapters.RefStrict
	var r request
	dec := json.NewDecoder(bytes.NewReader(c.Req.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return canonical.Errorf(canonical.ErrInvalid, "cannot parse JSON body: %s", jsonReason(err))
	}
	cc := ""
	if c.Account != nil {
		cc = c.Account.CountryCode
	}
	to, err := canonical.NormalizePhone(r.To, cc)
	if err != nil {
		return rename(err, "to")
	}
	m := &canonical.Message{
		Dialect: Dialect, To: to, Channel: canonical.Channel(r.Channel), Kind: canonical.Kind(r.Kind),
		Text: r.Text, Buttons: r.Buttons, Options: r.Options, FlowID: r.FlowID, Flash: r.Flash,
		ClientRef: r.ClientRef,
	}
	if m.Channel == "" {
		m.Channel = canonical.ChannelWhatsApp
	}
	if r.From != "" {
		if m.From, err = canonical.NormalizePhone(r.From, cc); err != nil {
			return rename(err, "from")
		}
	}
	for _, md := range r.Media {
		m.Media = append(m.Media, canonical.Media{URL: md.URL, Caption: md.Caption, Filename: md.Filename})
	}
	if t := r.Template; t != nil {
		m.Template = &canonical.Template{Name: t.Name, ID: t.ID, Language: t.Language, Params: t.Params, GroupID: t.GroupID}
	}
	if len(r.Vars) > 0 {
		m.Vars = r.Vars
	}
	if r.NotBefore != nil {
		m.NotBefore = r.NotBefore.UTC()
	}
	if r.ExpiresAt != nil {
		m.ExpiresAt = r.ExpiresAt.UTC()
		if !m.ExpiresAt.After(c.Now) {
			return canonical.Invalid("expires_at", "is in the past")
		}
	}
	m.InferKind()
	if err := m.Validate(); err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

func rename(err error, field string) error {
	e := *canonical.AsError(err)
	e.Field = field
	return &e
}

func jsonReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "json: "); i >= 0 {
		s = s[i+len("json: "):]
	}
	return s
}

// Accepted implements adapters.Inbound: {"id": "...", "status": "..."}, 202 for a new
// message and 200 for a repeat of an earlier request with the same client_ref.
func (*Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	m := b.Messages[0]
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendQuote(dst, m.ID)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendQuote(dst, string(m.Status))
	dst = append(dst, '}')
	if len(b.Dup) > 0 && b.Dup[0] {
		return 200, dst
	}
	return 202, dst
}

// Error implements adapters.Inbound: {"error": {"code": "...", "field": "...", "message": "..."}}.
func (*Inbound) Error(c *adapters.Call, e *canonical.Error, dst []byte) (int, []byte) {
	return e.Code.HTTPStatus(), AppendError(dst, e)
}

// AppendError renders e in the native error shape.
func AppendError(dst []byte, e *canonical.Error) []byte {
	body := struct {
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field,omitempty"`
			Message string `json:"message"`
		} `json:"error"`
	}{}
	body.Error.Code, body.Error.Field, body.Error.Message = CodeName(e.Code), e.Field, e.Error()
	out, _ := json.Marshal(&body)
	return append(dst, out...)
}

// CodeName is the stable, documented name of an error class in native answers.
func CodeName(c canonical.Code) string {
	switch c {
	case canonical.ErrInvalid:
		return "invalid"
	case canonical.ErrUnauthorized:
		return "unauthorized"
	case canonical.ErrForbidden:
		return "forbidden"
	case canonical.ErrNotFound:
		return "not_found"
	case canonical.ErrConflict:
		return "conflict"
	case canonical.ErrTooLarge:
		return "too_large"
	case canonical.ErrTooMany:
		return "too_many_requests"
	case canonical.ErrUnavailable:
		return "unavailable"
	case canonical.ErrMethod:
		return "method_not_allowed"
	}
	return "internal"
}
