package wavy

import (
	"errors"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tenant is a tenant's Wavy credential (tenants[].wavy).
type Tenant struct {
	// Username and Token are what clients send as UserName and AuthenticationToken.
	Username string `yaml:"username"`
	Token    string `yaml:"token"`
	// TimeZone applies when a request gives none (then UTC).
	TimeZone string `yaml:"time_zone"`
}

// Validate reports a missing username or token and an unknown time zone.
func (t *Tenant) Validate() error {
	var errs []error
	if t.Username == "" {
		errs = append(errs, canonical.Invalid("username", "is required"))
	}
	if t.Token == "" {
		errs = append(errs, canonical.Invalid("token", "is required"))
	}
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			errs = append(errs, canonical.Invalid("time_zone", "unknown time zone %q (want an IANA name, e.g. America/Sao_Paulo)", t.TimeZone))
		}
	}
	return errors.Join(errs...)
}

// Credential is the username and its token.
func (t *Tenant) Credential() (adapters.Credential, bool) {
	return adapters.Credential{Scheme: adapters.SchemeUser, User: t.Username, Secret: t.Token}, true
}

// Unique: one username is one tenant.
func (t *Tenant) Unique() []adapters.Unique {
	return []adapters.Unique{{Kind: "username", Field: "username", Value: t.Username}}
}

// Fill gives the account its default time zone.
func (t *Tenant) Fill(a *adapters.Account) { a.TimeZone = t.TimeZone }
