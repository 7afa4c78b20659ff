// Package adapters defines the contract between the gateway and the vendor dialects.
//
// Each sub-package translates one vendor's HTTP API to and from canonical messages:
// Inbound decodes the requests a client sends to Switchboard and renders the vendor's own
// answers; Outbound encodes a canonical message as the vendor's request and classifies
// the vendor's answer. Adapters are pure translation: no goroutines, no I/O, no globals,
// safe for concurrent use. They must never read a file or fetch a URL named in a request.
package adapters

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/canonical"
)

// Op names one endpoint of a dialect. Send ops decode into messages and are served by the
// gateway's one send path; the others (tokens, status queries) have their own handlers.
type Op string

const (
	OpSend        Op = "send"         // one message (MessageFlow, MultiWhats, Wavy single)
	OpBulk        Op = "bulk"         // several messages (Wavy bulk, FlowBot bulk-send)
	OpOutbound    Op = "outbound"     // FlowBot outbound flow trigger
	OpLead        Op = "lead"         // FlowBot lead to a flow
	OpToken       Op = "token"        // FlowBot client credentials -> JWT
	OpStatusQuery Op = "status-query" // Wavy status by ids/correlation ids, legacy by id
	OpStatusList  Op = "status-list"  // Wavy statuses not returned before
	OpCheckSent   Op = "check-sent"   // FlowBot: did these phones get a template lately
	OpReplyList   Op = "reply-list"   // Wavy: replies not returned before
	OpReplySearch Op = "reply-search" // Wavy: replies received in a time range
)

// IsSend reports whether the op turns a request into queued messages.
func (op Op) IsSend() bool {
	switch op {
	case OpSend, OpBulk, OpOutbound, OpLead:
		return true
	}
	return false
}

// Route is one endpoint a dialect serves, at the vendor's own path.
type Route struct {
	Methods []string
	// Path is a fasthttp/router pattern, e.g. "/api/webhook/flow/{flowId}/lead".
	Path string
	Op   Op
}

// Call is one incoming request as the gateway hands it to an adapter. Nothing in it may be
// kept after the adapter returns: the request's bytes belong to the server.
type Call struct {
	Op  Op
	Req *fasthttp.Request
	// Param is the route's path parameter, if it has one ({flowId}).
	Param string
	Now   time.Time
	// RemoteIP is the client's address, for a dialect's per-IP limits; the gateway sets it
	// for operations (Serve), not for sends.
	RemoteIP net.IP
	// Account is the authenticated tenant's vendor-side details. The gateway sets it before
	// Decode when Credential could read the credential without the body, and always before
	// Accepted; it is nil otherwise.
	Account *Account
}

// Account is what a dialect needs to know of the tenant it is answering.
type Account struct {
	Tenant string
	// UserID and AccountID fill MultiWhats' user_id and social_media_account_id.
	UserID, AccountID int
	// ClientID and ClientNumber are FlowBot's clientId and clientNumber.
	ClientID, ClientNumber string
	// TimeZone is the tenant's default (Wavy), an IANA name; empty means UTC.
	TimeZone string
	// CountryCode completes local phone numbers when a request gives none.
	CountryCode string
}

// Scheme says how a credential is checked.
type Scheme uint8

const (
	SchemeNone   Scheme = iota
	SchemeUUID          // MessageFlow: the installation UUID
	SchemeAPIKey        // MultiWhats: apikey; FlowBot's legacy per-flow X-API-Key
	SchemeUser          // Wavy: username + authentication token
	SchemeBearer        // FlowBot JWT, native token
	SchemeHMAC          // FlowBot lead: hex HMAC-SHA256 of the raw body in Secret
	SchemeClient        // FlowBot api-token: clientId + apiKey
	SchemeBasic         // HTTP Basic: User and the password in Secret (FlowBot's legacy per-flow mode)
)

// Credential is what a request presents to identify its tenant. The gateway checks it,
// in constant time, against the tenants in config.
type Credential struct {
	Scheme Scheme
	User   string
	Secret string
}

// RefScope says how a message's ClientRef is matched for idempotency.
type RefScope uint8

const (
	// RefStrict: the same ref with a different message is a conflict (native client_ref).
	RefStrict RefScope = iota
	// RefContent: the ref and the content together are the key, so a reused ref on a
	// different message is a new message (Wavy correlationId).
	RefContent
)

// Batch is what one send request decodes to.
type Batch struct {
	Cred     Credential
	Messages []*canonical.Message
	// ID groups the messages of one request (Wavy bulk id); empty for single sends.
	ID       string
	RefScope RefScope
	// Dup marks, after enqueueing, messages that repeat an earlier request: their ID, Seq
	// and CreatedAt are the original ones.
	Dup []bool
}

