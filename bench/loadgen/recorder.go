package loadgen

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1µs .. 60s at 3 significant digits, values in microseconds.
const (
	histMinUs  = 1
	histMaxUs  = 60_000_000
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUs, histMaxUs, histDigits)
}

func recordUs(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < histMinUs {
		us = histMinUs
	}
	if us > histMaxUs {
		us = histMaxUs
	}
	_ = h.RecordValue(us) // clamped into range: cannot fail
}

// shard is where a few workers record. Workers share shards rather than own
// one each because a histogram of this range is ~140 KB, and an open loop may
// run thousands of workers; an uncontended mutex costs far less than a request.
type shard struct {
	mu      sync.Mutex
	lat     *hdrhistogram.Histogram // from intended send time (2xx only)
	svc     *hdrhistogram.Histogram // from actual send time (2xx only)
	done    int64
	ok      int64
	status  map[int]int64
	reasons map[string]int64
}

func newShard() *shard {
	return &shard{lat: newHist(), svc: newHist(), status: map[int]int64{}, reasons: map[string]int64{}}
}

// record one finished request: status 0 means no HTTP answer, and reason says why.
func (s *shard) record(status int, reason string, lat, svc time.Duration) {
	s.mu.Lock()
	s.done++
	if status != 0 {
		s.status[status]++
	}
	if reason != "" {
		s.reasons[reason]++
	}
	if status >= 200 && status < 300 {
		s.ok++
		recordUs(s.lat, lat)
		recordUs(s.svc, svc)
	}
	s.mu.Unlock()
}

// collector periodically drains the shards into per-interval and total figures.
type collector struct {
	shards []*shard
	start  time.Time
	last   time.Time

	// owned by the caller of tick
	ivLat, ivSvc *hdrhistogram.Histogram
	lat, svc     *hdrhistogram.Histogram
	done, ok     int64
	status       map[int]int64
	reasons      map[string]int64
	timeline     []Second
}

func newCollector(n int, start time.Time) *collector {
	c := &collector{
		start: start, last: start,
		ivLat: newHist(), ivSvc: newHist(), lat: newHist(), svc: newHist(),
		status: map[int]int64{}, reasons: map[string]int64{},
	}
	for i := 0; i < n; i++ {
		c.shards = append(c.shards, newShard())
	}
	return c
}

func (c *collector) shard(worker int) *shard { return c.shards[worker%len(c.shards)] }

// tick moves everything recorded since the last tick into the totals and
// appends one timeline entry for the interval ending at now.
func (c *collector) tick(now time.Time) Second {
	c.ivLat.Reset()
	c.ivSvc.Reset()
	var done, ok, errs int64
	for _, s := range c.shards {
		s.mu.Lock()
		c.ivLat.Merge(s.lat)
		c.ivSvc.Merge(s.svc)
		s.lat.Reset()
		s.svc.Reset()
		done += s.done
		ok += s.ok
		for k, v := range s.status {
			c.status[k] += v
		}
		for k, v := range s.reasons {
			c.reasons[k] += v
		}
		clear(s.status)
		clear(s.reasons)
		s.done, s.ok = 0, 0
		s.mu.Unlock()
	}
	errs = done - ok
	c.lat.Merge(c.ivLat)
	c.svc.Merge(c.ivSvc)
	c.done += done
	c.ok += ok
	span := now.Sub(c.last).Seconds()
	c.last = now
	sec := Second{
		At:       now.Sub(c.start).Seconds(),
		Span:     span,
		Requests: done,
		OK:       ok,
		Errors:   errs,
		P50Ms:    usToMs(c.ivLat.ValueAtQuantile(50)),
		P99Ms:    usToMs(c.ivLat.ValueAtQuantile(99)),
		MaxMs:    usToMs(c.ivLat.Max()),
	}
	if span > 0 {
		sec.Rate = float64(done) / span
	}
	c.timeline = append(c.timeline, sec)
	return sec
}

func usToMs(us int64) float64 { return float64(us) / 1000 }
