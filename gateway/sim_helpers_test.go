package gateway

import (
	"encoding/json"
	"testing"
	"time"

	"switchboard/bench/sim"

	"switchboard/internal/testutil"
)

// startSim runs an in-process simulator of the dialect (the vendor's real decoder behind
// it) on a loopback port until the test ends, and returns its base URL.
func startSim(t *testing.T, dialect string) string {
	t.Helper()
	s, base, err := sim.Start(dialect, "127.0.0.1:0", sim.DefaultCredentials, sim.Faults{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return base
}

// simRequests returns what the simulator at base has received.
func simRequests(t *testing.T, base string) []sim.Received {
	t.Helper()
	req, resp := acquire()
	defer release(req, resp)
	req.SetRequestURI(base + "/_sim/requests")
	if err := doTimeout(req, resp); err != nil {
		t.Fatal(err)
	}
	var out []sim.Received
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		t.Fatalf("simulator requests: %v", err)
	}
	return out
}

// waitRequests waits until the simulator at base has received n requests, and returns them.
func waitRequests(t *testing.T, base string, n int) []sim.Received {
	t.Helper()
	var got []sim.Received
	testutil.WaitFor(t, 15*time.Second, "the upstream to receive the messages", func() bool {
		got = simRequests(t, base)
		return len(got) >= n
	})
	return got
}
