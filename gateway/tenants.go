package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
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
// A credential is looked up only among the credentials tenants have in the dialect that
// read it: a secret given in one dialect never opens another.
type directory struct {
	tenants []*tenant
	// bySecret holds credentials without a user name, by the hash of dialect and secret;
	// byUser those with one (Wavy), by dialect and user name.
	bySecret map[secretKey]held
	byUser   map[string]held
	byID     map[string]*tenant
}

// held is a tenant's credential in one dialect.
type held struct {
	t    *tenant
	cred adapters.Credential
}

func newDirectory(cfg *config.Config, d *dialects) *directory {
	dir := &directory{bySecret: map[secretKey]held{}, byUser: map[string]held{}, byID: map[string]*tenant{}}
	for i := range cfg.Tenants {
		tc := &cfg.Tenants[i]
		t := &tenant{id: tc.ID, cfg: tc, account: d.tenants[i].account}
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
		for dialect, creds := range d.tenants[i].creds {
			cred, ok := creds.Credential()
			switch {
			case !ok || cred.Secret == "":
			case cred.User != "":
				dir.byUser[dialect+"\x00"+cred.User] = held{t, cred}
			default:
				dir.bySecret[hashSecret(dialect, cred.Secret)] = held{t, cred}
			}
		}
		dir.byID[t.id] = t
		dir.tenants = append(dir.tenants, t)
	}
	return dir
}

func hashSecret(dialect, secret string) secretKey {
	h := sha256.New()
	h.Write([]byte(dialect))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var k secretKey
	h.Sum(k[:0])
	return k
}

func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

var errBadCredentials = &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "invalid credentials"}

// unknownUser is compared against for a user name no tenant has, so that timing does not
// tell which user names exist.
const unknownUser = "\x00unknown-user"

// authenticate returns the tenant whose credential in dialect is cred. Dialects that check
// their own credentials (adapters.Guard: FlowBot) are not asked here.
func (d *directory) authenticate(dialect string, cred adapters.Credential) *tenant {
	if cred.Scheme == adapters.SchemeNone || cred.Secret == "" {
		return nil
	}
	if cred.User != "" {
		h, ok := d.byUser[dialect+"\x00"+cred.User]
		want := unknownUser
		if ok {
			want = h.cred.Secret
		}
		if !equalSecret(want, cred.Secret) || !ok || h.cred.Scheme != cred.Scheme {
			return nil
		}
		return h.t
	}
	h, ok := d.bySecret[hashSecret(dialect, cred.Secret)]
	if !ok || !equalSecret(h.cred.Secret, cred.Secret) || h.cred.Scheme != cred.Scheme {
		return nil
	}
	return h.t
}

// allow applies the tenant's ingress rate.
func (t *tenant) allow(now time.Time) *canonical.Error {
	if t.limiter == nil || t.limiter.AllowN(now, 1) {
		return nil
	}
	return &canonical.Error{Code: canonical.ErrTooMany, Reason: "too many requests", RetryAfter: time.Second}
}
