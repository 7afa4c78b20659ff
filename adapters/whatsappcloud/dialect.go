// Package whatsappcloud speaks Meta's WhatsApp Cloud API (Graph API,
// POST https://graph.facebook.com/{version}/{phone-number-id}/messages), as Meta's public
// reference describes it (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).
// Where the reference leaves a choice open the package follows it conservatively, and
// DIALECT.md lists every choice a client can see.
//
// The Cloud API is chiefly an upstream: NewOutbound encodes a canonical message as a Cloud
// API request and classifies Meta's answer. Inbound is the other side of the same wire, for
// the vendor simulator: it decodes the request back into a canonical message, validates it as
// the real API does and answers with Meta's success and Graph error bodies. ParseStatusWebhook,
// CheckSignature, VerifyChallenge and AppendStatusWebhook handle Meta's status webhooks
// (delivery receipts).
//
// The package is pure translation: it must never start goroutines, do I/O, keep global
// state, keep a request's bytes after returning, or read a file or fetch a URL named in a
// message (media travel by link, and the link is Meta's to fetch).
package whatsappcloud

import (
	"bytes"
	"strings"

	"switchboard/adapters"
)

// Dialect is the name of this dialect in config and in canonical.Message.Dialect.
const Dialect = "whatsappcloud"

// sendRoute is the one endpoint. It has two path parameters; the router hands the adapter
// only one, so Decode reads both from the request path itself (see parsePath).
const sendRoute = "/{version}/{phoneNumberId}/messages"

// Inbound is the Cloud API as a client (Switchboard's own Outbound, when it talks to the
// simulator) speaks it. It is safe for concurrent use.
type Inbound struct {
	routes []adapters.Route
}

// New returns the Cloud API inbound dialect. It has no options.
func New() *Inbound {
	return &Inbound{routes: []adapters.Route{{Methods: []string{"POST"}, Path: sendRoute, Op: adapters.OpSend}}}
}

// Dialect returns "whatsappcloud".
func (in *Inbound) Dialect() string { return Dialect }

// Routes returns the send endpoint.
func (in *Inbound) Routes() []adapters.Route { return in.routes }

// Credential returns the access token: the Authorization header's Bearer token, else the
// access_token query parameter (the Graph API takes both).
func (in *Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	if c == nil || c.Req == nil {
		return adapters.Credential{}, false
	}
	if tok := bearer(c.Req.Header.Peek("Authorization")); len(tok) > 0 {
		return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: string(tok)}, true
	}
	if tok := bytes.TrimSpace(c.Req.URI().QueryArgs().Peek("access_token")); len(tok) > 0 {
		return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: string(tok)}, true
	}
	return adapters.Credential{}, false
}

// bearer returns the token of an "Authorization: Bearer <token>" (or Graph's older
// "OAuth <token>") header value; the scheme is matched case-insensitively.
func bearer(h []byte) []byte {
	h = bytes.TrimSpace(h)
	for _, scheme := range [...]string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && bytes.EqualFold(h[:len(scheme)], []byte(scheme)) {
			return bytes.TrimSpace(h[len(scheme):])
		}
	}
	return nil
}

// parsePath splits "/{version}/{phoneNumberId}/messages". ok is false for any other shape,
// a version that is not "v<major>.<minor>" or a phone number id that is not a number.
func parsePath(p []byte) (version, phoneNumberID []byte, ok bool) {
	if len(p) == 0 || p[0] != '/' {
		return nil, nil, false
	}
	p = p[1:]
	i := bytes.IndexByte(p, '/')
	if i < 0 {
		return nil, nil, false
	}
	version, p = p[:i], p[i+1:]
	j := bytes.IndexByte(p, '/')
	if j < 0 || string(p[j:]) != "/messages" {
		return nil, nil, false
	}
	phoneNumberID = p[:j]
	if !validVersion(string(version)) || !digits(phoneNumberID) {
		return version, phoneNumberID, false
	}
	return version, phoneNumberID, true
}

// validVersion reports whether v is a Graph API version: "v" <digits> "." <digits>.
func validVersion(v string) bool {
	if len(v) < 4 || v[0] != 'v' {
		return false
	}
	dot := strings.IndexByte(v, '.')
	return dot > 1 && digits(v[1:dot]) && digits(v[dot+1:])
}

// digits reports whether b is 1 to 32 ASCII digits.
func digits[T string | []byte](b T) bool {
	if len(b) == 0 || len(b) > 32 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

var _ adapters.Inbound = (*Inbound)(nil)
