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
	col    *collector
	lag    *hdrhistogram.Histogram // open loop: how late the scheduler woke
}

// Run drives load at o.Target until o.Duration or o.Requests is reached, or
// ctx is cancelled, and reports what it measured. Cancelling ctx ends the run
// early with a partial report, not an error.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.Target) // validated
	hc := newHostClient(u, o)
	defer hc.CloseIdleConnections()

	var fbToken string
	if o.Dialect == "flowbot" || o.Dialect == "mix" {
		var err error
		fbToken, err = fetchFlowbotToken(hc, o.Target, o.Creds, o.Duration+time.Hour, o.Timeout)
		if err != nil {
			return nil, err
		}
	}
	g := &generator{
		o:      o,
		hc:     hc,
		shapes: newShapes(o.Dialect, o.Target, o.Creds, fbToken),
		run:    fmt.Sprintf("%08x", rand.Uint32()),
		lag:    newHist(),
	}

	var sink *Sink
	if o.Sink != "" {
		var err error
		if sink, err = StartSink(o.Sink, g.run); err != nil {
			return nil, err
		}
		defer sink.Close()
	}

	start := time.Now()
	g.col = newCollector(min(o.Connections, 4*runtime.GOMAXPROCS(0)), start)
	stopTicks := g.startTicker(start)
	var unsent int64
	if o.Rate > 0 {
		unsent = g.openLoop(ctx, start)
	} else {
		g.closedLoop(ctx, start)
	}
	end := time.Now()
	var inLoad int64
	if sink != nil {
		inLoad = sink.Snapshot(0, start).Unique
	}
	stopTicks()
	g.col.tick(end)

	r := g.report(start, end, unsent, ctx.Err() != nil)
	if sink != nil {
		r.Delivery = sink.await(ctx, r.OK, o.Drain, start)
		r.Delivery.InLoad = inLoad
		if r.ElapsedSec > 0 {
			r.Delivery.InLoadPerSec = float64(inLoad) / r.ElapsedSec
		}
	}
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
				wk.do(uint64(seq), time.Now())
			}
		}(w)
	}
	wg.Wait()
}

// openLoop issues request i at start + i/Rate regardless of how earlier ones
// fare, and measures each latency from that intended time. At most
// Connections requests are in flight; when all are busy the scheduler falls
// behind, and the wait shows in the latency of every request it delays.
// It returns how many requests were never sent because the backlog could not
// be cleared within Timeout after the run's end.
func (g *generator) openLoop(ctx context.Context, start time.Time) (unsent int64) {
	type job struct {
		seq      uint64
		intended time.Time
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < g.o.Connections; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := g.newWorker(w)
			defer wk.release()
			for j := range jobs {
				wk.do(j.seq, j.intended)
			}
		}(w)
	}

	stop := time.NewTimer(time.Until(start.Add(g.o.Duration + g.o.Timeout)))
	defer stop.Stop()
	wait := time.NewTimer(0)
	defer wait.Stop()
	nsPer := 1e9 / g.o.Rate
	total := g.o.Requests
	var i int64
loop:
	for ; i < total; i++ {
		intended := start.Add(time.Duration(float64(i) * nsPer))
		if d := time.Until(intended); d > 0 {
			wait.Reset(d)
			select {
			case <-wait.C:
				recordUs(g.lag, time.Since(intended))
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case jobs <- job{uint64(i), intended}:
		case <-ctx.Done():
			break loop
		case <-stop.C:
			break loop
		}
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() != nil {
		return 0
	}
	return total - i
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

func (wk *worker) do(seq uint64, intended time.Time) {
	g := wk.g
	sent := time.Now()
	wk.to = appendRecipient(wk.to[:0], seq, g.o.Recipients)
	wk.text = marker.AppendText(wk.text[:0], g.run, seq, sent.UnixNano(), g.o.Size)
	g.shapes[seq%uint64(len(g.shapes))].build(wk.req, wk.to, wk.text)
	err := g.hc.DoTimeout(wk.req, wk.resp, g.o.Timeout)
	done := time.Now()
	if err != nil {
		wk.sh.record(0, classify(err), 0, 0)
		return
	}
	wk.sh.record(wk.resp.StatusCode(), "", done.Sub(intended), done.Sub(sent))
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
						sec.At, sec.Rate, fmtMs(sec.P99Ms), fmtUs(g.col.lat.ValueAtQuantile(99)), g.col.done-g.col.ok)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
