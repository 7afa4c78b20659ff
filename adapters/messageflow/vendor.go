package messageflow

import (
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Vendor is MessageFlow's row in the vendor table.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:        Dialect,
		Ingress:     true,
		ErrorPaths:  []string{"/add_message", "/webhook/"},
		NewInbound:  adapters.InboundOf(New),
		Options:     adapters.OptionsOf(Options{}),
		Tenant:      adapters.TenantOf[Tenant](),
		Credentials: adapters.CredentialSchema{Required: []string{"uuid"}, Optional: []string{"receipt_token"}},
		NewOutbound: NewOutbound,
	}
}

// Validate reports a DefaultCountryCode that is not a country calling code.
func (o Options) Validate() error {
	if cc := o.DefaultCountryCode; cc != "" && (len(cc) > 3 || strings.Trim(cc, "0123456789") != "") {
		return canonical.Invalid("default_country_code", "%q is not a country calling code, e.g. 972", cc)
	}
	return nil
}
