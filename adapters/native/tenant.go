package native

import (
	"switchboard/adapters"
	"switchboard/canonical"
)

// Tenant is a tenant's native API credential (tenants[].native).
type Tenant struct {
	// Token is the Bearer token for /gateway/v1/*.
	Token string `yaml:"token"`
}

// Validate reports a missing token.
func (t *Tenant) Validate() error {
	if t.Token == "" {
		return canonical.Invalid("token", "is required")
	}
	return nil
}

// Credential is the Bearer token.
func (t *Tenant) Credential() (adapters.Credential, bool) {
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: t.Token}, true
}

// Unique: one token is one tenant.
func (t *Tenant) Unique() []adapters.Unique {
	return []adapters.Unique{{Kind: "token", Field: "token", Value: t.Token}}
}

// Fill adds nothing: the native API's answers name no account.
func (t *Tenant) Fill(*adapters.Account) {}
