package multiwhats

import (
	"switchboard/adapters"
	"switchboard/canonical"
)

// Vendor is MultiWhats' row in the vendor table.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:        Dialect,
		Ingress:     true,
		ErrorPaths:  []string{"/api/v1/"},
		NewInbound:  adapters.InboundOf(New),
		Options:     adapters.OptionsOf(Options{Reply: ReplyDocumented}),
		Tenant:      adapters.TenantOf[Tenant](),
		Credentials: adapters.CredentialSchema{Required: []string{"apikey"}, Optional: []string{"from", "receipt_token"}},
		NewOutbound: NewOutbound,
	}
}

// Validate reports an unknown Reply.
func (o Options) Validate() error {
	switch o.Reply {
	case "", ReplyDocumented, ReplyActual:
		return nil
	}
	return canonical.Invalid("reply", "%q is not one of %s, %s", o.Reply, ReplyDocumented, ReplyActual)
}
