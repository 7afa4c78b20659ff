package queuetest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReady bounds the wait for an in-process NATS server to take connections.
const natsReady = 10 * time.Second

// StartNATS runs a JetStream-enabled NATS server in the test process, on a loopback port,
// storing in a temporary directory; syncAlways has it fsync before every acknowledgement.
// It is shut down when the test ends.
func StartNATS(t testing.TB, syncAlways bool) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), SyncAlways: syncAlways, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(natsReady) {
		t.Fatalf("NATS server not ready within %v", natsReady)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}
