package sim

import (
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
		r = &runStats{lat: hdrhistogram.New(1, runHistMaxUs, runHistDigits), svc: hdrhistogram.New(1, runHistMaxUs, runHistDigits), msgs: map[string]int64{}}
		t.m[run] = r
	}
	r.seen = now
	return r
}

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

// runSummary has the JSON shape of the load generator's latency summary.
type runSummary struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func summarizeRun(h *hdrhistogram.Histogram) runSummary {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return runSummary{Count: h.TotalCount(), MeanMs: h.Mean() / 1000, P50Ms: ms(h.ValueAtQuantile(50)), P90Ms: ms(h.ValueAtQuantile(90)),
		P99Ms: ms(h.ValueAtQuantile(99)), P999Ms: ms(h.ValueAtQuantile(99.9)), MaxMs: ms(h.Max())}
}

// runReport serves GET /_sim/runs/{run}: a run never seen has all zeros.
func (s *Sim) runReport(ctx *fasthttp.RequestCtx) {
	run, _ := ctx.UserValue("run").(string)
	out := struct {
		Messages      int64            `json:"messages"`
		Errors        int64            `json:"errors"`
		Latency       runSummary       `json:"latency"`
		Service       runSummary       `json:"service"`
		ErrorMessages map[string]int64 `json:"error_messages,omitempty"`
	}{}
	s.runs.mu.Lock()
	if r := s.runs.m[run]; r != nil {
		out.Messages, out.Errors, out.Latency, out.Service = r.messages, r.errors, summarizeRun(r.lat), summarizeRun(r.svc)
		out.ErrorMessages = map[string]int64{}
		for k, v := range r.msgs {
			out.ErrorMessages[k] = v
		}
	}
	s.runs.mu.Unlock()
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
