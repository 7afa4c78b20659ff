package dispatch

import (
	"fmt"

	"switchboard/adapters"
	httpup "switchboard/adapters/http"
	"switchboard/adapters/sandbox"
	"switchboard/config"
)

// newUpstream builds the adapter for an upstream's dialect: exactly one of out and local is
// set. This switch is the whole registry; a vendor's outbound adapter is wired in by
// replacing its notYet line with `return outbound(vendor.NewOutbound(uc))`.
func newUpstream(cfg config.Upstream) (out adapters.Outbound, local adapters.Local, err error) {
	uc := adapters.UpstreamConfig{Name: cfg.Name, URL: cfg.URL, Credentials: cfg.Credentials}
	switch cfg.Dialect {
	case "http":
		return outbound(httpup.NewOutbound(uc))
	case "sandbox":
		l, err := sandbox.New(uc)
		return nil, l, err
	case "messageflow":
		return notYet(cfg.Dialect)
	case "multiwhats":
		return notYet(cfg.Dialect)
	case "wavy":
		return notYet(cfg.Dialect)
	case "flowbot":
		return notYet(cfg.Dialect)
	case "whatsappcloud":
		return notYet(cfg.Dialect)
	}
	return nil, nil, fmt.Errorf("unknown upstream dialect %q", cfg.Dialect)
}

func outbound(o adapters.Outbound, err error) (adapters.Outbound, adapters.Local, error) {
	return o, nil, err
}

func notYet(dialect string) (adapters.Outbound, adapters.Local, error) {
	return nil, nil, fmt.Errorf("dialect %s not yet supported as an upstream", dialect)
}
