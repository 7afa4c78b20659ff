package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"switchboard/bench/marker"
)

// generator holds what every worker shares during one run.
type generator struct {
	o      Options
	hc     *fasthttp.HostClient
	shapes []*shape
	run    string
	start  time.Time
	col    *collector
	sink   *Sink
	sched  schedule
	lag    *hdrhistogram.Histogram // open loop: how late the scheduler woke
	// stageLag is the lag of the current stage of a capacity search.
	stageLag *hdrhistogram.Histogram
	// inflight counts the open loop's requests handed to a worker and not yet recorded.
	inflight    sync.WaitGroup
	stageBounds []stageBound
	stages      []Stage
}

// Run drives load at o.Target until its profile, o.Duration or o.Requests is
// done, or ctx is cancelled, and reports what it measured. Cancelling ctx ends
// the run early with a partial report, not an error.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.Target) // validated
	hc := newHostClient(u, o)
	defer hc.CloseIdleConnections()
	if err := checkRate(hc, u, o); err != nil {
		return nil, err
	}

	var fbToken string
	if o.Dialect == "flowbot" || o.Dialect == "mix" {
		var err error
		fbToken, err = fetchFlowbotToken(hc, o.Target, o.Creds, o.Duration+time.Hour, o.Timeout)
		if err != nil {
			return nil, err
		}
	}
	g := &generator{
		o:        o,
		hc:       hc,
		shapes:   newShapes(o.Dialect, o.Target, o.Creds, fbToken),
		run:      fmt.Sprintf("%08x", rand.Uint32()),
		lag:      newHist(),
		stageLag: newHist(),
	}

	if o.Sink != "" {
		var err error
		if g.sink, err = startSink(o.Sink, g.run, len(g.shapes)); err != nil {
			return nil, err
		}
		defer g.sink.Close()
	}

	start := time.Now()
	g.start = start
	g.col = newCollector(min(o.Connections, 4*runtime.GOMAXPROCS(0)), start)
	g.col.dialects = len(g.shapes)
	hl := newHlog(start)
	g.col.interval = hl.interval
	var unsent int64
	if o.kind() != profileClosed {
		g.col.asked = g.sched.asked
	}
	stopTicks := g.startTicker(start)
	if o.kind() != profileClosed {
		unsent = g.openLoop(ctx, start)
	} else {
		g.closedLoop(ctx, start)
	}
	end := time.Now()
	var inLoad int64
	if g.sink != nil {
		inLoad = g.sink.Snapshot(0, start).Unique
	}
	stopTicks()
	g.col.tick(end)

	r := g.report(start, end, unsent, ctx.Err() != nil)
	r.hlog = hl.bytes()
	ups := newUpstreamWatch(o.Upstreams, g.run, o.Timeout)
	if g.sink != nil || len(ups.u) > 0 {
		r.Delivery = awaitDelivery(ctx, g.sink, ups, r.OK, o.Drain, start)
		r.Delivery.InLoad = inLoad
		if r.ElapsedSec > 0 {
			r.Delivery.InLoadPerSec = float64(inLoad) / r.ElapsedSec
		}
		r.Upstreams = ups.reports()
	}
	g.finish(r)
	return r, nil
}

func newHostClient(u *url.URL, o Options) *fasthttp.HostClient {
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &fasthttp.HostClient{
		Addr:                      addr,
		IsTLS:                     u.Scheme == "https",
		MaxConns:                  o.Connections,
		MaxConnWaitTimeout:        o.Timeout,
		MaxIdemponentCallAttempts: 1, // a retry would hide an error and skew latency
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		ReadTimeout:               o.Timeout,
		WriteTimeout:              o.Timeout,
	}
}

// closedLoop runs Connections workers, each sending its next request when the
// previous one is answered: it measures service time, and a server stall
// slows the generator down with it (coordinated omission, by design).
func (g *generator) closedLoop(ctx context.Context, start time.Time) {
	deadline := start.Add(g.o.Duration)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < g.o.Connections; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := g.newWorker(w)
			defer wk.release()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				seq := next.Add(1) - 1
				if seq >= g.o.Requests {
					return
				}
				wk.do(job{uint64(seq), time.Now(), 0})
			}
		}(w)
	}
	wg.Wait()
}

// job is one request of the open loop: its number, when it is due, and the
// stage of the profile it belongs to.
type job struct {
	seq      uint64
	intended time.Time
	stage    int
}

