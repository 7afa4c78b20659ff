package flowbot

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Legacy per-flow modes (the document: "Legacy per-flow auth modes (API Key, Basic,
// Bearer, HMAC, None) are still supported"). HMAC is the tenant's hmac_secret on lead;
// None is not offered: a gateway would take anyone's messages.
const (
	ModeAPIKey = "api_key" // X-API-Key: <secret>
	ModeBasic  = "basic"   // Authorization: Basic base64(<username>:<secret>)
	ModeBearer = "bearer"  // Authorization: Bearer <verify token>
)

// apiKeyHeader carries a legacy per-flow API key. **decision**: the document names the mode
// but not its header; X-API-Key is the common spelling.
const apiKeyHeader = "X-API-Key"

// Client is one tenant's FlowBot credentials, from its config.
type Client struct {
	// ID is the clientId clients present; Account.ClientID, the one answers and tokens name,
	// is the same unless the account spells it otherwise.
	ID string
	// Account is what answers report of the tenant (Tenant, ClientID, ClientNumber).
	Account adapters.Account
	// APIKey is exchanged with ClientID at /api/auth/api-token for a JWT.
	APIKey string
	// HMACSecret checks X-Signature-256 on lead requests; empty: none.
	HMACSecret string
	// VendorLimits applies the vendor's documented outbound limit to the tenant.
	VendorLimits bool
	// Flows accept a legacy per-flow credential besides the JWT.
	Flows []Flow
}

// Flow is a flow that accepts one legacy per-flow credential.
type Flow struct {
	// ID is the flow's id, as requests name it.
	ID string `yaml:"id"`
	// Mode is ModeAPIKey (the X-API-Key header), ModeBasic (HTTP Basic with Username and
	// Secret as the password) or ModeBearer (a fixed verify token, Authorization: Bearer).
	Mode     string `yaml:"auth"`
	Username string `yaml:"username"`
	// Secret is the API key, the Basic password or the verify token.
	Secret string `yaml:"secret"`
}

// authority finds the client behind a credential. It is built once and only read after.
type authority struct {
	byClientID map[string]*Client
	byTenant   map[string]*Client
	flows      map[string]flowOwner // flow id -> its legacy credential and client
	signers    []*Client            // clients with an HMAC secret
}

type flowOwner struct {
	flow   Flow
	client *Client
}

func newAuthority(clients []Client) *authority {
	a := &authority{byClientID: map[string]*Client{}, byTenant: map[string]*Client{}, flows: map[string]flowOwner{}}
	for i := range clients {
		cl := &clients[i]
		if cl.ID != "" {
			a.byClientID[cl.ID] = cl
		}
		a.byTenant[cl.Account.Tenant] = cl
		if cl.HMACSecret != "" {
			a.signers = append(a.signers, cl)
		}
		for _, f := range cl.Flows {
			a.flows[f.ID] = flowOwner{flow: f, client: cl}
		}
	}
	return a
}

// Authenticate implements adapters.Guard: a JWT this dialect issued (else a flow's legacy
// verify token), an HMAC signature, api-token's client credentials, or a flow's legacy
// API key or Basic credential.
func (in *Inbound) Authenticate(c *adapters.Call, cred adapters.Credential) *adapters.Account {
	a := in.auth
	var cl *Client
	switch cred.Scheme {
	case adapters.SchemeBearer:
		if id, ok := in.verify(cred.Secret, c.Now); ok {
			cl = a.byClientID[id]
		} else {
			cl = a.legacy(c, ModeBearer, "", cred.Secret)
		}
	case adapters.SchemeHMAC:
		// Every secret is tried, so the time taken does not tell which tenant signed.
		for _, s := range a.signers {
			if CheckSignature(c.Req.Body(), cred.Secret, []byte(s.HMACSecret)) && cl == nil {
				cl = s
			}
		}
	case adapters.SchemeClient:
		cl = a.byClientID[cred.User]
		// Compare against something even for an unknown client, so timing does not tell
		// which client ids exist.
		want := "\x00unknown-client"
		if cl != nil {
			want = cl.APIKey
		}
		if !equalSecret(want, cred.Secret) || cl == nil || want == "" {
			cl = nil
		}
	case adapters.SchemeAPIKey:
		cl = a.legacy(c, ModeAPIKey, "", cred.Secret)
	case adapters.SchemeBasic:
		cl = a.legacy(c, ModeBasic, cred.User, cred.Secret)
	}
	if cl == nil {
		return nil
	}
	return &cl.Account
}

// legacy returns the client whose flow, named by the request, accepts mode with this
// credential.
func (a *authority) legacy(c *adapters.Call, mode, user, secret string) *Client {
	switch {
	case len(a.flows) == 0, c.Op != adapters.OpLead && (c.Op != adapters.OpOutbound || mode != ModeBearer):
		return nil // per flow: lead takes every mode, outbound the verify token, the rest JWTs only
	}
	o, ok := a.flows[flowOf(c)]
	want := flowOwner{flow: Flow{Mode: mode, Username: "\x00", Secret: "\x00unknown-flow"}}
	if ok && o.flow.Mode == mode {
		want = o
	}
	good := equalSecret(want.flow.Secret, secret)
	if mode == ModeBasic && !equalSecret(want.flow.Username, user) {
		good = false
	}
	if !good || want.client == nil {
		return nil
	}
	return want.client
}

// flowOf is the flow a request names, read as the decoder reads it: the lead path's, or
// outbound's flowId (a repeated key keeps the last).
func flowOf(c *adapters.Call) string {
	if c.Op == adapters.OpLead {
		if c.Param != "" {
			return c.Param
		}
		return leadFlowID(c.Req.URI().Path())
	}
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return ""
	}
	id := ""
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			return id
		}
		if string(keyName(key)) == "flowId" {
			id, _ = stringField("flowId", val)
		}
	}
}

