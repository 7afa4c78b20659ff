package adapters

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"switchboard/canonical"
)

// Vendor is everything Switchboard knows of one vendor, as its package exports it. The
// gateway's router, config checking, dispatch, the receipt endpoint, the simulators and the
// load generator all read these rows (adapters/registry lists them), so a vendor is its
// package and one line of that table.
type Vendor struct {
	// Name is the dialect's name in config (routes' match.dialects, upstreams' dialect) and
	// in Message.Dialect.
	Name string
	// Ingress says clients may speak the dialect to the gateway. A vendor with an Inbound
	// that is not ingress (the Cloud API) serves only its simulator.
	Ingress bool
	// ErrorPaths are the path prefixes a request that matches no route is answered under in
	// this dialect's error shape (the longest prefix of any vendor wins; the native shape
	// answers the rest).
	ErrorPaths []string
	// NewInbound builds the dialect as clients speak it from its options (nil when it has
	// none); nil for an upstream-only vendor. It does no I/O.
	NewInbound func(opts Options) (Inbound, error)
	// Options builds the dialect's options from its section of the config file (the
	// top-level key Name) and the tenants with credentials in the dialect; nil for a dialect
	// without options. Config checking reports what decode and the options' Validate find.
	Options func(decode Decode, tenants []TenantEntry) (Options, error)
	// Tenant decodes a tenant's credentials in the dialect (tenants[].<Name>); nil for a
	// dialect that tenants do not speak.
	Tenant func(decode Decode) (TenantCredentials, error)
	// Credentials are the upstream credential keys the vendor needs and those it takes.
	Credentials CredentialSchema
	// NoURL says the upstream takes no URL (it delivers in-process).
	NoURL bool
	// NewOutbound builds the upstream adapter; NewLocal one that delivers in-process.
	// Exactly one of them is set for a vendor messages can be sent to.
	NewOutbound func(cfg UpstreamConfig) (Outbound, error)
	NewLocal    func(cfg UpstreamConfig) (Local, error)
	// ParseReceipts reads what the vendor posts to /receipts/{upstream}; nil means
	// Switchboard's own format (ParseGenericReceipts).
	ParseReceipts func(body []byte, now time.Time) ([]Receipt, error)
	// ParseReplies reads the recipients' replies from what the vendor posts to the same
	// /receipts/{upstream} URL (Meta's message webhooks, Wavy's MO push); nil means
	// Switchboard's own reply JSON. Both parsers read every body: each returns nothing, and
	// no error, for a body that holds only what the other reads.
	ParseReplies func(body []byte, now time.Time) ([]canonical.Reply, error)
	// RenderReply appends a reply to dst as the dialect's clients receive it pushed (Wavy's
	// MO push); nil means Switchboard's own reply JSON.
	RenderReply func(dst []byte, r *canonical.Reply) []byte
	// RenderStatus renders the status callbacks the dialect's clients receive for the last
	// change of a message's history (Wavy's sent-status callback and delivery receipt), none
	// when that change is not one they hear of; nil means Switchboard's native status JSON.
	RenderStatus func(m *canonical.Message, history []canonical.Change) []StatusCallback
	// Webhook, when set, is how the vendor's receipts are authenticated instead of the
	// upstream's receipt_token: it signs what it posts (Meta).
	Webhook *Webhook
}

// StatusCallback is one status callback as a dialect's clients receive it.
type StatusCallback struct {
	// Kind names it to the receiver (X-Switchboard-Event); KindDeliveryCallback goes to
	// the tenant's callbacks.delivery_url, any other to callbacks.url.
	Kind string
	Body []byte
}

// KindDeliveryCallback is the kind of a status callback posted to the delivery URL.
const KindDeliveryCallback = "delivery"

// Webhook is a vendor's own authentication of the receipts it posts. Such a vendor retries
// anything but a 200 for days, so a signed body is answered 200 even when it cannot be read.
type Webhook struct {
	// Handshake answers the subscription check (GET /receipts/{upstream}): the challenge to
	// echo in plain text, or false. query reads the request's query string.
	Handshake func(query func(key string) string, creds map[string]string) (challenge string, ok bool)
	// Signed reports whether a posted body carries a good signature; header reads the
	// request's headers. It is false when creds lack the secret to check it with.
	Signed func(body []byte, header func(name string) string, creds map[string]string) bool
}

