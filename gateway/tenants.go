package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
)

// tenant is one configured customer, ready for the request path.
type tenant struct {
	id      string
	cfg     *config.Tenant
	account adapters.Account
	// limiter is nil when the tenant has no ingress rate.
	limiter *rate.Limiter
	// window holds messages that carry no window of their own (sending_hours).
	window *canonical.Window
}

// secretKey indexes a secret by its hash, so that finding a tenant takes the same time
// whatever the secret's bytes; the secret itself is then compared in constant time.
type secretKey [sha256.Size]byte

// directory finds the tenant behind a credential. It is built once and only read after.
type directory struct {
	tenants  []*tenant
	byUUID   map[secretKey]*tenant // MessageFlow installation UUID
	byAPIKey map[secretKey]*tenant // MultiWhats apikey
	byWavy   map[string]*tenant    // Wavy username, then the token
	byNative map[secretKey]*tenant // native Bearer token
	byID     map[string]*tenant
}

func newDirectory(cfg *config.Config) *directory {
	d := &directory{
		byUUID: map[secretKey]*tenant{}, byAPIKey: map[secretKey]*tenant{}, byWavy: map[string]*tenant{},
		byNative: map[secretKey]*tenant{}, byID: map[string]*tenant{},
	}
	for i := range cfg.Tenants {
		tc := &cfg.Tenants[i]
		t := &tenant{id: tc.ID, cfg: tc, account: adapters.Account{Tenant: tc.ID, CountryCode: tc.DefaultCountryCode}}
		if tc.RatePerSecond > 0 {
			// config fills burst (its default is one second's worth) and validates it.
			t.limiter = rate.NewLimiter(rate.Limit(tc.RatePerSecond), tc.Burst)
		}
		if h := tc.SendingHours; h != nil {
			t.window = &canonical.Window{TimeZone: h.TimeZone}
			for hr := h.Start; hr != h.End; hr = (hr + 1) % 24 {
				t.window.Hours = append(t.window.Hours, hr)
			}
		}
		if c := tc.MessageFlow; c != nil && c.UUID != "" {
			d.byUUID[hashSecret(strings.ToLower(c.UUID))] = t
		}
		if c := tc.MultiWhats; c != nil && c.APIKey != "" {
			d.byAPIKey[hashSecret(c.APIKey)] = t
			t.account.UserID, t.account.AccountID = c.UserID, c.AccountID
		}
		if c := tc.Wavy; c != nil && c.Username != "" {
			d.byWavy[c.Username] = t
			t.account.TimeZone = c.TimeZone
		}
		if c := tc.FlowBot; c != nil && c.ClientID != "" {
			t.account.ClientID, t.account.ClientNumber = c.ClientID, c.ClientNumber
		}
		if c := tc.Native; c != nil && c.Token != "" {
			d.byNative[hashSecret(c.Token)] = t
		}
		d.byID[t.id] = t
		d.tenants = append(d.tenants, t)
	}
	return d
}

func hashSecret(s string) secretKey { return sha256.Sum256([]byte(s)) }

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var errBadCredentials = &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "invalid credentials"}

// byHashed looks a secret up by its hash and confirms it in constant time.
func byHashed(m map[secretKey]*tenant, secret string, get func(*tenant) string) *tenant {
	if secret == "" {
		return nil
	}
	t := m[hashSecret(secret)]
	if t == nil || !equalSecret(get(t), secret) {
		return nil
	}
	return t
}

// authenticate returns the tenant a credential belongs to. Dialects that check their own
// credentials (adapters.Guard: FlowBot) are not asked here.
func (d *directory) authenticate(cred adapters.Credential) *tenant {
	switch cred.Scheme {
	case adapters.SchemeUUID:
		// A UUID is the same in either case (config validation agrees).
		return byHashed(d.byUUID, strings.ToLower(cred.Secret), func(t *tenant) string { return strings.ToLower(t.cfg.MessageFlow.UUID) })
	case adapters.SchemeAPIKey:
		return byHashed(d.byAPIKey, cred.Secret, func(t *tenant) string { return t.cfg.MultiWhats.APIKey })
	case adapters.SchemeUser:
		t := d.byWavy[cred.User]
		// Compare against something even for an unknown user, so timing does not tell
		// which usernames exist.
		want := "\x00unknown-user"
		if t != nil {
			want = t.cfg.Wavy.Token
		}
		if !equalSecret(want, cred.Secret) || t == nil {
			return nil
		}
		return t
	case adapters.SchemeBearer:
		return byHashed(d.byNative, cred.Secret, func(t *tenant) string { return t.cfg.Native.Token })
	}
	return nil
}

// allow applies the tenant's ingress rate.
func (t *tenant) allow(now time.Time) *canonical.Error {
	if t.limiter == nil || t.limiter.AllowN(now, 1) {
		return nil
	}
	return &canonical.Error{Code: canonical.ErrTooMany, Reason: "too many requests", RetryAfter: time.Second}
}
