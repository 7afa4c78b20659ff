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
	// maxErrorMessages bounds the distinct error answers kept per dialect; the
	// rest are counted under otherMessages, so a vendor quoting each request's
	// id in its error cannot fill the memory.
	maxErrorMessages = 50
	otherMessages    = "(other messages)"
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUs, histMaxUs, histDigits)
}

func clampUs(d time.Duration) int64 {
	return min(max(d.Microseconds(), histMinUs), histMaxUs)
}

func recordUs(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(clampUs(d)) // clamped into range: cannot fail
}

// sample is one finished request as a worker records it: status 0 means no
// HTTP answer and reason says why; message is the answer's error text.
type sample struct {
	lat, svc int64 // µs: from the intended and from the actual send (2xx only)
	status   int
	dialect  int
	stage    int
	reason   string
	message  string
}

// shard is where a few workers append their samples; the collector takes
// them every tick and does the histogram work on one goroutine. Workers share
// shards because an uncontended mutex costs far less than a request.
type shard struct {
	mu      sync.Mutex
	samples []sample
}

func (s *shard) record(x sample) {
	s.mu.Lock()
	s.samples = append(s.samples, x)
	s.mu.Unlock()
}

// errKey names one kind of failed answer in a cell.
type errKey struct {
	Status  int
	Message string
}

// cell holds the figures of one slice of the run: everything, one dialect,
// one stage, or one dialect in one stage.
type cell struct {
	lat, svc *hdrhistogram.Histogram // svc is nil for stage cells
	done, ok int64
	status   map[int]int64
	reasons  map[string]int64
	messages map[errKey]int64
}

func newCell(withSvc bool) *cell {
	c := &cell{lat: newHist(), status: map[int]int64{}, reasons: map[string]int64{}, messages: map[errKey]int64{}}
	if withSvc {
		c.svc = newHist()
	}
	return c
}

func (c *cell) add(x *sample) {
	c.done++
	if x.status != 0 {
		c.status[x.status]++
	}
	if x.reason != "" {
		c.reasons[x.reason]++
	}
	if x.status >= 200 && x.status < 300 {
		c.ok++
		_ = c.lat.RecordValue(x.lat)
		if c.svc != nil {
			_ = c.svc.RecordValue(x.svc)
		}
		return
	}
	if x.status != 0 {
		k := errKey{x.status, x.message}
		if _, seen := c.messages[k]; !seen && len(c.messages) >= maxErrorMessages {
			k.Message = otherMessages
		}
		c.messages[k]++
	}
}

// cellKey addresses a cell; -1 means every stage or every dialect.
type cellKey struct{ stage, dialect int }

var whole = cellKey{-1, -1}

// collector periodically drains the shards into per-interval and total figures.
type collector struct {
	shards   []*shard
	start    time.Time
	last     time.Time
	dialects int
	// asked, when set, is how many requests the schedule had due between two times.
	asked func(from, to time.Time) float64
	// interval is called with each second's latency histogram (for the .hlog).
	interval func(from, to time.Time, h *hdrhistogram.Histogram)

	mu       sync.Mutex
	buf      []sample
	prevDone int64
	prevOK   int64
	ivLat    *hdrhistogram.Histogram
	cells    map[cellKey]*cell
	timeline []Second
	// lat, svc, done, ok, status and reasons alias the whole run's cell.
	lat, svc *hdrhistogram.Histogram
	done, ok int64
	status   map[int]int64
	reasons  map[string]int64
}

func newCollector(n int, start time.Time) *collector {
	c := &collector{start: start, last: start, dialects: 1, ivLat: newHist(), cells: map[cellKey]*cell{}}
	w := newCell(true)
	c.cells[whole] = w
	c.lat, c.svc, c.status, c.reasons = w.lat, w.svc, w.status, w.reasons
	for i := 0; i < n; i++ {
		c.shards = append(c.shards, &shard{})
	}
	return c
}

func (c *collector) shard(worker int) *shard { return c.shards[worker%len(c.shards)] }

// cell returns the cell of k, made on first use. Callers hold c.mu.
func (c *collector) cell(k cellKey) *cell {
	if c.dialects == 1 && k.dialect >= 0 {
		k.dialect = -1 // one dialect: its cells are the totals
	}
	x := c.cells[k]
	if x == nil {
		x = newCell(k.stage < 0)
		c.cells[k] = x
	}
	return x
}

// lookup returns the cell of k or nil, without making one.
func (c *collector) lookup(k cellKey) *cell {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dialects == 1 && k.dialect >= 0 {
		k.dialect = -1
	}
	return c.cells[k]
}

// drain moves every sample recorded so far into the cells and the current
// interval. Callers hold c.mu.
func (c *collector) drain() {
	for _, s := range c.shards {
		s.mu.Lock()
		c.buf, s.samples = s.samples, c.buf[:0]
		s.mu.Unlock()
		for i := range c.buf {
			x := &c.buf[i]
			if x.status >= 200 && x.status < 300 {
				_ = c.ivLat.RecordValue(x.lat)
			}
			c.cell(whole).add(x)
			c.cell(cellKey{x.stage, -1}).add(x)
			if c.dialects > 1 {
				c.cell(cellKey{-1, x.dialect}).add(x)
				c.cell(cellKey{x.stage, x.dialect}).add(x)
			}
		}
	}
	w := c.cells[whole]
	c.done, c.ok = w.done, w.ok
}

// flush drains the shards without closing the interval: a stage's figures are
// complete once its requests have finished and flush has run.
func (c *collector) flush() {
	c.mu.Lock()
	c.drain()
	c.mu.Unlock()
}

// tick moves everything recorded since the last tick into the totals and
// appends one timeline entry for the interval ending at now.
func (c *collector) tick(now time.Time) Second {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drain()
	span := now.Sub(c.last).Seconds()
	sec := Second{
		At:       now.Sub(c.start).Seconds(),
		Span:     span,
		Requests: c.done - c.prevDone,
		OK:       c.ok - c.prevOK,
		P50Ms:    usToMs(c.ivLat.ValueAtQuantile(50)),
		P90Ms:    usToMs(c.ivLat.ValueAtQuantile(90)),
		P99Ms:    usToMs(c.ivLat.ValueAtQuantile(99)),
		MaxMs:    usToMs(c.ivLat.Max()),
	}
	sec.Errors = sec.Requests - sec.OK
	if span > 0 {
		sec.Rate = float64(sec.Requests) / span
		if c.asked != nil {
			sec.Asked = c.asked(c.last, now) / span
		}
	}
	if c.interval != nil {
		c.interval(c.last, now, c.ivLat)
	}
	c.ivLat.Reset()
	c.prevDone, c.prevOK = c.done, c.ok
	c.last = now
	c.timeline = append(c.timeline, sec)
	return sec
}

// p99 is the whole run's p99 so far, in µs.
func (c *collector) p99() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lat.ValueAtQuantile(99)
}

// errors is the whole run's failed requests so far.
func (c *collector) errors() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done - c.ok
}

func usToMs(us int64) float64 { return float64(us) / 1000 }
