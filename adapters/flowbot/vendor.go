package flowbot

import (
	"errors"

	"switchboard/adapters"
	"switchboard/canonical"
)

// minJWTSecret is the shortest signing secret accepted: HS256 with fewer bytes is
// guessable offline from one issued token.
const minJWTSecret = 16

// Vendor is FlowBot's row in the vendor table.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:        Dialect,
		Ingress:     true,
		ErrorPaths:  []string{"/api/"},
		NewInbound:  adapters.InboundOf(New),
		Options:     options,
		Tenant:      adapters.TenantOf[Tenant](),
		Credentials: adapters.CredentialSchema{Required: []string{"client_id", "api_key"}, Optional: []string{"flow_id", "receipt_token"}},
		NewOutbound: NewOutbound,
	}
}

// Validate reports a signing secret too short to be safe and a token lifetime cap that is
// not positive.
func (o Options) Validate() error {
	var errs []error
	if n := len(o.JWTSecret); n > 0 && n < minJWTSecret {
		errs = append(errs, canonical.Invalid("jwt_secret", "must be at least %d bytes, got %d", minJWTSecret, n))
	}
	if len(o.JWTSecret) == 0 && len(o.Clients) > 0 {
		errs = append(errs, canonical.Invalid("jwt_secret", "is required because tenants have flowbot credentials (tenant %q is one)", o.Clients[0].Account.Tenant))
	}
	if o.MaxTokenTTL <= 0 {
		errs = append(errs, canonical.Invalid("max_token_ttl", "must be a positive duration, e.g. 5s, got %s", o.MaxTokenTTL))
	}
	return errors.Join(errs...)
}
