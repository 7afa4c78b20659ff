package flowbot

import (
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Serve answers FlowBot's two endpoints that send nothing: api-token issues a token for the
// client credentials in the body (checked against Options.Clients), signed with
// Options.JWTSecret, its lifetime capped by Options.MaxTokenTTL; check-sent answers from the gateway's records which phones were
// sent a template lately.
func (in *Inbound) Serve(c *adapters.Call, env adapters.Env, dst []byte) (int, []byte, error) {
	switch c.Op {
	case adapters.OpToken:
		return in.serveToken(c, dst)
	case adapters.OpCheckSent:
		return serveCheckSent(c, env, dst)
	}
	return 0, dst, canonical.Errorf(canonical.ErrNotFound, "no such endpoint")
}

// serveToken is the one place tokens are issued: within the per-IP limit, for client
// credentials this dialect's clients hold.
func (in *Inbound) serveToken(c *adapters.Call, dst []byte) (int, []byte, error) {
	if ok, _ := in.tokenIPs.allow(c.RemoteIP.String(), c.Now); !ok {
		return 0, dst, &canonical.Error{Code: canonical.ErrTooMany,
			Reason: "Too many token requests from this IP, please try again later", RetryAfter: in.opts.TokenWindow}
	}
	clientID, apiKey, ttl, err := ParseTokenRequest(c)
	if err != nil {
		return 0, dst, err
	}
	acct := in.Authenticate(c, adapters.Credential{Scheme: adapters.SchemeClient, User: clientID, Secret: apiKey})
	if acct == nil {
		return 0, dst, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "Invalid client credentials"}
	}
	if in.opts.MaxTokenTTL > 0 {
		ttl = min(ttl, in.opts.MaxTokenTTL)
	}
	if acct.ClientID != "" {
		clientID = acct.ClientID // the account's own spelling
	}
	tok, err := IssueToken(in.opts.JWTSecret, clientID, acct.Tenant, ttl, c.Now)
	if err != nil {
		return 0, dst, err
	}
	return 200, AppendTokenAnswer(dst, tok, ttl, acct), nil
}

func serveCheckSent(c *adapters.Call, env adapters.Env, dst []byte) (int, []byte, error) {
	if c.Account == nil {
		return 0, dst, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "Unauthorized"}
	}
	phones, templateName, hours, err := ParseCheckSent(c)
	if err != nil {
		return 0, dst, err
	}
	byE164 := make(map[string]string, len(phones))
	tos := make([]string, 0, len(phones))
	for _, p := range phones {
		if to, err := canonical.NormalizePhone(p, c.Account.CountryCode); err == nil {
			byE164[to] = p
			tos = append(tos, to)
		}
	}
	found, err := env.Store.TemplateSentSince(c.Account.Tenant, tos, templateName, c.Now.Add(-time.Duration(hours)*time.Hour))
	if err != nil {
		return 0, dst, err
	}
	sent := make(map[string]time.Time, len(found))
	for to, at := range found {
		sent[byE164[to]] = at
	}
	return 200, AppendCheckSentAnswer(dst, phones, sent), nil
}

var _ adapters.Operator = (*Inbound)(nil)
