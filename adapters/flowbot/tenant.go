package flowbot

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Tenant is a tenant's FlowBot credentials (tenants[].flowbot). The dialect checks them
// itself (an adapters.Guard): they become one of Options' Clients.
type Tenant struct {
	// ClientID and APIKey are exchanged at /api/auth/api-token for a JWT.
	ClientID string `yaml:"client_id"`
	APIKey   string `yaml:"api_key"`
	// HMACSecret checks X-Signature-256 on lead requests.
	HMACSecret string `yaml:"hmac_secret"`
	// ClientNumber is answered as clientNumber by /api/auth/api-token.
	ClientNumber string `yaml:"client_number"`
	// VendorLimits emulates FlowBot's documented request limits for this tenant (outbound:
	// 30 requests a minute). Off by default: the gateway need not throttle below what it carries.
	VendorLimits bool `yaml:"vendor_limits"`
	// Flows accept the vendor's legacy per-flow credentials besides the JWT every flow
	// accepts: on the lead endpoint (/api/webhook/flow/{id}/lead) and on outbound triggers
	// naming the flow as flowId.
	Flows []Flow `yaml:"flows"`
}

// flowModes are the legacy per-flow modes a flow may accept.
var flowModes = []string{ModeAPIKey, ModeBasic, ModeBearer}

// Validate reports missing credentials and legacy flows without an id, a known mode or
// that mode's secret (and Basic's user name).
func (t *Tenant) Validate() error {
	var errs []error
	required := func(field, v string) {
		if v == "" {
			errs = append(errs, canonical.Invalid(field, "is required"))
		}
	}
	required("client_id", t.ClientID)
	required("api_key", t.APIKey)
	for i, f := range t.Flows {
		p := "flows[" + strconv.Itoa(i) + "]."
		required(p+"id", f.ID)
		if !slices.Contains(flowModes, f.Mode) {
			errs = append(errs, canonical.Invalid(p+"auth", "%q is not one of %s, %s, %s", f.Mode, ModeAPIKey, ModeBasic, ModeBearer))
		}
		required(p+"secret", f.Secret)
		if f.Mode == ModeBasic {
			required(p+"username", f.Username)
		}
	}
	return errors.Join(errs...)
}

// Credential is false: FlowBot's credentials are checked by the dialect (Authenticate).
func (t *Tenant) Credential() (adapters.Credential, bool) { return adapters.Credential{}, false }

// Unique: a client id, an HMAC secret (a lead request is matched to its tenant by the
// secret its signature verifies with) and each legacy flow belong to one tenant.
func (t *Tenant) Unique() []adapters.Unique {
	u := []adapters.Unique{{Kind: "client_id", Field: "client_id", Value: t.ClientID}, {Kind: "hmac_secret", Field: "hmac_secret", Value: t.HMACSecret}}
	for i, f := range t.Flows {
		u = append(u, adapters.Unique{Kind: "flow", Field: "flows[" + strconv.Itoa(i) + "].id", Value: f.ID})
	}
	return u
}

// Fill gives the account the client id and number answers name.
func (t *Tenant) Fill(a *adapters.Account) { a.ClientID, a.ClientNumber = t.ClientID, t.ClientNumber }

// section is the config file's flowbot: section, with its defaults.
type section struct {
	// JWTSecret signs the tokens /api/auth/api-token issues (HS256).
	JWTSecret string `yaml:"jwt_secret"`
	// MaxTokenTTL caps the ttlSec a client may ask for.
	MaxTokenTTL time.Duration `yaml:"max_token_ttl"`
	// TokenRequestsPerWindow and TokenWindow limit /api/auth/api-token per client IP.
	TokenRequestsPerWindow int           `yaml:"token_requests_per_window"`
	TokenWindow            time.Duration `yaml:"token_window"`
}

// The section's defaults: the vendor documents 10 token requests per 15 minutes per IP.
const (
	defaultMaxTokenTTL   = 24 * time.Hour
	defaultTokenRequests = 10
	defaultTokenWindow   = 15 * time.Minute
)

// options builds the dialect's Options from the flowbot: section and the tenants' FlowBot
// credentials (Vendor.Options).
func options(decode adapters.Decode, tenants []adapters.TenantEntry) (adapters.Options, error) {
	s := section{MaxTokenTTL: defaultMaxTokenTTL, TokenRequestsPerWindow: defaultTokenRequests, TokenWindow: defaultTokenWindow}
	if err := decode(&s); err != nil {
		return nil, err
	}
	var errs []error
	if s.TokenRequestsPerWindow < 1 {
		errs = append(errs, canonical.Invalid("token_requests_per_window", "must be at least 1, got %d", s.TokenRequestsPerWindow))
	}
	if s.TokenWindow <= 0 {
		errs = append(errs, canonical.Invalid("token_window", "must be a positive duration, e.g. 15m, got %s", s.TokenWindow))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	o := Options{JWTSecret: []byte(s.JWTSecret), MaxTokenTTL: s.MaxTokenTTL, TokenRequests: s.TokenRequestsPerWindow, TokenWindow: s.TokenWindow}
	for _, t := range tenants {
		tc, ok := t.Credentials.(*Tenant)
		if !ok {
			return nil, fmt.Errorf("cannot build flowbot options from credentials of type %T", t.Credentials)
		}
		o.Clients = append(o.Clients, Client{ID: tc.ClientID, Account: t.Account, APIKey: tc.APIKey,
			HMACSecret: tc.HMACSecret, VendorLimits: tc.VendorLimits, Flows: tc.Flows})
	}
	return o, nil
}
