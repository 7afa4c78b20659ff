package wavy

import "switchboard/adapters"

// Vendor is Wavy's row in the vendor table.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:          Dialect,
		Ingress:       true,
		ErrorPaths:    []string{"/v1/"},
		NewInbound:    adapters.InboundOf(New),
		Options:       adapters.OptionsOf(Options{SingleReply: "array"}),
		Tenant:        adapters.TenantOf[Tenant](),
		Credentials:   adapters.CredentialSchema{Required: []string{"username", "token"}, Optional: []string{"receipt_token"}},
		NewOutbound:   NewOutbound,
		ParseReceipts: ParseReceipts,
		ParseReplies:  ParseReplies,
		RenderReply:   RenderReply,
		RenderStatus:  RenderStatus,
	}
}
