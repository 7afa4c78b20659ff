package sim

import (
	"errors"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"switchboard/bench/marker"
	"switchboard/canonical"
)

// The simulator counts, for each load-generator run, the messages that carry
// the run's timing marker (bench/marker): how many it accepted and refused,
// and how long they took, so that `switchboard bench -upstream` can tell which
// of several upstreams slowed a run.
const (
	// maxRuns bounds the runs remembered; the least recently seen goes first.
	maxRuns = 32
	// maxRunMessages bounds the distinct error messages kept per run.
	maxRunMessages = 20
	runHistMaxUs   = 60_000_000
	runHistDigits  = 3
)

type runStats struct {
	messages, errors int64
	lat, svc         *hdrhistogram.Histogram // µs: from the generator's send, and from arrival, to the answer
	msgs             map[string]int64
	seen             time.Time
}

type runTable struct {
	mu sync.Mutex
	m  map[string]*runStats
}

// get returns run's stats, making room for them; callers hold t.mu.
func (t *runTable) get(run string, now time.Time) *runStats {
	if t.m == nil {
		t.m = map[string]*runStats{}
	}
	r := t.m[run]
	if r == nil {
		if len(t.m) >= maxRuns {
			oldest := ""
			for k, v := range t.m {
				if oldest == "" || v.seen.Before(t.m[oldest].seen) {
					oldest = k
				}
			}
			delete(t.m, oldest)
		}
		r = &runStats{lat: newRunHist(), svc: newRunHist(), msgs: map[string]int64{}}
		t.m[run] = r
	}
	r.seen = now
	return r
}

func newRunHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, runHistMaxUs, runHistDigits) }

func recordSince(h *hdrhistogram.Histogram, from, to time.Time) {
	_ = h.RecordValue(min(max(to.Sub(from).Microseconds(), 1), runHistMaxUs))
}

// accepted records the marked messages of an accepted request that arrived at arrived.
func (t *runTable) accepted(msgs []*canonical.Message, arrived time.Time) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range msgs {
		mk, ok := marker.Find([]byte(m.Text))
		if !ok {
			continue
		}
		r := t.get(mk.Run, now)
		r.messages++
		recordSince(r.lat, time.Unix(0, mk.SentNs), now)
		recordSince(r.svc, arrived, now)
	}
}

// refused records a marked request answered with an error.
func (t *runTable) refused(body []byte, reason string) {
	mk, ok := marker.Find(body)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(mk.Run, time.Now())
	r.errors++
	if _, seen := r.msgs[reason]; seen || len(r.msgs) < maxRunMessages {
		r.msgs[reason]++
	}
}

// runReport serves GET /_sim/runs/{run}: counts, and the latencies as HdrHistogram's
// compressed histograms (base64, values in µs), which the load generator, or HdrHistogram's
// own tools, decode. A run never seen has zero counts and empty histograms.
func (s *Sim) runReport(ctx *fasthttp.RequestCtx) {
	run, _ := ctx.UserValue("run").(string)
	out := struct {
		Messages      int64            `json:"messages"`
		Errors        int64            `json:"errors"`
		LatencyHist   string           `json:"latency_hist"`
		ServiceHist   string           `json:"service_hist"`
		ErrorMessages map[string]int64 `json:"error_messages,omitempty"`
	}{}
	s.runs.mu.Lock()
	r := s.runs.m[run]
	if r == nil {
		r = &runStats{lat: newRunHist(), svc: newRunHist()}
	}
	out.Messages, out.Errors = r.messages, r.errors
	lat, err1 := r.lat.EncodeV2()
	svc, err2 := r.svc.EncodeV2()
	if len(r.msgs) > 0 {
		out.ErrorMessages = map[string]int64{}
		for k, v := range r.msgs {
			out.ErrorMessages[k] = v
		}
	}
	s.runs.mu.Unlock()
	if err := errors.Join(err1, err2); err != nil {
		ctx.Error("cannot encode the histograms: "+err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	out.LatencyHist, out.ServiceHist = string(lat), string(svc)
	writeJSON(ctx, out)
}

// capacity is a single virtual server doing 1/rate seconds of work per
// request: below rate requests wait for nothing but their own work; above it
// they queue, and the latency rises without bound, as at a real vendor's limit.
type capacity struct {
	mu   sync.Mutex
	free time.Time // when the server finishes the work already queued
}

// wait returns how long a request arriving now waits for its answer.
func (c *capacity) wait(rate float64) time.Duration {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.free.Before(now) {
		c.free = now
	}
	c.free = c.free.Add(time.Duration(float64(time.Second) / rate))
	return c.free.Sub(now)
}
