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
	"time"

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
	SingleReply string
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

// Decode reads a single (GET query or POST JSON) or bulk send into b.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	b.Cred = credential(c.Req)
	b.RefScope = adapters.RefContent
	method := c.Req.Header.Method()
	switch c.Op {
	case adapters.OpSend:
		switch string(method) {
		case "GET":
			return in.decodeQuery(c, b)
		case "POST":
			return in.decodeSingle(c, b)
		}
	case adapters.OpBulk:
		if string(method) == "POST" {
			return in.decodeBulk(c, b)
		}
	default:
		return canonical.Errorf(canonical.ErrNotFound, "Not Found")
	}
	return canonical.Errorf(canonical.ErrMethod, "Request method '%s' not supported", method)
}

// now is the request's clock; the gateway always sets it, tests pin it.
func now(c *adapters.Call) time.Time {
	if c.Now.IsZero() {
		return time.Now()
	}
	return c.Now
}

// Accepted renders the vendor's success answer: for a single send the documented array
// (or the object, with SingleReply "object"), for a bulk send the batch id and one entry
// per message, in request order.
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	if c.Op == adapters.OpBulk {
		dst = append(dst, `{"id":`...)
		dst = adapters.AppendJSONString(dst, b.ID)
		dst = append(dst, `,"messages":[`...)
		for i, m := range b.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSingle(dst, m)
		}
		return 200, append(dst, "]}"...)
	}
	if in.object && len(b.Messages) > 0 {
		return 200, appendSingle(dst, b.Messages[0])
	}
	dst = append(dst, '[')
	for i, m := range b.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendSingle(dst, m)
	}
	return 200, append(dst, ']')
}

// appendSingle renders one SingleSMSResponse. correlationId is left out when the client
// gave none, as the document's bulk answer shows.
func appendSingle(dst []byte, m *canonical.Message) []byte {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, m.ID)
	if m.ClientRef != "" {
		dst = append(dst, `,"correlationId":`...)
		dst = adapters.AppendJSONString(dst, m.ClientRef)
	}
	return append(dst, '}')
}

// Error renders err as {"errorCode":<http status>,"errorMessage":"..."}.
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	status := err.Code.HTTPStatus()
	msg := err.Error()
	switch {
	case err.Code == canonical.ErrUnauthorized:
		msg = authError
	case msg == "":
		msg = fasthttp.StatusMessage(status)
	}
	dst = append(dst, `{"errorCode":`...)
	dst = appendInt(dst, int64(status))
	dst = append(dst, `,"errorMessage":`...)
	dst = adapters.AppendJSONString(dst, msg)
	return status, append(dst, '}')
}

var _ adapters.Inbound = (*Inbound)(nil)
