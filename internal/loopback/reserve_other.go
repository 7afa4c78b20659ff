//go:build !linux

package loopback

import (
	"fmt"
	"net"
)

// reserve, where a bound socket would keep a server from binding the same port (the BSDs
// allow it only with SO_REUSEPORT on both), falls back to a port the system just handed
// out and gave back: another process may take it before the server binds it.
func reserve() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("cannot listen on loopback: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, func() {}, nil
}
