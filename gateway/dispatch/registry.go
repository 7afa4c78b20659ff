package dispatch

import (
	"fmt"

	"switchboard/adapters"
	"switchboard/config"
)

// newUpstream builds the adapter for an upstream's dialect from its row in the vendor
// table: exactly one of out and local is set.
func newUpstream(cfg config.Upstream, vendors []adapters.Vendor) (out adapters.Outbound, local adapters.Local, err error) {
	uc := adapters.UpstreamConfig{Name: cfg.Name, URL: cfg.URL, Credentials: cfg.Credentials}
	v, ok := adapters.Lookup(vendors, cfg.Dialect)
	switch {
	case ok && v.NewOutbound != nil:
		out, err = v.NewOutbound(uc)
		return out, nil, err
	case ok && v.NewLocal != nil:
		local, err = v.NewLocal(uc)
		return nil, local, err
	}
	return nil, nil, fmt.Errorf("unknown upstream dialect %q", cfg.Dialect)
}
