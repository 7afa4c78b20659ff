// Package wavy speaks the Wavy (Sinch) SMS messaging API as clients call it: single sends
// by query string or JSON, bulk sends, status queries and callbacks, and the same API as
// an upstream.
//
// The dialect follows the vendor's public documentation "Envio de mensagens (MT)" (in
// Portuguese, https://docs.wavy.global/documentacao-tecnica-sms/documentacao-tecnica-sms/sms-api,
// host api-messaging.wavy.global). DIALECT.md in this folder lists the endpoints,
// fields, limits and every decision a client can see.
//
// The package is pure translation: it never starts goroutines, does I/O, keeps globals,
// reads a file or fetches a URL named in a request, and it keeps no byte slice of a request
// after returning. Tenant lookup, authentication, rate limits, idempotency and queueing are
// the gateway's; this package only extracts the credential and renders the vendor's answers.
package wavy

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Dialect is the dialect's name in config and in Message.Dialect.
const Dialect = "wavy"

// Vendor limits from the document.
const (
	maxText          = 1280 // messageText, in characters as the vendor counts them
	maxCorrelationID = 64
	maxExtraInfo     = 255
	maxBulk          = 1000 // messages per send-bulk-sms request
	// maxStatusIDs bounds one status search; the document gives no limit, so the bulk
	// limit is reused to keep a query's answer bounded.
	maxStatusIDs = 1000
)

// authError is the vendor's exact answer to an unknown username or token.
const authError = "Authentication Error: No user was found with this combination of username and Authentication token."

// Options are the dialect-wide switches (config key `wavy`).
type Options struct {
	// SingleReply shapes the answer to a single send: "array" (default) answers the
	// documented [{"id","correlationId"}]; "object" answers {"id","correlationId"} as the
	// live API does and as several client libraries expect.
	SingleReply string `yaml:"single_reply"`
}

// Validate reports an unknown SingleReply.
func (o Options) Validate() error {
	switch o.SingleReply {
	case "", "array", "object":
		return nil
	}
	return canonical.Invalid("single_reply", "%q is not one of array, object", o.SingleReply)
}

// Inbound is the Wavy dialect as clients speak it. It is safe for concurrent use.
type Inbound struct {
	object bool
}

// New returns the Wavy inbound dialect.
func New(opts Options) *Inbound {
	return &Inbound{object: opts.SingleReply == "object"}
}

// Dialect returns "wavy".
func (in *Inbound) Dialect() string { return Dialect }

var routes = []adapters.Route{
	{Methods: []string{"GET", "POST"}, Path: "/v1/send-sms", Op: adapters.OpSend},
	{Methods: []string{"POST"}, Path: "/v1/send-bulk-sms", Op: adapters.OpBulk},
	{Methods: []string{"POST"}, Path: "/v1/sms/status/search", Op: adapters.OpStatusQuery},
	{Methods: []string{"GET"}, Path: "/v1/sms-status", Op: adapters.OpStatusQuery},
	{Methods: []string{"GET"}, Path: "/v1/sms/status/list", Op: adapters.OpStatusList},
	{Methods: []string{"GET"}, Path: "/v1/sms/receive/list", Op: adapters.OpReplyList},
	{Methods: []string{"GET"}, Path: "/v1/sms/receive/search", Op: adapters.OpReplySearch},
}

// Routes lists the vendor's endpoints.
func (in *Inbound) Routes() []adapters.Route { return routes }

// Credential reads the username and authentication token from the headers (any case) or,
// as one browser client sends them, from the query string. ok is true when both are there.
func (in *Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	cred := credential(c.Req)
	return cred, cred.User != "" && cred.Secret != ""
}

func credential(req *fasthttp.Request) adapters.Credential {
	user := header(req, "username")
	token := header(req, "authenticationtoken")
	if user == nil || token == nil {
		// Query parameters only come into play when a header is missing, so a send
		// with header credentials never parses the query string here.
		for k, v := range req.URI().QueryArgs().All() {
			switch {
			case user == nil && bytes.EqualFold(k, []byte("username")):
				user = v
			case token == nil && bytes.EqualFold(k, []byte("authenticationtoken")):
				token = v
			}
		}
	}
	if len(user) == 0 && len(token) == 0 {
		return adapters.Credential{}
	}
	return adapters.Credential{Scheme: adapters.SchemeUser, User: string(user), Secret: string(token)}
}

// header returns the named header's value whatever the case of its name, or nil. Peek
// normalises the name unless the server disabled normalising; the loop covers that case.
func header(req *fasthttp.Request, name string) []byte {
	if v := req.Header.Peek(name); len(v) > 0 {
		return v
	}
	for k, v := range req.Header.All() {
		if len(v) > 0 && bytes.EqualFold(k, []byte(name)) {
			return v
		}
	}
	return nil
}

var _ adapters.Inbound = (*Inbound)(nil)
