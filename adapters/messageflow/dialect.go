// Package messageflow speaks MessageFlow's HTTP API (https://api-messageflow.flow-il.com), as
// its public (Hebrew) API page describes it (https://flow-il.com/messageflow-api), in both
// directions. DIALECT.md says what the vendor documents and what Switchboard decided.
//
// Inbound: clients call POST /add_message with a JSON body (text in "Message") or
// GET /webhook/add_message with a query string (text in "wapMessage"); a form-encoded POST
// to the webhook path is accepted too. Parameter names are matched case-insensitively.
// Every request sends one WhatsApp message. MessageFlow's answer body is not documented;
// Switchboard answers {"success":true,"id":"..."} and {"success":false,"error":"..."}
// (see DIALECT.md for this and the other decisions).
//
// Outbound: NewOutbound posts canonical messages to a MessageFlow server's /add_message.
//
// The package is pure translation. It must never read the local file or fetch the URL a
// DownloadLink names, never start goroutines or keep global state, and never keep the
// request's bytes after a call returns.
package messageflow

import (
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
)

// Dialect is the name of this dialect in config and in canonical.Message.Dialect.
const Dialect = "messageflow"

// defaultCountryCode completes local numbers when neither the request nor the tenant give
// a country code: MessageFlow is an Israeli product and its document's examples are
// Israeli numbers.
const defaultCountryCode = "972"

// Options are the dialect's config switches.
type Options struct {
	// DefaultCountryCode completes a local ToMobileNumber or FromMobileNumber ("05xxxxxxxx")
	// when the request has no ToCountryCode and the tenant has no country code of its own.
	// Empty means "972" (Israel).
	DefaultCountryCode string `yaml:"default_country_code"`
}

// Inbound decodes MessageFlow requests and renders MessageFlow answers.
// It is safe for concurrent use.
type Inbound struct {
	defaultCC string
}

// New returns the MessageFlow inbound dialect.
func New(opts Options) *Inbound {
	cc := opts.DefaultCountryCode
	if cc == "" {
		cc = defaultCountryCode
	}
	return &Inbound{defaultCC: cc}
}

// Dialect implements adapters.Inbound.
func (in *Inbound) Dialect() string { return Dialect }

// Routes implements adapters.Inbound: the vendor's two entry points.
func (in *Inbound) Routes() []adapters.Route {
	return []adapters.Route{
		{Methods: []string{fasthttp.MethodPost}, Path: "/add_message", Op: adapters.OpSend},
		{Methods: []string{fasthttp.MethodGet, fasthttp.MethodPost}, Path: "/webhook/add_message", Op: adapters.OpSend},
	}
}

// Credential implements adapters.Inbound: the UUID, when the query string carries it
// (the webhook form). The JSON form keeps it in the body.
func (in *Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	if !isWebhook(c.Req) {
		return adapters.Credential{}, false
	}
	var f fields
	readArgs(c.Req.URI().QueryArgs(), &f)
	uuid := foldUUID(f.UUID)
	if uuid == "" {
		return adapters.Credential{}, false
	}
	return adapters.Credential{Scheme: adapters.SchemeUUID, Secret: uuid}, true
}

var _ adapters.Inbound = (*Inbound)(nil)
