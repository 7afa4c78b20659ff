// Package registry is the one table of vendors: every row is a vendor package's descriptor.
// The gateway's router and config checking, dispatch, the receipt endpoint, the simulators
// and the load generator read it; adding a vendor is adding its package and one line here.
//
// It is a package of its own only because the vendor packages import adapters: the table
// cannot live there. It must never hold anything but the list.
package registry

import (
	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/adapters/http"
	"switchboard/adapters/messageflow"
	"switchboard/adapters/multiwhats"
	"switchboard/adapters/native"
	"switchboard/adapters/sandbox"
	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
)

// Vendors returns the table, a fresh copy on every call, in the order dialects are listed
// to users.
func Vendors() []adapters.Vendor {
	return []adapters.Vendor{
		messageflow.Vendor(),
		multiwhats.Vendor(),
		wavy.Vendor(),
		flowbot.Vendor(),
		whatsappcloud.Vendor(),
		http.Vendor(),
		sandbox.Vendor(),
		native.Vendor(),
	}
}
