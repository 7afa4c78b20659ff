package loadgen

import (
	"testing"
	"time"
)

func TestPercentilesOfKnownValues(t *testing.T) {
	start := time.Now()
	c := newCollector(3, start)
	// 1..10000 µs, spread over shards as workers would.
	for v := 1; v <= 10000; v++ {
		c.shard(v).record(sample{status: 200, lat: int64(v)})
	}
	c.tick(start.Add(time.Second))
	s := summarize(c.lat)
	if s.Count != 10000 {
		t.Fatalf("count %d, want 10000", s.Count)
	}
	// Three significant digits: each value within 0.1%.
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"p50", s.P50Ms, 5}, {"p90", s.P90Ms, 9}, {"p99", s.P99Ms, 9.9},
		{"p99.9", s.P999Ms, 9.99}, {"max", s.MaxMs, 10}, {"min", s.MinMs, 0.001}, {"mean", s.MeanMs, 5.0005},
	} {
		if !within(tc.got, tc.want, 0.001) {
			t.Errorf("%s = %vms, want %vms ±0.1%%", tc.name, tc.got, tc.want)
		}
	}
}

func TestPercentileAtTail(t *testing.T) {
	start := time.Now()
	c := newCollector(2, start)
	for i := 0; i < 990; i++ {
		c.shard(i).record(sample{status: 200, lat: 1000})
	}
	for i := 0; i < 10; i++ {
		c.shard(i).record(sample{status: 200, lat: 1_000_000})
	}
	c.tick(start.Add(time.Second))
	s := summarize(c.lat)
	if !within(s.P99Ms, 1, 0.001) || !within(s.P999Ms, 1000, 0.001) || !within(s.MaxMs, 1000, 0.001) {
		t.Errorf("p99 %v p99.9 %v max %v; want 1ms, 1000ms, 1000ms", s.P99Ms, s.P999Ms, s.MaxMs)
	}
	r := &Report{lat: c.lat}
	if n := r.CountAbove(500 * time.Millisecond); n != 10 {
		t.Errorf("CountAbove(500ms) = %d, want 10", n)
	}
	var binned int64
	for _, b := range logBins(c.lat) {
		binned += b.Count
	}
	if binned != 1000 {
		t.Errorf("histogram bins hold %d, want 1000", binned)
	}
}

func TestErrorsAreCountedNotTimed(t *testing.T) {
	start := time.Now()
	c := newCollector(1, start)
	c.shard(0).record(sample{status: 200, lat: 1000, svc: 1000})
	c.shard(0).record(sample{status: 503, lat: 1, svc: 1, message: "Service unavailable"})
	c.shard(0).record(sample{reason: "timeout"})
	sec := c.tick(start.Add(500 * time.Millisecond))
	if sec.Requests != 3 || sec.OK != 1 || sec.Errors != 2 || !within(sec.Rate, 6, 0.001) {
		t.Errorf("interval %+v; want 3 requests, 1 ok, 2 errors, 6/s", sec)
	}
	if c.lat.TotalCount() != 1 || c.status[503] != 1 || c.reasons["timeout"] != 1 {
		t.Errorf("latency count %d, status %v, reasons %v", c.lat.TotalCount(), c.status, c.reasons)
	}
	// A second tick starts a fresh interval but keeps the totals.
	sec = c.tick(start.Add(time.Second))
	if sec.Requests != 0 || c.done != 3 {
		t.Errorf("second interval %+v, total %d", sec, c.done)
	}
}
