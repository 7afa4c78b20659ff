// Package flowbot speaks FlowBot AI's messaging integration API, as the vendor's public API
// documentation describes it (https://flow.txi.co.il/docs, Hebrew/English): the
// api-token exchange, the outbound flow trigger, the lead trigger, template bulk-send and
// check-sent. The rest of the vendor's product (ads, calendar, CRM, conversations) is out of
// scope. DIALECT.md lists the endpoints, fields, limits and the decisions taken where the
// document is silent.
//
// Inbound decodes clients' requests into canonical messages and renders FlowBot's answers;
// NewOutbound sends canonical messages to a FlowBot server. The package must never start
// goroutines, do I/O (read a file, fetch a URL named in a request), keep global state, or
// keep a request's bytes after returning. FlowBot's credentials are its own knowledge: the
// Inbound issues and verifies its JWTs, checks HMAC signatures and the legacy per-flow
// modes against its clients (an adapters.Guard), and holds the vendor's documented limits
// it applies (per IP on api-token; per tenant on outbound, when emulated) in its own state.
// Queueing and the tenant's own ingress rate are the gateway's job.
package flowbot

import (
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Dialect is the name of this dialect in config and in Message.Dialect.
const Dialect = "flowbot"

// Limits FlowBot does not document; chosen so a request cannot ask for unbounded work.
const (
	// MaxBulkPhones is the most recipients one bulk-send request may name.
	MaxBulkPhones = 1000
	// MaxCheckPhones is the most phones one check-sent request may ask about.
	MaxCheckPhones = 1000
	// DefaultTokenTTL is the token lifetime when api-token gives no ttlSec (the document's example).
	DefaultTokenTTL = time.Hour
	// DefaultCheckHours is check-sent's look-back when hours is not given (documented: 24).
	DefaultCheckHours = 24
	// MaxCheckHours bounds check-sent's look-back (a year).
	MaxCheckHours = 24 * 366
	// maxVarName is the longest flow variable name accepted.
	maxVarName = 256
	// maxVarValue is the longest flow variable value accepted.
	maxVarValue = canonical.MaxTextBytes
	// maxLanguage is the longest template language code accepted.
	maxLanguage = 64
)

// Options are the dialect's switches, from config's flowbot section.
type Options struct {
	// JWTSecret signs the tokens /api/auth/api-token issues (HS256). Without it Serve
	// answers the token request with 500.
	JWTSecret []byte
	// MaxTokenTTL caps the ttlSec a client may ask for (config's flowbot.max_token_ttl);
	// zero means no cap.
	MaxTokenTTL time.Duration
	// TokenRequests and TokenWindow limit /api/auth/api-token per client IP in fixed
	// windows (the vendor documents 10 per 15 minutes); TokenRequests 0 means no limit.
	TokenRequests int
	TokenWindow   time.Duration
	// Clients are the tenants' FlowBot credentials.
	Clients []Client
}

// Inbound is FlowBot's API as clients speak it. It is safe for concurrent use.
type Inbound struct {
	opts   Options
	routes []adapters.Route
	auth   *authority
	// verified, tokenIPs and outbound are the state a reload hands on (Inherit).
	verified *tokenCache
	tokenIPs *windows
	outbound *windows
}

// New returns the FlowBot dialect. It does no I/O.
func New(opts Options) *Inbound {
	return &Inbound{opts: opts, auth: newAuthority(opts.Clients), verified: &tokenCache{},
		tokenIPs: newWindows(opts.TokenRequests, opts.TokenWindow), outbound: newWindows(OutboundPerMinute, time.Minute),
		routes: []adapters.Route{
			{Methods: []string{"POST"}, Path: "/api/auth/api-token", Op: adapters.OpToken},
			{Methods: []string{"POST"}, Path: "/api/webhook/outbound", Op: adapters.OpOutbound},
			{Methods: []string{"POST"}, Path: "/api/webhook/flow/{flowId}/lead", Op: adapters.OpLead},
			{Methods: []string{"POST"}, Path: "/api/templates/bulk-send", Op: adapters.OpBulk},
			{Methods: []string{"GET", "POST"}, Path: "/api/templates/check-sent", Op: adapters.OpCheckSent},
		}}
}

// Dialect implements adapters.Inbound.
func (in *Inbound) Dialect() string { return Dialect }

// Routes implements adapters.Inbound.
func (in *Inbound) Routes() []adapters.Route { return in.routes }

// Credential returns the Bearer token (a JWT, or on outbound and lead a flow's legacy verify
// token) of every endpoint but api-token, whose credential is in the body. On the lead
// endpoint, failing that, the X-Signature-256 HMAC, then a flow's legacy HTTP Basic or
// X-API-Key credential (the document offers those modes on lead only).
func (in *Inbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	switch c.Op {
	case adapters.OpOutbound, adapters.OpBulk, adapters.OpCheckSent:
		return bearer(c)
	case adapters.OpLead:
		if cred, ok := bearer(c); ok {
			return cred, true
		}
		if cred, ok := signature(c); ok {
			return cred, true
		}
		return legacyCredential(c)
	}
	return adapters.Credential{}, false
}

func bearer(c *adapters.Call) (adapters.Credential, bool) {
	h := trimSpace(c.Req.Header.Peek("Authorization"))
	const prefix = "bearer "
	if len(h) <= len(prefix) || !hasPrefixFold(h, prefix) {
		return adapters.Credential{}, false
	}
	tok := trimSpace(h[len(prefix):])
	if len(tok) == 0 {
		return adapters.Credential{}, false
	}
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: string(tok)}, true
}

func signature(c *adapters.Call) (adapters.Credential, bool) {
	h := trimSpace(c.Req.Header.Peek("X-Signature-256"))
	if hasPrefixFold(h, sigPrefix) {
		h = h[len(sigPrefix):]
	}
	if len(h) == 0 {
		return adapters.Credential{}, false
	}
	return adapters.Credential{Scheme: adapters.SchemeHMAC, Secret: string(h)}, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// hasPrefixFold reports whether b starts with the lower-case ASCII prefix, in any case.
func hasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

var _ adapters.Inbound = (*Inbound)(nil)
