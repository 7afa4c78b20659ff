package main

import (
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// notify tells systemd (a Type=notify unit) the service's state, as sd_notify(3) does: a
// datagram to the socket $NOTIFY_SOCKET names. Without the variable it does nothing.
func notify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	if path[0] == '@' { // an abstract socket
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return // systemd gone: nothing to tell
	}
	defer conn.Close()
	conn.Write([]byte(state)) //nolint:errcheck // best effort, as sd_notify
}

// reloading is the state of a reload starting: systemd wants the monotonic clock with it.
func reloading() string {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return "RELOADING=1"
	}
	return "RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}
