package gateway

import (
	"net"

	"switchboard/config"
)

// Listen opens the listener cfg names.
func Listen(cfg *config.Config) (net.Listener, error) {
	return net.Listen("tcp", cfg.Listen)
}
