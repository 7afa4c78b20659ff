package messageflow

import (
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tenant is a tenant's MessageFlow credential (tenants[].messageflow).
type Tenant struct {
	// UUID is the installation id clients send as UUID, in either case.
	UUID string `yaml:"uuid"`
}

// Validate reports a missing UUID.
func (t *Tenant) Validate() error {
	if t.UUID == "" {
		return canonical.Invalid("uuid", "is required")
	}
	return nil
}

// Credential is the UUID, in lower case as Credential and Decode read it from requests.
func (t *Tenant) Credential() (adapters.Credential, bool) {
	return adapters.Credential{Scheme: adapters.SchemeUUID, Secret: foldUUID(t.UUID)}, true
}

// Unique: one installation is one tenant.
func (t *Tenant) Unique() []adapters.Unique {
	return []adapters.Unique{{Kind: "uuid", Field: "uuid", Value: foldUUID(t.UUID)}}
}

// Fill adds nothing: MessageFlow's answers name no account.
func (t *Tenant) Fill(*adapters.Account) {}

// foldUUID is a UUID as it is compared: clients may send it in either case.
func foldUUID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
