package native

import "switchboard/adapters"

// Vendor is the native API's row in the vendor table: an ingress dialect only, whose error
// shape also answers every path no other dialect claims.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:       Dialect,
		Ingress:    true,
		NewInbound: adapters.InboundOf(func(adapters.NoOptions) *Inbound { return New() }),
		Tenant:     adapters.TenantOf[Tenant](),
	}
}