// legacyCredential reads HTTP Basic from Authorization, else the X-API-Key header.
func legacyCredential(c *adapters.Call) (adapters.Credential, bool) {
	h := trimSpace(c.Req.Header.Peek("Authorization"))
	const prefix = "basic "
	if len(h) > len(prefix) && hasPrefixFold(h, prefix) {
		raw, err := base64.StdEncoding.DecodeString(string(trimSpace(h[len(prefix):])))
		if user, pass, ok := bytes.Cut(raw, []byte{':'}); err == nil && ok {
			return adapters.Credential{Scheme: adapters.SchemeBasic, User: string(user), Secret: string(pass)}, true
		}
		return adapters.Credential{}, false
	}
	if k := trimSpace(c.Req.Header.Peek(apiKeyHeader)); len(k) > 0 {
		return adapters.Credential{Scheme: adapters.SchemeAPIKey, Secret: string(k)}, true
	}
	return adapters.Credential{}, false
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// verify checks a JWT this dialect issued, remembering good ones until they expire:
// verifying the signature costs far more than the rest of a request.
func (in *Inbound) verify(token string, now time.Time) (clientID string, ok bool) {
	if id, ok := in.verified.get(token, now); ok {
		return id, true
	}
	id, exp, err := VerifyTokenExpiry(in.opts.JWTSecret, token, now)
	if err != nil {
		return "", false
	}
	in.verified.put(token, id, exp)
	return id, true
}

// OutboundPerMinute is the vendor's documented limit on /api/webhook/outbound ("30
// requests / min"), applied to the tenants whose config asks for it (vendor_limits).
const OutboundPerMinute = 30

// tooManyRequests is the answer of FlowBot's rate limiter (its express server's default
// text), in the dialect's error shape.
const tooManyRequests = "Too many requests, please try again later."

// Admit implements adapters.Guard: the vendor's outbound limit, per tenant, for tenants
// that emulate it.
func (in *Inbound) Admit(c *adapters.Call) error {
	if c.Op != adapters.OpOutbound || c.Account == nil {
		return nil
	}
	if cl := in.auth.byTenant[c.Account.Tenant]; cl == nil || !cl.VendorLimits {
		return nil
	}
	if ok, wait := in.outbound.allow(c.Account.Tenant, c.Now); !ok {
		return &canonical.Error{Code: canonical.ErrTooMany, Reason: tooManyRequests, RetryAfter: wait}
	}
	return nil
}

// Inherit implements adapters.Heir: verified tokens while the signing secret is the same,
// api-token's windows while its limit is, and the outbound windows.
func (in *Inbound) Inherit(old adapters.Inbound) {
	o, ok := old.(*Inbound)
	if !ok {
		return
	}
	if bytes.Equal(o.opts.JWTSecret, in.opts.JWTSecret) {
		in.verified = o.verified
	}
	if o.opts.TokenRequests == in.opts.TokenRequests && o.opts.TokenWindow == in.opts.TokenWindow {
		in.tokenIPs = o.tokenIPs
	}
	in.outbound = o.outbound
}

var _ adapters.Guard = (*Inbound)(nil)
var _ adapters.Heir = (*Inbound)(nil)
