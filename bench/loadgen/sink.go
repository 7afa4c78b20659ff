package loadgen

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"switchboard/bench/marker"
)

// Delivery is what the sink saw of one run's messages.
type Delivery struct {
	Unique     int64   `json:"unique"`     // distinct messages of this run delivered
	Duplicates int64   `json:"duplicates"` // repeated deliveries (at-least-once)
	Foreign    int64   `json:"foreign"`    // messages of another run (left in the queue)
	Unmarked   int64   `json:"unmarked"`   // bodies without a timing marker
	Ratio      float64 `json:"ratio"`      // Unique / accepted (2xx) requests
	PerSec     float64 `json:"per_sec"`    // Unique / time from start to last delivery
	LastSec    float64 `json:"last_sec"`   // last delivery, seconds from the start
	// InLoad is how many were delivered while the load ran (before the drain);
	// InLoadPerSec divides it by the load's duration: the delivery rate the
	// gateway sustained under load, even when its queue grew meanwhile.
	InLoad       int64   `json:"in_load"`
	InLoadPerSec float64 `json:"in_load_per_sec"`
	// Latency from the generator sending the request to the sink receiving
	// the message: ingress, durable queue and dispatch together.
	Latency Summary `json:"latency"`
}

// maxTrackedSeq bounds the duplicate-detection bitset (128 MiB at most);
// later sequence numbers count as unique unchecked.
const maxTrackedSeq = 1 << 30

// Sink is an upstream HTTP endpoint that answers 200 to everything and
// records the deliveries carrying a generator marker.
type Sink struct {
	run  string // only this run counts; "" counts every run
	ln   net.Listener
	srv  *fasthttp.Server
	done chan struct{}

	mu  sync.Mutex
	lat *hdrhistogram.Histogram
	// byDialect counts and times the run's deliveries by the dialect that sent
	// them: request seq went out in dialect seq % len(byDialect).
	byDialect []*dialectDeliveries
	seen      map[string][]uint64 // per run, a bitset of sequence numbers
	unique    int64
	dups      int64
	foreign   int64
	unmarked  int64
	last      time.Time
}

var sinkAnswer = []byte(`{"success":true}`)

type dialectDeliveries struct {
	unique int64
	lat    *hdrhistogram.Histogram
}

// StartSink listens on addr and serves until Close. With run set, messages of
// other runs are counted apart as foreign.
func StartSink(addr, run string) (*Sink, error) { return startSink(addr, run, 1) }

// startSink is StartSink for a run sending dialects dialects in rotation.
func startSink(addr, run string, dialects int) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for sink: %w", err)
	}
	s := &Sink{run: run, ln: ln, done: make(chan struct{}), lat: newHist(), seen: map[string][]uint64{}}
	if dialects > 1 {
		for i := 0; i < dialects; i++ {
			s.byDialect = append(s.byDialect, &dialectDeliveries{lat: newHist()})
		}
	}
	s.srv = &fasthttp.Server{Handler: s.handle, Name: "switchboard-bench-sink", ReadTimeout: time.Minute}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns when Close shuts the listener
	}()
	return s, nil
}

// Addr is the address the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink and waits for its handlers.
func (s *Sink) Close() error {
	err := s.srv.Shutdown()
	<-s.done
	return err
}

func (s *Sink) handle(ctx *fasthttp.RequestCtx) {
	now := time.Now()
	m, ok := marker.Find(ctx.PostBody())
	s.mu.Lock()
	switch {
	case !ok:
		s.unmarked++
	case s.run != "" && m.Run != s.run:
		s.foreign++
	case s.markSeen(m):
		s.dups++
	default:
		s.unique++
		s.last = now
		lat := now.Sub(time.Unix(0, m.SentNs))
		recordUs(s.lat, lat)
		if n := len(s.byDialect); n > 0 {
			d := s.byDialect[m.Seq%uint64(n)]
			d.unique++
			recordUs(d.lat, lat)
		}
	}
	s.mu.Unlock()
	ctx.SetContentType("application/json")
	ctx.SetBody(sinkAnswer)
}

// markSeen records m and reports whether it had been seen before.
func (s *Sink) markSeen(m marker.Marker) bool {
	if m.Seq >= maxTrackedSeq {
		return false
	}
	bits := s.seen[m.Run]
	w, b := m.Seq/64, uint64(1)<<(m.Seq%64)
	if int(w) >= len(bits) {
		bits = append(bits, make([]uint64, int(w)+1-len(bits)+len(bits)/2)...)
		s.seen[m.Run] = bits
	}
	if bits[w]&b != 0 {
		return true
	}
	bits[w] |= b
	return false
}

// Snapshot returns the deliveries so far; accepted and start give the ratio
// and the rate.
func (s *Sink) Snapshot(accepted int64, start time.Time) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Delivery{Unique: s.unique, Duplicates: s.dups, Foreign: s.foreign, Unmarked: s.unmarked, Latency: summarize(s.lat)}
	if accepted > 0 {
		d.Ratio = float64(s.unique) / float64(accepted)
	}
	if !s.last.IsZero() {
		d.LastSec = s.last.Sub(start).Seconds()
		if d.LastSec > 0 {
			d.PerSec = float64(s.unique) / d.LastSec
		}
	}
	return d
}

// dialect returns how many of dialect d's messages arrived, and their latency.
func (s *Sink) dialect(d int) (int64, Summary) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byDialect) == 0 {
		return s.unique, summarize(s.lat)
	}
	return s.byDialect[d].unique, summarize(s.byDialect[d].lat)
}

// countRange counts the run's messages with sequence numbers in [lo, hi)
// that arrived, of dialect d (seq % dialects == d) or of all (d < 0).
func (s *Sink) countRange(lo, hi int64, dialects, d int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	bits := s.seen[s.run]
	var n int64
	for q := lo; q < hi && q < maxTrackedSeq; q++ {
		if d >= 0 && q%int64(dialects) != int64(d) {
			continue
		}
		if w := q / 64; int(w) < len(bits) && bits[w]&(1<<(q%64)) != 0 {
			n++
		}
	}
	return n
}

// awaitRange waits until want of the messages numbered [lo, hi) have arrived,
// or wait has passed.
func (s *Sink) awaitRange(ctx context.Context, lo, hi, want int64, wait time.Duration) {
	deadline := time.Now().Add(wait)
	t := time.NewTicker(sinkPoll)
	defer t.Stop()
	for time.Now().Before(deadline) && ctx.Err() == nil && s.countRange(lo, hi, 1, -1) < want {
		<-t.C
	}
}

// sinkPoll is how often a wait for deliveries looks again.
const sinkPoll = 20 * time.Millisecond