// openLoop issues each request when the profile has it due, regardless of how
// earlier ones fare, and measures each latency from that intended time. At
// most Connections requests are in flight; when all are busy the scheduler
// falls behind, and the wait shows in the latency of every request it delays.
// Requests a stage could not send within Timeout after its end are unsent.
// A capacity search waits for each stage's requests to finish and decides the
// next stage from its figures.
func (g *generator) openLoop(ctx context.Context, start time.Time) (unsent int64) {
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < g.o.Connections; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := g.newWorker(w)
			defer wk.release()
			for j := range jobs {
				wk.do(j)
				g.inflight.Done()
			}
		}(w)
	}
	segs := g.o.segments()
	var srch *searcher
	if g.o.kind() == profileSearch {
		srch = &searcher{start: g.o.Search, ceiling: g.o.peak()}
	}
	var seq int64
	segStart := start
	var last *Stage
	for st := 0; ctx.Err() == nil && seq < g.o.Requests; st++ {
		var seg segment
		if srch != nil {
			held, rate := false, 0.0
			if last != nil {
				held, rate = last.Held, last.Asked
			}
			r, more := srch.next(rate, held)
			if !more {
				break
			}
			if last != nil && !last.Held && !sleepCtx(ctx, g.cooldown(last)) {
				break
			}
			seg, segStart = segment{r, r, g.o.StepDuration}, time.Now()
		} else {
			if st >= len(segs) {
				break
			}
			seg = segs[st]
		}
		g.sched.add(segStart, seg)
		first := seq
		n := g.dispatch(ctx, jobs, seg, segStart, st, &seq)
		unsent += n
		if srch != nil {
			g.inflight.Wait()
			g.col.flush()
			last = g.stage(st, seg, segStart, first, seq, n, true)
		} else {
			g.stageBounds = append(g.stageBounds, stageBound{st, seg, segStart, first, seq, n})
		}
		segStart = segStart.Add(seg.dur)
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return 0
	}
	return unsent
}

// dispatch sends the requests of one stage and returns how many it could not
// send within Timeout after the stage's end.
func (g *generator) dispatch(ctx context.Context, jobs chan<- job, seg segment, start time.Time, stage int, seq *int64) (unsent int64) {
	stop := time.NewTimer(time.Until(start.Add(seg.dur + g.o.Timeout)))
	defer stop.Stop()
	wait := time.NewTimer(0)
	defer wait.Stop()
	total := seg.total()
	for k := int64(0); k < total && *seq < g.o.Requests; k++ {
		intended := start.Add(seg.offset(k))
		if d := time.Until(intended); d > 0 {
			wait.Reset(d)
			select {
			case <-wait.C:
				late := time.Since(intended)
				recordUs(g.lag, late)
				recordUs(g.stageLag, late)
			case <-ctx.Done():
				return 0
			}
		}
		g.inflight.Add(1)
		select {
		case jobs <- job{uint64(*seq), intended, stage}:
			*seq++
		case <-ctx.Done():
			g.inflight.Done()
			return 0
		case <-stop.C:
			g.inflight.Done()
			return min(total-k, g.o.Requests-*seq)
		}
	}
	return 0
}

// cooldown is the back-off after a broken stage, so that what the target
// queued does not spill into the next: a stage's duration, or as long as the
// stage's slowest answer took if longer, at most Timeout.
func (g *generator) cooldown(st *Stage) time.Duration {
	slowest := time.Duration(st.Latency.MaxMs * float64(time.Millisecond))
	return min(max(g.o.StepDuration, slowest), g.o.Timeout)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// worker owns one request/response pair and sends requests one at a time.
type worker struct {
	g    *generator
	sh   *shard
	req  *fasthttp.Request
	resp *fasthttp.Response
	to   []byte
	text []byte
}

func (g *generator) newWorker(w int) *worker {
	return &worker{g: g, sh: g.col.shard(w), req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse()}
}

func (wk *worker) release() {
	fasthttp.ReleaseRequest(wk.req)
	fasthttp.ReleaseResponse(wk.resp)
}

func (wk *worker) do(j job) {
	g := wk.g
	sent := time.Now()
	d := int(j.seq % uint64(len(g.shapes)))
	wk.to = appendRecipient(wk.to[:0], j.seq, g.o.Recipients)
	wk.text = marker.AppendText(wk.text[:0], g.run, j.seq, sent.UnixNano(), g.o.Size)
	g.shapes[d].build(wk.req, wk.to, wk.text)
	err := g.hc.DoTimeout(wk.req, wk.resp, g.o.Timeout)
	done := time.Now()
	x := sample{dialect: d, stage: j.stage}
	switch {
	case err != nil:
		x.reason = classify(err)
	default:
		x.status = wk.resp.StatusCode()
		if x.status >= 200 && x.status < 300 {
			x.lat, x.svc = clampUs(done.Sub(j.intended)), clampUs(done.Sub(sent))
		} else {
			x.message = errorMessage(wk.resp.Body())
		}
	}
	wk.sh.record(x)
}

// classify names a transport error for the report.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "conn_closed"
	}
	return "transport"
}

// startTicker drains the collector every second and prints a progress line.
func (g *generator) startTicker(start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				sec := g.col.tick(now)
				if g.o.Progress != nil {
					fmt.Fprintf(g.o.Progress, "%5.0fs  rate %8.0f/s  p99 %9s (all %9s)  errors %d\n",
						sec.At, sec.Rate, fmtMs(sec.P99Ms), fmtUs(g.col.p99()), g.col.errors())
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
