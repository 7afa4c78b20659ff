package dispatch

import (
	"fmt"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	httpup "switchboard/adapters/http"
	"switchboard/adapters/messageflow"
	"switchboard/adapters/multiwhats"
	"switchboard/adapters/sandbox"
	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
	"switchboard/config"
)

// newUpstream builds the adapter for an upstream's dialect: exactly one of out and local is
// set. This switch is the whole registry.
func newUpstream(cfg config.Upstream) (out adapters.Outbound, local adapters.Local, err error) {
	uc := adapters.UpstreamConfig{Name: cfg.Name, URL: cfg.URL, Credentials: cfg.Credentials}
	switch cfg.Dialect {
	case "http":
		return outbound(httpup.NewOutbound(uc))
	case "sandbox":
		l, err := sandbox.New(uc)
		return nil, l, err
	case "messageflow":
		return outbound(messageflow.NewOutbound(uc))
	case "multiwhats":
		return outbound(multiwhats.NewOutbound(uc))
	case "wavy":
		return outbound(wavy.NewOutbound(uc))
	case "flowbot":
		return outbound(flowbot.NewOutbound(uc))
	case "whatsappcloud":
		return outbound(whatsappcloud.NewOutbound(uc))
	}
	return nil, nil, fmt.Errorf("unknown upstream dialect %q", cfg.Dialect)
}

func outbound(o adapters.Outbound, err error) (adapters.Outbound, adapters.Local, error) {
	return o, nil, err
}