// Options are a dialect's typed, dialect-wide settings.
type Options interface {
	// Validate reports every bad setting, each a *canonical.Error whose Field is the
	// setting's key in the dialect's config section (errors.Join for several).
	Validate() error
}

// CredentialSchema names an upstream's credential keys.
type CredentialSchema struct {
	Required, Optional []string
}

// Validate reports every required key that is empty and every key the vendor does not
// take; each error's Field is the key.
func (s CredentialSchema) Validate(creds map[string]string) error {
	var errs []error
	for _, key := range s.Required {
		if creds[key] == "" {
			errs = append(errs, canonical.Invalid(key, "is required"))
		}
	}
	keys := make([]string, 0, len(creds))
	for key := range creds {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		if !slices.Contains(s.Required, key) && !slices.Contains(s.Optional, key) {
			want := "none"
			if all := slices.Concat(s.Required, s.Optional); len(all) > 0 {
				want = strings.Join(all, ", ")
			}
			errs = append(errs, canonical.Invalid(key, "unknown credential (want %s)", want))
		}
	}
	return errors.Join(errs...)
}

// CheckUpstream reports every problem of an upstream of vendor v, as serving would meet
// it: the credential schema, then the adapter's own construction (which checks what the
// schema cannot, say a malformed id). A Field of "credentials.<key>" or "url" places an
// error; an error without one concerns the upstream as a whole.
func (v *Vendor) CheckUpstream(cfg UpstreamConfig) []*canonical.Error {
	var errs []*canonical.Error
	for _, e := range FieldErrors(v.Credentials.Validate(cfg.Credentials)) {
		e.Field = "credentials." + e.Field
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return errs
	}
	var err error
	switch {
	case v.NewOutbound != nil:
		_, err = v.NewOutbound(cfg)
	case v.NewLocal != nil:
		_, err = v.NewLocal(cfg)
	}
	return FieldErrors(err)
}

// FieldErrors flattens errors.Join trees into *canonical.Errors; any other error becomes
// an invalid-value error without a field.
func FieldErrors(err error) []*canonical.Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*canonical.Error
		for _, e := range j.Unwrap() {
			out = append(out, FieldErrors(e)...)
		}
		return out
	}
	var ce *canonical.Error
	if errors.As(err, &ce) {
		c := *ce
		return []*canonical.Error{&c}
	}
	return []*canonical.Error{canonical.Invalid("", "%s", err.Error())}
}

// Lookup returns the row of vendors named name.
func Lookup(vendors []Vendor, name string) (*Vendor, bool) {
	for i := range vendors {
		if vendors[i].Name == name {
			return &vendors[i], true
		}
	}
	return nil, false
}

// ErrorVendor returns the vendor whose ErrorPaths hold the longest prefix of path; ok is
// false when none does.
func ErrorVendor(vendors []Vendor, path string) (v *Vendor, ok bool) {
	best := -1
	for i := range vendors {
		for _, p := range vendors[i].ErrorPaths {
			if len(p) > best && strings.HasPrefix(path, p) {
				v, best = &vendors[i], len(p)
			}
		}
	}
	return v, v != nil
}

// NoOptions are the options of a dialect that has none.
type NoOptions struct{}

// Validate accepts NoOptions.
func (NoOptions) Validate() error { return nil }

// InboundOf adapts a dialect's typed constructor to Vendor.NewInbound: the options are
// validated first, and nil options are the zero value of O.
func InboundOf[O Options, I Inbound](build func(O) I) func(Options) (Inbound, error) {
	return func(o Options) (Inbound, error) {
		var opts O
		if o != nil {
			var ok bool
			if opts, ok = o.(O); !ok {
				return nil, fmt.Errorf("cannot build a dialect from options of type %T: want %T", o, opts)
			}
		}
		if err := opts.Validate(); err != nil {
			return nil, err
		}
		return build(opts), nil
	}
}
