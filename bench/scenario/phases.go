package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"switchboard/bench/loadgen"
)

// phase is one measured load: against the ceiling or the durable reference, one dialect's
// accepts, or end to end.
type phase struct {
	Name   string  `json:"name"`
	OKPerS float64 `json:"ok_per_sec"`
	Errors int64   `json:"errors"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	Ratio  float64 `json:"ratio_to_ceiling"`
	// RefRatio is OKPerS to the durable reference's of the same run: durable accepts only
	// (and the reference itself, 1).
	RefRatio float64 `json:"ratio_to_durable_reference,omitempty"`
	PeakRSS  int64   `json:"peak_rss_bytes,omitempty"`
	// PeakAnon and PeakFile are the highest anonymous and file-backed RSS sampled (10/s).
	PeakAnon int64 `json:"peak_rss_anon_bytes,omitempty"`
	PeakFile int64 `json:"peak_rss_file_bytes,omitempty"`
	// Group commit (gateway phases): share of the time the committer was committing (with
	// durability always a commit includes Badger's syncs), mean commit, items per commit.
	CommitBusy float64 `json:"commit_busy,omitempty"`
	CommitMs   float64 `json:"commit_mean_ms,omitempty"`
	PerCommit  float64 `json:"items_per_commit,omitempty"`
	// ServerCPU is the cores the server (gateway or ceiling) used on average; LoadCPU the
	// load generator's; OtherCPU everything else on the machine: other work skews the run.
	ServerCPU float64 `json:"server_cores"`
	LoadCPU   float64 `json:"loadgen_cores"`
	OtherCPU  float64 `json:"other_cores"`
	// JetStream phases: the nats-server's cores and peak RSS (VmHWM).
	NATSCPU float64 `json:"nats_server_cores,omitempty"`
	NATSRSS int64   `json:"nats_server_peak_rss_bytes,omitempty"`

	// End to end only.
	Delivered      float64 `json:"delivered_per_sec,omitempty"` // during the load
	DeliveredRatio float64 `json:"delivered_ratio,omitempty"`   // after the drain
	Backlog        int64   `json:"backlog_at_end,omitempty"`    // accepted, not delivered at load end
}

// run is one pass over every phase.
type run struct {
	N       int              `json:"run"`
	Ceiling phase            `json:"ceiling"`
	Durable phase            `json:"durable_reference"`
	Accept  map[string]phase `json:"accept"`
	E2E     phase            `json:"e2e"`
	// E2ERef is the end-to-end reference: the durable reference forwarding every answered
	// body to the sink (`bench ceiling -durable DIR -forward URL`).
	E2ERef phase `json:"e2e_reference"`
	// JetStream is nil when its phases are not measured.
	JetStream *jsRun `json:"jetstream,omitempty"`
}

// jsRun is the gateway on JetStream: native accepts and end to end with nats-server's
// default sync, and accepts with sync_interval always.
type jsRun struct {
	Accept       phase `json:"accept"`
	AcceptAlways phase `json:"accept_sync_always"`
	E2E          phase `json:"e2e"`
}

// backend is the queue of a phase's gateway.
type backend int

const (
	badger          backend = iota // its own Badger queue, durability always
	jetStream                      // a fresh nats-server of its own, default sync (every 2 min)
	jetStreamAlways                // the same with sync_interval always
)

// tag prefixes the names of a backend's gateways and reports.
func (b backend) tag() string {
	return [...]string{"", "jetstream-", "jetstream-always-"}[b]
}

// scenario holds what every phase shares.
type scenario struct {
	o    options
	work string // temp dir: configs, queues, logs
}

// load runs lo against server and writes its reports as report. A JetStream phase also
// meters its nats-server (nil otherwise).
func (s *scenario) load(ctx context.Context, lo loadgen.Options, server, nats *proc, report string) (*loadgen.Report, phase, error) {
	lo.Connections, lo.Progress = s.o.connections, nil
	pids := []int{server.pid()}
	if nats != nil {
		pids = append(pids, nats.pid())
	}
	m := meterCPU(pids...)
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
	if nats != nil {
		ph.NATSCPU = cpu[1]
		ph.NATSRSS, _ = peakRSS(nats.pid())
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

// ceiling measures the constant-answer server with the native request shape; durable, the
// same server answering only after it appended the body to a file in a fresh directory and
// fdatasync'd it (`bench ceiling -durable`): the durable reference.
func (s *scenario) ceiling(ctx context.Context, n int, durable bool) (phase, error) {
	name, args := "ceiling", []string(nil)
	if durable {
		name = "durable-ref"
		args = []string{"-durable", filepath.Join(s.work, fmt.Sprintf("run%d-durable-ref", n))}
	}
	p, addr, err := s.startCeiling(name, args...)
	if err != nil {
		return phase{}, err
	}
	defer p.stop(5 * time.Second)
	_, ph, err := s.load(ctx, loadgen.Options{Target: "http://" + addr, Dialect: "native", Duration: s.o.duration}, p, nil, fmt.Sprintf("run%d-%s", n, name))
	ph.Name = name
	return ph, err
}

// e2eRef measures the end-to-end reference under the end-to-end load: the durable reference
// forwarding each answered body to the sink from as many connections as the gateway's
// upstream has.
func (s *scenario) e2eRef(ctx context.Context, n int) (phase, error) {
	sink, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	name := fmt.Sprintf("run%d-e2e-ref", n)
	p, addr, err := s.startCeiling(name, "-durable", filepath.Join(s.work, name),
		"-forward", "http://"+sink+"/messages", "-forward-conns", fmt.Sprint(s.o.upstreamConns))
	if err != nil {
		return phase{}, err
	}
	defer p.stop(30 * time.Second)
	r, ph, err := s.load(ctx, loadgen.Options{Target: "http://" + addr, Dialect: "native", Duration: s.o.e2eDuration,
		Sink: sink, Drain: s.o.drain}, p, nil, name)
	if err != nil {
		return phase{}, err
	}
	ph.Name = "e2e-ref"
	ph.setDelivery(r)
	return ph, nil
}

// startCeiling starts `bench ceiling` with args on a free port, named name, and waits until
// it listens. The caller stops it.
func (s *scenario) startCeiling(name string, args ...string) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	p, err := startListening(name, filepath.Join(s.work, name+".log"), s.o.bin, addr, append([]string{"bench", "ceiling", "-listen", addr}, args...)...)
	return p, addr, err
}

// setDelivery fills in an end-to-end phase's delivery figures from its load's report.
func (ph *phase) setDelivery(r *loadgen.Report) {
	del := r.Delivery
	ph.Delivered, ph.DeliveredRatio, ph.Backlog = del.InLoadPerSec, del.Ratio, r.OK-del.InLoad
}

// queueGateway starts a fresh gateway named name on backend b whose upstream is upstream;
// on JetStream with a fresh nats-server of its own (returned, nil otherwise). stop ends both.
func (s *scenario) queueGateway(name, upstream string, b backend) (g *gateway, nats *proc, stop func(), err error) {
	if b == badger {
		if g, err = s.gateway(name, upstream); err != nil {
			return nil, nil, nil, err
		}
		return g, nil, func() { g.stop(30 * time.Second) }, nil
	}
	nats, addr, err := s.natsServer(name+"-nats", b == jetStreamAlways)
	if err != nil {
		return nil, nil, nil, err
	}
	shards := 1
	if b == jetStreamAlways {
		shards = alwaysShards
	}
	if g, err = s.gatewayWith(name, upstream, natsQueue(addr, shards)); err != nil {
		nats.stop(10 * time.Second)
		return nil, nil, nil, err
	}
	return g, nats, func() { g.stop(30 * time.Second); nats.stop(10 * time.Second) }, nil
}

// accept measures one dialect's accepts on backend b. The upstream is down, so messages
// stay in the queue: this is the gateway's ingress taking a burst, with dispatch idle.
func (s *scenario) accept(ctx context.Context, n int, dialect string, b backend) (phase, error) {
	down, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	g, nats, stop, err := s.queueGateway(fmt.Sprintf("run%d-%s%s", n, b.tag(), dialect), down, b)
	if err != nil {
		return phase{}, err
	}
	defer stop()
	what := fmt.Sprintf("run%d-accept-%s%s", n, b.tag(), dialect)
	stopProfile := s.maybeProfile(g, n, b == badger && dialect == "native", "accept-native", s.o.duration)
	r, ph, err := s.load(ctx, loadgen.Options{Target: "http://" + g.addr, Dialect: dialect, Duration: s.o.duration}, g.proc, nats, what)
	stopProfile()
	if err != nil {
		return phase{}, err
	}
	ph.Name = dialect
	if err := ph.readCommitStats(g, b, r.ElapsedSec); err != nil {
		return phase{}, err
	}
	ph.PeakRSS, err = peakRSS(g.pid())
	return ph, err
}

// e2e measures delivery to a local sink under closed-loop load for d on backend b, and the
// gateway's peak RSS.
func (s *scenario) e2e(ctx context.Context, n int, b backend, d time.Duration) (phase, error) {
	sink, err := freeAddr()
	if err != nil {
		return phase{}, err
	}
	g, nats, stop, err := s.queueGateway(fmt.Sprintf("run%d-%se2e", n, b.tag()), sink, b)
	if err != nil {
		return phase{}, err
	}
	defer stop()
	stopProfile := s.maybeProfile(g, n, b == badger, "e2e", d)
	r, ph, err := s.load(ctx, loadgen.Options{
		Target: "http://" + g.addr, Dialect: s.o.e2eDialect, Duration: d,
		Sink: sink, Drain: s.o.drain,
	}, g.proc, nats, fmt.Sprintf("run%d-e2e-%s%s", n, b.tag(), s.o.e2eDialect))
	stopProfile()
	if err != nil {
		return phase{}, err
	}
	ph.Name = "e2e " + s.o.e2eDialect
	if err := ph.readCommitStats(g, b, r.ElapsedSec); err != nil {
		return phase{}, err
	}
	ph.setDelivery(r)
	ph.PeakRSS, err = peakRSS(g.pid())
	return ph, err
}

// readCommitStats fills in the group-commit figures of a gateway on backend b: only the
// Badger queue has them.
func (ph *phase) readCommitStats(g *gateway, b backend, wall float64) (err error) {
	if b == badger {
		ph.CommitBusy, ph.CommitMs, ph.PerCommit, err = g.commitStats(wall)
	}
	return err
}

// gateway starts a fresh gateway (empty Badger queue, durability always) named name whose
// upstream is upstream.
func (s *scenario) gateway(name, upstream string) (*gateway, error) {
	return s.gatewayWith(name, upstream, badgerQueue("always"))
}

// gatewayWith starts a fresh gateway with the queue block queue (badgerQueue, natsQueue).
func (s *scenario) gatewayWith(name, upstream, queue string) (*gateway, error) {
	cfg, addr, err := newGatewayConfig(filepath.Join(s.work, name), upstream, queue, s.o.upstreamConns)
	if err != nil {
		return nil, err
	}
	return startGateway(s.o.bin, cfg, addr)
}

// maybeProfile takes CPU and allocation profiles of g in the first run, when asked, starting
// a little after the load does, and an execution trace after them when the load lasts long
// enough (the end-to-end load does); the returned func waits for them.
func (s *scenario) maybeProfile(g *gateway, n int, want bool, what string, d time.Duration) func() {
	const warmup, trace = 2 * time.Second, 3 * time.Second
	if !s.o.profile || n != 1 || !want || d < warmup+2*time.Second {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(warmup)
		cpu := min(d-warmup-time.Second, 20*time.Second)
		traceSecs := 0
		if d-warmup-cpu >= trace+time.Second {
			traceSecs = int(trace / time.Second)
		}
		if err := g.profile(s.o.outDir, what, int(cpu/time.Second), traceSecs); err != nil {
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
	if r.Ceiling, err = s.ceiling(ctx, n, false); err != nil {
		return r, fmt.Errorf("ceiling: %w", err)
	}
	r.Ceiling.Ratio = 1
	s.logf("  ceiling %.0f/s (p99 %.2f ms)", r.Ceiling.OKPerS, r.Ceiling.P99Ms)
	if r.Durable, err = s.ceiling(ctx, n, true); err != nil {
		return r, fmt.Errorf("durable reference: %w", err)
	}
	r.Durable.Ratio, r.Durable.RefRatio = r.Durable.OKPerS/r.Ceiling.OKPerS, 1
	s.logf("  durable reference %.0f/s  %.2fx ceiling  p50 %.2f ms  p99 %.2f ms  errors %d",
		r.Durable.OKPerS, r.Durable.Ratio, r.Durable.P50Ms, r.Durable.P99Ms, r.Durable.Errors)
	for _, d := range s.o.dialects {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		ph, err := s.accept(ctx, n, d, badger)
		if err != nil {
			return r, fmt.Errorf("accept %s: %w", d, err)
		}
		ph.Ratio, ph.RefRatio = ph.OKPerS/r.Ceiling.OKPerS, ph.OKPerS/r.Durable.OKPerS
		r.Accept[d] = ph
		s.logf("  accept %-11s %6.0f/s  %.2fx ceiling  %.2fx durable ref  p50 %.2f ms  p99 %.2f ms  errors %d  (committer busy %.0f%%, %.2f ms a commit, %.0f items a commit)",
			d, ph.OKPerS, ph.Ratio, ph.RefRatio, ph.P50Ms, ph.P99Ms, ph.Errors, 100*ph.CommitBusy, ph.CommitMs, ph.PerCommit)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if r.E2E, err = s.e2e(ctx, n, badger, s.o.e2eDuration); err != nil {
		return r, fmt.Errorf("end to end: %w", err)
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if r.E2ERef, err = s.e2eRef(ctx, n); err != nil {
		return r, fmt.Errorf("end-to-end reference: %w", err)
	}
	r.E2ERef.Ratio, r.E2ERef.RefRatio = r.E2ERef.Delivered/r.Ceiling.OKPerS, 1
	r.E2E.Ratio, r.E2E.RefRatio = r.E2E.Delivered/r.Ceiling.OKPerS, r.E2E.Delivered/r.E2ERef.Delivered
	s.logf("  e2e delivered %.0f/s during the load (%.2fx ceiling, %.2fx e2e ref %.0f/s), accepted %.0f/s, backlog %d, delivered %.1f%% after the drain, peak RSS %d MB  (committer busy %.0f%%, %.2f ms a commit, %.0f items a commit)",
		r.E2E.Delivered, r.E2E.Ratio, r.E2E.RefRatio, r.E2ERef.Delivered, r.E2E.OKPerS, r.E2E.Backlog, 100*r.E2E.DeliveredRatio, r.E2E.PeakRSS>>20, 100*r.E2E.CommitBusy, r.E2E.CommitMs, r.E2E.PerCommit)
	if s.o.jetstream {
		js, err := s.jetStreamPhases(ctx, n, r.Ceiling.OKPerS, r.Durable.OKPerS)
		if err != nil {
			return r, err
		}
		r.JetStream = &js
	}
	return r, nil
}

// jetStreamPhases measures the gateway on JetStream: native accepts with nats-server's
// default sync and with sync_interval always, then end to end with the default sync.
func (s *scenario) jetStreamPhases(ctx context.Context, n int, ceiling, ref float64) (jsRun, error) {
	var js jsRun
	for _, a := range []struct {
		dst  *phase
		b    backend
		sync string
	}{{&js.Accept, jetStream, "default sync"}, {&js.AcceptAlways, jetStreamAlways, "sync always"}} {
		if ctx.Err() != nil {
			return js, ctx.Err()
		}
		ph, err := s.accept(ctx, n, "native", a.b)
		if err != nil {
			return js, fmt.Errorf("jetstream (%s) accept: %w", a.sync, err)
		}
		ph.Ratio = ph.OKPerS / ceiling
		if a.b == jetStreamAlways { // only fsync'd answers are read against the durable reference
			ph.RefRatio = ph.OKPerS / ref
		}
		*a.dst = ph
		s.logf("  jetstream (%s) accept native %6.0f/s  %.2fx ceiling  p50 %.2f ms  p99 %.2f ms  errors %d  (gateway %.2f cores, nats-server %.2f)",
			a.sync, ph.OKPerS, ph.Ratio, ph.P50Ms, ph.P99Ms, ph.Errors, ph.ServerCPU, ph.NATSCPU)
	}
	if ctx.Err() != nil {
		return js, ctx.Err()
	}
	ph, err := s.e2e(ctx, n, jetStream, s.o.jsE2EDuration)
	if err != nil {
		return js, fmt.Errorf("jetstream end to end: %w", err)
	}
	ph.Ratio = ph.Delivered / ceiling
	js.E2E = ph
	s.logf("  jetstream e2e delivered %.0f/s during the load (%.2fx ceiling), accepted %.0f/s, backlog %d, delivered %.1f%% after the drain (gateway %.2f cores, nats-server %.2f)",
		ph.Delivered, ph.Ratio, ph.OKPerS, ph.Backlog, 100*ph.DeliveredRatio, ph.ServerCPU, ph.NATSCPU)
	return js, nil
}

func (s *scenario) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
