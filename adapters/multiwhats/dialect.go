// Package multiwhats speaks the MultiWhats WhatsApp API (https://api.multiwhats.app/api/v1/), as
// its public documentation "Api Dökümanları" (https://multiwhats.app/docs/api) describes it;
// DIALECT.md says what the vendor documents and what Switchboard decided.
//
// Inbound serves POST /api/v1/basic/whatsapp/send-dynamic: it reads the request into one canonical
// WhatsApp message and renders MultiWhats' answers — the queue record on success, Laravel's error
// bodies otherwise. Outbound (NewOutbound) sends a canonical message to a MultiWhats upstream and
// classifies its answer. DIALECT.md lists the fields, limits and the decisions taken where the
// document is silent.
//
// The package is pure translation: it must never start goroutines, do I/O, keep global state,
// keep the request's bytes after returning, or read a file or fetch the URL named in file_url.
package multiwhats

import (
	"switchboard/adapters"
)

// Dialect is the name of this dialect in config and in canonical.Message.Dialect.
const Dialect = "multiwhats"

// sendPath is the one endpoint, below the documented base URL https://api.multiwhats.app/api/v1/.
const sendPath = "/api/v1/basic/whatsapp/send-dynamic"

// Reply modes for Options.Reply.
const (
	// ReplyDocumented answers with the queue record exactly as the document shows it: status
	// "done", one message sent, target "sent". Clients are written against it.
	ReplyDocumented = "documented"
	// ReplyActual answers with the message's true state at that moment: status "pending", one
	// message pending, target "pending".
	ReplyActual = "actual"
)

// Options are the dialect's config switches (config key multiwhats).
type Options struct {
	// Reply is ReplyDocumented (the default, also when empty) or ReplyActual.
	Reply string `yaml:"reply"`
}

// Inbound is the MultiWhats dialect as clients speak it. It is safe for concurrent use.
type Inbound struct {
	actual bool
	routes []adapters.Route
}

// New returns the MultiWhats inbound dialect.
func New(opts Options) *Inbound {
	return &Inbound{
		actual: opts.Reply == ReplyActual,
		routes: []adapters.Route{{Methods: []string{"POST"}, Path: sendPath, Op: adapters.OpSend}},
	}
}

// Dialect returns "multiwhats".
func (in *Inbound) Dialect() string { return Dialect }

// Routes returns the send endpoint.
func (in *Inbound) Routes() []adapters.Route { return in.routes }

// Credential returns the apikey when it is in the query string. An apikey given only in the JSON
// body is found by Decode.
func (in *Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	if c.Req == nil {
		return adapters.Credential{}, false
	}
	key := c.Req.URI().QueryArgs().Peek("apikey")
	if len(key) == 0 {
		return adapters.Credential{}, false
	}
	return adapters.Credential{Scheme: adapters.SchemeAPIKey, Secret: string(key)}, true
}

var _ adapters.Inbound = (*Inbound)(nil)
