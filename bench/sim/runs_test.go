package sim

import (
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
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
		LatencyHist      string           `json:"latency_hist"`
		ErrorMessages    map[string]int64 `json:"error_messages"`
	}
	_, body := call(t, "GET", base+"/_sim/runs/0badcafe", nil, "")
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	lat, err := hdrhistogram.Decode([]byte(got.LatencyHist))
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages != 3 || got.Errors != 1 || lat.TotalCount() != 3 || lat.ValueAtQuantile(50) < 50_000 || len(got.ErrorMessages) != 1 {
		t.Errorf("run figures %s (p50 %dµs); want 3 accepted at >= 50ms and 1 refused", body, lat.ValueAtQuantile(50))
	}
	_, body = call(t, "GET", base+"/_sim/runs/deadbeef", nil, "")
	got.Messages, got.LatencyHist = -1, ""
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Messages != 0 || got.Errors != 0 {
		t.Fatalf("an unknown run: %s", body)
	}
	if h, err := hdrhistogram.Decode([]byte(got.LatencyHist)); err != nil || h.TotalCount() != 0 {
		t.Errorf("an unknown run's histogram: %v, %v", h, err)
	}
}
