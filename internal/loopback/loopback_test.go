package loopback

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// A reserved address refuses connections, takes a listener, and takes one again after the
// first has gone (a server restarted on its address).
func TestReserveRefusesThenListens(t *testing.T) {
	addr, release, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("a connection to the reserved %s was accepted before anything listened", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	for range 2 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("cannot listen on the reserved %s: %v", addr, err)
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close()
			}
		}()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("dial %s with a listener: %v", addr, err)
		}
		c.Close()
		ln.Close()
	}
}

// The port is held until release: a socket that does not share it (no SO_REUSEADDR) cannot
// bind it meanwhile, and can once it is released.
func TestReserveHoldsUntilRelease(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux can hold a port that a server may still bind")
	}
	addr, release, err := Reserve()
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := bindPlain(tcp.Port); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("binding the reserved port %d: %v, want address in use", tcp.Port, err)
	}
	release()
	if err := bindPlain(tcp.Port); err != nil {
		t.Fatalf("binding port %d after release: %v", tcp.Port, err)
	}
}

// bindPlain binds a fresh socket to 127.0.0.1:port without SO_REUSEADDR.
func bindPlain(port int) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
}
