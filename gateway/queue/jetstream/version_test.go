package jetstream

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// oldServerVersion is a nats-server without message schedules or per-message TTLs.
const oldServerVersion = "2.10.22"

// startOldServer listens on loopback and speaks the NATS client protocol as a nats-server of
// version would up to the connection: its INFO, then PONG to each PING. It has no JetStream.
func startOldServer(t *testing.T, version string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				fmt.Fprintf(c, `INFO {"server_id":"OLD","server_name":"old","version":%q,"proto":1,"host":"127.0.0.1","port":%d,"headers":true,"max_payload":1048576}`+"\r\n", version, port)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "PING") {
						fmt.Fprint(c, "PONG\r\n")
					}
				}
			}()
		}
	}()
	return "nats://" + ln.Addr().String()
}

// TestOldServerNamesMinimum: on a nats-server older than the minimum, Open fails at once
// with an error that names the server's version and the minimum.
func TestOldServerNamesMinimum(t *testing.T) {
	url := startOldServer(t, oldServerVersion)
	start := time.Now()
	q, err := Open(Options{Servers: []string{url}, Logger: quiet})
	if err == nil {
		q.Close()
		t.Fatal("opened on an old nats-server")
	}
	if msg := err.Error(); !strings.Contains(msg, "nats-server "+oldServerVersion+" is too old") ||
		!strings.Contains(msg, "needs nats-server "+minServerVersion+" or later") {
		t.Fatalf("error %q names neither the server's version nor the minimum", msg)
	}
	if took := time.Since(start); took > setupAttempt {
		t.Fatalf("took %v to fail: the version is known once connected", took)
	}
}

func TestCheckServerVersion(t *testing.T) {
	for _, tc := range []struct {
		version string
		ok      bool
	}{
		{"2.12.0", true}, {"2.15.2", true}, {"v2.12.1", true}, {"3.0.0", true}, {"2.12.3-beta.1", true},
		{"2.11.9", false}, {"2.10.22", false}, {"v1.99.99", false},
		{"", true}, {"nightly", true}, // unknown: the setup says what is missing
	} {
		if err := checkServerVersion(tc.version); (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.version, err, tc.ok)
		}
	}
}
