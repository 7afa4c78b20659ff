// Package native is Switchboard's own API: canonical messages as snake_case JSON at
// /gateway/v1/messages, authenticated with a tenant's Bearer token.
//
// Like every adapter it is pure translation and never reads a file or fetches a URL.
package native

import (
	"strings"
	"time"

	"switchboard/adapters"
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
