package http

import "switchboard/adapters"

// Dialect is the generic HTTP upstream's name in config.
const Dialect = "http"

// Vendor is the generic HTTP upstream's row in the vendor table. Its receipts are in
// Switchboard's own format (adapters.ParseGenericReceipts).
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:        Dialect,
		Credentials: adapters.CredentialSchema{Optional: []string{"bearer", "receipt_token"}},
		NewOutbound: NewOutbound,
	}
}
