package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"switchboard/bench/loadgen"
)

// phase is one measured load: against the ceiling, one dialect's accepts, or end to end.
type phase struct {
	Name    string  `json:"name"`
	OKPerS  float64 `json:"ok_per_sec"`
	Errors  int64   `json:"errors"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	Ratio   float64 `json:"ratio_to_ceiling"`
	PeakRSS int64   `json:"peak_rss_bytes,omitempty"`
	// PeakAnon and PeakFile are the highest anonymous and file-backed RSS sampled (10/s).
	PeakAnon int64 `json:"peak_rss_anon_bytes,omitempty"`
	PeakFile int64 `json:"peak_rss_file_bytes,omitempty"`
	// Group commit (gateway phases): share of the time the syncer was syncing, mean sync,
	// items per sync.
	SyncBusy float64 `json:"sync_busy,omitempty"`
	SyncMs   float64 `json:"sync_mean_ms,omitempty"`
	PerSync  float64 `json:"items_per_sync,omitempty"`
	// ServerCPU is the cores the server (gateway or ceiling) used on average; LoadCPU the
	// load generator's; OtherCPU everything else on the machine: other work skews the run.
	ServerCPU float64 `json:"server_cores"`
	LoadCPU   float64 `json:"loadgen_cores"`
	OtherCPU  float64 `json:"other_cores"`

	// End to end only.
	Delivered      float64 `json:"delivered_per_sec,omitempty"` // during the load
	DeliveredRatio float64 `json:"delivered_ratio,omitempty"`   // after the drain
	Backlog        int64   `json:"backlog_at_end,omitempty"`    // accepted, not delivered at load end
}

// run is one pass over every phase.
type run struct {
	N       int              `json:"run"`
	Ceiling phase            `json:"ceiling"`
	Accept  map[string]phase `json:"accept"`
	E2E     phase            `json:"e2e"`
}

// scenario holds what every phase shares.
type scenario struct {
	o    options
	work string // temp dir: configs, queues, logs
}

func (s *scenario) load(ctx context.Context, lo loadgen.Options, server *proc, report string) (*loadgen.Report, phase, error) {
	lo.Connections, lo.Progress = s.o.connections, nil
	m := meterCPU(server.pid())
	rss := sampleRSS(server.pid())
	r, err := loadgen.Run(ctx, lo)
	anon, file := rss.peaks()
	if err != nil {
		return nil, phase{}, err
	}
	cpu, self, other := m.usage()
	ph := phase{
		OKPerS: r.OKPerSec, Errors: r.Errors, P50Ms: r.Latency.P50Ms, P99Ms: r.Latency.P99Ms,
		ServerCPU: cpu[0], LoadCPU: self, OtherCPU: other, PeakAnon: anon, PeakFile: file,
	}
	if err := s.writeReport(r, report); err != nil {
		return nil, phase{}, err
	}
	return r, ph, nil
}

// writeReport saves the load generator's JSON and HTML reports into the output directory.
func (s *scenario) writeReport(r *loadgen.Report, name string) error {
	for ext, write := range map[string]func(f *os.File) error{
		".json": func(f *os.File) error { return r.WriteJSON(f) },
		".html": func(f *os.File) error { return r.WriteHTML(f) },
	} {
		f, err := os.Create(filepath.Join(s.o.outDir, name+ext))
		if err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ceiling measures the constant-answer server with the native request shape.
func (s *scenario) ceiling(ctx context.Context, n int) (phase, error) {
	addr, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	p, err := startProc("ceiling", filepath.Join(s.work, "ceiling.log"), s.o.bin, "bench", "ceiling", "-listen", addr)
	if err != nil {
		return phase{}, err
	}
	defer p.stop(5 * time.Second)
	if err := waitListen(p, addr, 30*time.Second); err != nil {
		return phase{}, err
	}
	_, ph, err := s.load(ctx, loadgen.Options{Target: "http://" + addr, Dialect: "native", Duration: s.o.duration}, p, fmt.Sprintf("run%d-ceiling", n))
	ph.Name, ph.Ratio = "ceiling", 1
	return ph, err
}

// accept measures one dialect's durable accepts. The upstream is down, so messages stay
// in the queue: this is the gateway's ingress taking a burst, with dispatch idle.
func (s *scenario) accept(ctx context.Context, n int, dialect string) (phase, error) {
	down, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	g, err := s.gateway(fmt.Sprintf("run%d-%s", n, dialect), down)
	if err != nil {
		return phase{}, err
	}
	defer g.stop(30 * time.Second)
	what := fmt.Sprintf("run%d-accept-%s", n, dialect)
	stopProfile := s.maybeProfile(g, n, dialect == "native", "accept-native", s.o.duration)
	r, ph, err := s.load(ctx, loadgen.Options{Target: "http://" + g.addr, Dialect: dialect, Duration: s.o.duration}, g.proc, what)
	stopProfile()
	if err != nil {
		return phase{}, err
	}
	ph.Name = dialect
	if ph.SyncBusy, ph.SyncMs, ph.PerSync, err = g.syncStats(r.ElapsedSec); err != nil {
		return phase{}, err
	}
	ph.PeakRSS, err = peakRSS(g.pid())
	return ph, err
}

// e2e measures delivery to a local sink under closed-loop load, and the gateway's peak RSS.
func (s *scenario) e2e(ctx context.Context, n int) (phase, error) {
	sink, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	g, err := s.gateway(fmt.Sprintf("run%d-e2e", n), sink)
	if err != nil {
		return phase{}, err
	}
	defer g.stop(30 * time.Second)
	stopProfile := s.maybeProfile(g, n, true, "e2e", s.o.e2eDuration)
	r, ph, err := s.load(ctx, loadgen.Options{
		Target: "http://" + g.addr, Dialect: s.o.e2eDialect, Duration: s.o.e2eDuration,
		Sink: sink, Drain: s.o.drain,
	}, g.proc, fmt.Sprintf("run%d-e2e-%s", n, s.o.e2eDialect))
	stopProfile()
	if err != nil {
		return phase{}, err
	}
	d := r.Delivery
	ph.Name = "e2e " + s.o.e2eDialect
	if ph.SyncBusy, ph.SyncMs, ph.PerSync, err = g.syncStats(r.ElapsedSec); err != nil {
		return phase{}, err
	}
	ph.Delivered, ph.DeliveredRatio, ph.Backlog = d.InLoadPerSec, d.Ratio, r.OK-d.InLoad
	ph.PeakRSS, err = peakRSS(g.pid())
	return ph, err
}

// gateway starts a fresh gateway (empty queue) named name whose upstream is upstream.
func (s *scenario) gateway(name, upstream string) (*gateway, error) {
	return s.gatewayWith(name, upstream, "always")
}

func (s *scenario) gatewayWith(name, upstream, durability string) (*gateway, error) {
	cfg, addr, err := newGatewayConfig(filepath.Join(s.work, name), upstream, durability, s.o.upstreamConns)
	if err != nil {
		return nil, err
	}
	return startGateway(s.o.bin, cfg, addr)
}

// maybeProfile takes CPU and allocation profiles of g in the first run, when asked, starting
// a little after the load does; the returned func waits for them.
func (s *scenario) maybeProfile(g *gateway, n int, want bool, what string, d time.Duration) func() {
	const warmup = 2 * time.Second
	if !s.o.profile || n != 1 || !want || d < warmup+2*time.Second {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(warmup)
		secs := int(min(d-warmup-time.Second, 20*time.Second) / time.Second)
		if err := g.profile(s.o.outDir, what, secs); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
	}()
	return func() { <-done }
}

// once runs every phase of run n.
func (s *scenario) once(ctx context.Context, n int) (run, error) {
	r := run{N: n, Accept: map[string]phase{}}
	var err error
	s.logf("run %d/%d: ceiling", n, s.o.runs)
	if r.Ceiling, err = s.ceiling(ctx, n); err != nil {
		return r, fmt.Errorf("ceiling: %w", err)
	}
	s.logf("  ceiling %.0f/s (p99 %.2f ms)", r.Ceiling.OKPerS, r.Ceiling.P99Ms)
	for _, d := range s.o.dialects {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		ph, err := s.accept(ctx, n, d)
		if err != nil {
			return r, fmt.Errorf("accept %s: %w", d, err)
		}
		ph.Ratio = ph.OKPerS / r.Ceiling.OKPerS
		r.Accept[d] = ph
		s.logf("  accept %-11s %6.0f/s  %.2fx ceiling  p50 %.2f ms  p99 %.2f ms  errors %d  (syncer busy %.0f%%, %.2f ms a sync, %.0f items a sync)",
			d, ph.OKPerS, ph.Ratio, ph.P50Ms, ph.P99Ms, ph.Errors, 100*ph.SyncBusy, ph.SyncMs, ph.PerSync)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if r.E2E, err = s.e2e(ctx, n); err != nil {
		return r, fmt.Errorf("end to end: %w", err)
	}
	r.E2E.Ratio = r.E2E.Delivered / r.Ceiling.OKPerS
	s.logf("  e2e delivered %.0f/s during the load (%.2fx ceiling), accepted %.0f/s, backlog %d, delivered %.1f%% after the drain, peak RSS %d MB",
		r.E2E.Delivered, r.E2E.Ratio, r.E2E.OKPerS, r.E2E.Backlog, 100*r.E2E.DeliveredRatio, r.E2E.PeakRSS>>20)
	return r, nil
}

func (s *scenario) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
