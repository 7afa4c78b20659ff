package sandbox

import "switchboard/adapters"

// Dialect is the sandbox's name in config.
const Dialect = "sandbox"

// Vendor is the sandbox's row in the vendor table: an upstream without URL or credentials.
func Vendor() adapters.Vendor {
	return adapters.Vendor{Name: Dialect, NoURL: true, NewLocal: New}
}