// Reset empties b for reuse.
func (b *Batch) Reset() {
	clear(b.Messages)
	*b = Batch{Messages: b.Messages[:0], Dup: b.Dup[:0]}
}

// Inbound is one dialect as clients speak it.
type Inbound interface {
	// Dialect is the name used in config and in Message.Dialect.
	Dialect() string
	// Routes lists the endpoints, at the vendor's own paths.
	Routes() []Route
	// Credential returns the request's credential when it can be read without decoding the
	// body (headers, query string), so the gateway can authenticate first; ok is false otherwise.
	Credential(c *Call) (cred Credential, ok bool)
	// Decode reads a send request into b: its credential (even when the rest is invalid, if
	// it can be found) and its messages, normalised and validated. Errors are *canonical.Error.
	Decode(c *Call, b *Batch) error
	// Accepted renders the vendor's success answer for b, whose messages now carry their
	// ID, Seq and CreatedAt. It appends the body to dst.
	Accepted(c *Call, b *Batch, dst []byte) (status int, body []byte)
	// Error renders err in the vendor's error shape. c.Op may be empty (unknown path).
	Error(c *Call, err *canonical.Error, dst []byte) (status int, body []byte)
}

// Caps is what an upstream can carry.
type Caps struct {
	Text, Media, LocalMedia, Buttons, List, Template, Flash, Flow bool
	// ForeignFlow: it carries a flow named in another vendor's dialect, because it forwards
	// the canonical message whole (http, sandbox). Flow ids are a vendor's own: FlowBot
	// cannot run a Wavy flow.
	ForeignFlow bool
	// MaxText is the longest text in characters (Unicode code points) the upstream takes;
	// 0 means no limit. Encode still applies the vendor's own way of counting.
	MaxText int
	// SplitText: Encode sends a text over MaxText as numbered parts in one request (Wavy's
	// send-bulk-sms), and Classify reads that request's answer. The dispatcher lets such a
	// text through only on a route whose long_text is split.
	SplitText bool
}

// Outcome classifies an upstream's answer.
type Outcome uint8

const (
	// Sent: the upstream took the message.
	Sent Outcome = iota
	// Retry: try again later (5xx, 408, 429, transport error); counts against the breaker.
	Retry
	// Permanent: the message itself is at fault (other 4xx); it fails at once and does not
	// count against the breaker.
	Permanent
)

// Result is the outcome of one attempt.
type Result struct {
	Outcome Outcome
	// Status to record on success: sent, or delivered for upstreams that deliver at once.
	Status     canonical.Status
	UpstreamID string
	// Code and Reason are the upstream's own error code and text.
	Code       string
	Reason     string
	RetryAfter time.Duration
}

// UpstreamConfig is what an outbound adapter is built from.
type UpstreamConfig struct {
	Name        string
	URL         string
	Credentials map[string]string
}

// Outbound encodes canonical messages as one vendor's requests and classifies the answers.
// The dispatcher owns the connection, timeouts, retries, breakers and limits.
type Outbound interface {
	Caps() Caps
	// Encode writes the request for m into req: method, URI, headers and body.
	Encode(m *canonical.Message, req *fasthttp.Request) error
	// Classify reads the upstream's answer to the request Encode wrote.
	Classify(m *canonical.Message, resp *fasthttp.Response) Result
}

// Authenticator is an Outbound that must get a token before sending (FlowBot). The
// dispatcher fetches the token, caches it until shortly before it expires (or until the
// upstream answers 401) and passes it to EncodeAuthed instead of calling Encode.
type Authenticator interface {
	Outbound
	// EncodeToken writes the token request.
	EncodeToken(req *fasthttp.Request)
	// ParseToken reads the token answer.
	ParseToken(resp *fasthttp.Response, now time.Time) (token string, expires time.Time, err error)
	// EncodeAuthed writes the request for m using token.
	EncodeAuthed(m *canonical.Message, token string, req *fasthttp.Request) error
}

// BulkOutbound is an Outbound that can also send several messages in one request (Wavy's
// send-bulk-sms). The dispatcher gathers messages bound for the same upstream at the same
// moment into one request; each still gets its own Result.
type BulkOutbound interface {
	Outbound
	// EncodeBulk writes one request for ms (1 to the vendor's maximum).
	EncodeBulk(ms []*canonical.Message, req *fasthttp.Request) error
	// ClassifyBulk reads the answer: one Result per message, in order.
	ClassifyBulk(ms []*canonical.Message, resp *fasthttp.Response) []Result
}

// TextCounter is an Outbound whose vendor counts MaxText in its own units (Wavy: UTF-16
// code units, so an emoji counts two). The dispatcher then measures text with TextLen.
type TextCounter interface {
	TextLen(text string) int
}

// Local is an upstream that delivers in-process (the sandbox).
type Local interface {
	Caps() Caps
	Deliver(m *canonical.Message) Result
}
