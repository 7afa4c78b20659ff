package sim

import (
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/bench/marker"
)

var wavyAuth = map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}

// A capacity of 100 requests/s serves 20 requests sent at once one after the
// other, 10ms each: the last answers at least 190ms after the first was sent.
// (Without the limit they all take a few milliseconds.)
func TestSimulatorCapacityQueues(t *testing.T) {
	base := serve(t, "wavy", Faults{Capacity: 100})
	const n = 20
	var mu sync.Mutex
	var last time.Time
	first := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call(t, "POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511900000001","messageText":"x"}`)
			now := time.Now()
			mu.Lock()
			if now.After(last) {
				last = now
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if span := last.Sub(first); span < 190*time.Millisecond {
		t.Errorf("20 requests were answered within %v; want at least 190ms (one server at 100/s)", span)
	}
	if resp, body := call(t, "POST", base+"/_sim/faults", nil, `{"capacity":-1}`); resp.StatusCode != 400 {
		t.Errorf("a negative capacity: %d %s", resp.StatusCode, body)
	}
}

// The simulator counts a load-generator run's marked messages, accepted and
// refused, with their latency from the marker's send time.
func TestSimulatorCountsRuns(t *testing.T) {
	base := serve(t, "wavy", Faults{})
	sent := time.Now().Add(-50 * time.Millisecond)
	for seq := range uint64(3) {
		text := string(marker.AppendText(nil, "0badcafe", seq, sent.UnixNano(), 40))
		call(t, "POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511900000001","messageText":"`+text+`"}`)
	}
	text := string(marker.AppendText(nil, "0badcafe", 9, sent.UnixNano(), 40))
	call(t, "POST", base+"/v1/send-sms", map[string]string{"username": "acme", "authenticationtoken": "bad"},
		`{"destination":"5511900000001","messageText":"`+text+`"}`)
	call(t, "POST", base+"/v1/send-sms", wavyAuth, `{"destination":"5511900000001","messageText":"unmarked"}`)
	var got struct {
		Messages, Errors int64
		Latency          struct {
			Count int64
			P50Ms float64 `json:"p50_ms"`
		}
		ErrorMessages map[string]int64 `json:"error_messages"`
	}
	_, body := call(t, "GET", base+"/_sim/runs/0badcafe", nil, "")
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Messages != 3 || got.Errors != 1 || got.Latency.Count != 3 || got.Latency.P50Ms < 50 || len(got.ErrorMessages) != 1 {
		t.Errorf("run figures %s; want 3 accepted at >= 50ms and 1 refused", body)
	}
	if _, body := call(t, "GET", base+"/_sim/runs/deadbeef", nil, ""); body != `{"messages":0,"errors":0,"latency":{"count":0,"mean_ms":0,"p50_ms":0,"p90_ms":0,"p99_ms":0,"p999_ms":0,"max_ms":0},"service":{"count":0,"mean_ms":0,"p50_ms":0,"p90_ms":0,"p99_ms":0,"p999_ms":0,"max_ms":0}}` {
		t.Errorf("an unknown run: %s", body)
	}
}
