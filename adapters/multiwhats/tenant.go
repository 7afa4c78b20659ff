package multiwhats

import (
	"errors"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tenant is a tenant's MultiWhats credential (tenants[].multiwhats).
type Tenant struct {
	// APIKey is the apikey clients send in the query or body.
	APIKey string `yaml:"apikey"`
	// UserID and AccountID fill user_id and social_media_account_id in answers.
	UserID    int `yaml:"user_id"`
	AccountID int `yaml:"account_id"`
}

// Validate reports a missing apikey and negative ids.
func (t *Tenant) Validate() error {
	var errs []error
	if t.APIKey == "" {
		errs = append(errs, canonical.Invalid("apikey", "is required"))
	}
	if t.UserID < 0 {
		errs = append(errs, canonical.Invalid("user_id", "must be at least 0, got %d", t.UserID))
	}
	if t.AccountID < 0 {
		errs = append(errs, canonical.Invalid("account_id", "must be at least 0, got %d", t.AccountID))
	}
	return errors.Join(errs...)
}

// Credential is the apikey.
func (t *Tenant) Credential() (adapters.Credential, bool) {
	return adapters.Credential{Scheme: adapters.SchemeAPIKey, Secret: t.APIKey}, true
}

// Unique: one apikey is one tenant.
func (t *Tenant) Unique() []adapters.Unique {
	return []adapters.Unique{{Kind: "apikey", Field: "apikey", Value: t.APIKey}}
}

// Fill gives the account the ids MultiWhats' answers carry.
func (t *Tenant) Fill(a *adapters.Account) { a.UserID, a.AccountID = t.UserID, t.AccountID }
