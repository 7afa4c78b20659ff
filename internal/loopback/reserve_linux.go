package loopback

import (
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// reserve binds a socket to 127.0.0.1:0 with SO_REUSEADDR and never listens on it. Linux
// then neither picks that port for another bind to port 0 nor for an outgoing connection,
// while a listener that sets SO_REUSEADDR (Go's net.Listen, nats-server, Kannel's boxes)
// may still bind it, because the reserving socket is not listening.
func reserve() (string, func(), error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("cannot open a socket: %w", err)
	}
	if err := reserveOn(fd); err != nil {
		syscall.Close(fd)
		return "", nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("cannot read the reserved port: %w", err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), func() { syscall.Close(fd) }, nil
}

func reserveOn(fd int) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("cannot set SO_REUSEADDR: %w", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("cannot bind a loopback port: %w", err)
	}
	return nil
}
