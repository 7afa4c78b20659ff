// Command scenario runs Switchboard's reproducible benchmark on one machine (`make bench`)
// and its comparison with Kannel (`make bench-peers`). It starts the ceiling server, the
// durable reference, fresh gateways, nats-servers (this binary, `scenario nats-server`) and
// the peers as child processes, drives them with the load generator on loopback, and writes
// a summary table to stdout, to a marked section of bench/RESULTS.md, and, with every load
// report, to the output directory.
//
// It talks to the gateway over HTTP only and never imports it; everything it starts listens
// on 127.0.0.1 and is killed when it exits.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin             string
	outDir          string
	results         string
	runs            int
	duration        time.Duration
	e2eDuration     time.Duration
	jetstream       bool
	jsE2EDuration   time.Duration
	drain           time.Duration
	connections     int
	upstreamConns   int
	dialects        []string
	e2eDialect      string
	restartMessages int
	depth           int // the deep-backlog curve's depth; 0 skips it (depth.go)
	profile         bool
	peers           bool
	peersDir        string
	// The replies step (replies.go): how long, sending at repliesSendRate/s while the
	// simulated recipients reply at repliesRate/s; a zero duration skips it.
	repliesDuration time.Duration
	repliesSendRate float64
	repliesRate     float64
}

// env reads a setting from the environment, falling back to def.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == natsCommand {
		os.Exit(natsMain(os.Args[2:]))
	}
	var o options
	var dialects string
	fs := flag.NewFlagSet("scenario", flag.ExitOnError)
	fs.StringVar(&o.bin, "bin", "bin/switchboard", "the switchboard binary")
	fs.StringVar(&o.outDir, "out", env("BENCH_OUT", "bench/out"), "directory for reports and profiles (BENCH_OUT)")
	fs.StringVar(&o.results, "results", env("BENCH_RESULTS", "bench/RESULTS.md"), "results file whose marked section is rewritten; - for none (BENCH_RESULTS)")
	fs.IntVar(&o.runs, "runs", atoi(env("BENCH_RUNS", "3")), "runs; figures are medians (BENCH_RUNS)")
	fs.DurationVar(&o.duration, "duration", dur(env("BENCH_DURATION", "10s")), "each ceiling and accept measurement (BENCH_DURATION)")
	fs.DurationVar(&o.e2eDuration, "e2e-duration", dur(env("BENCH_E2E_DURATION", "30s")), "the end-to-end load (BENCH_E2E_DURATION)")
	fs.BoolVar(&o.jetstream, "jetstream", env("BENCH_JETSTREAM", "1") != "0", "also measure the gateway on JetStream; BENCH_JETSTREAM=0 skips it")
	fs.DurationVar(&o.jsE2EDuration, "jetstream-e2e-duration", dur(env("BENCH_JETSTREAM_E2E_DURATION", "15s")), "the JetStream end-to-end load (BENCH_JETSTREAM_E2E_DURATION)")
	fs.DurationVar(&o.drain, "drain", dur(env("BENCH_DRAIN", "30s")), "most time to wait for the end-to-end backlog (BENCH_DRAIN)")
	fs.IntVar(&o.connections, "connections", atoi(env("BENCH_CONNECTIONS", "64")), "closed-loop connections (BENCH_CONNECTIONS)")
	fs.IntVar(&o.upstreamConns, "upstream-conns", atoi(env("BENCH_UPSTREAM_CONNS", "64")), "the gateway upstream's max_conns: its dispatch concurrency (BENCH_UPSTREAM_CONNS)")
	fs.StringVar(&dialects, "dialects", env("BENCH_DIALECTS", "messageflow,multiwhats,wavy,flowbot,native"), "dialects whose accepts are measured (BENCH_DIALECTS)")
	fs.StringVar(&o.e2eDialect, "e2e-dialect", env("BENCH_E2E_DIALECT", "native"), "dialect of the end-to-end load (BENCH_E2E_DIALECT)")
	fs.IntVar(&o.restartMessages, "restart-messages", atoi(env("BENCH_RESTART_MESSAGES", "1000000")), "messages queued for the restart figure; 0 skips it (BENCH_RESTART_MESSAGES)")
	fs.IntVar(&o.depth, "depth", atoi(env("BENCH_DEPTH", "0")), "fill the queue to this depth with the upstream down and report the curve (depth.go); 0 skips it (BENCH_DEPTH)")
	fs.BoolVar(&o.profile, "profile", env("BENCH_PROFILE", "") != "", "take gateway CPU and allocation profiles in run 1 (BENCH_PROFILE=1)")
	fs.DurationVar(&o.repliesDuration, "replies-duration", dur(env("BENCH_REPLIES_DURATION", "15s")), "the replies step: sending with replies coming in; 0 skips it (BENCH_REPLIES_DURATION)")
	fs.Float64Var(&o.repliesSendRate, "replies-send-rate", atof(env("BENCH_REPLIES_SEND_RATE", "1000")), "messages/s sent during the replies step, open loop (BENCH_REPLIES_SEND_RATE)")
	fs.Float64Var(&o.repliesRate, "replies-rate", atof(env("BENCH_REPLIES_RATE", "200")), "replies/s the simulated recipients send during it (BENCH_REPLIES_RATE)")
	fs.BoolVar(&o.peers, "peers", false, "compare with Kannel instead (make bench-peers)")
	fs.StringVar(&o.peersDir, "peers-dir", "bench/peers", "Kannel config template and wrk scripts")
	fs.Parse(os.Args[1:])
	if dialects != "" {
		o.dialects = strings.Split(dialects, ",")
	}
	if o.runs < 0 || o.connections < 1 || o.upstreamConns < 1 || o.duration <= 0 || o.e2eDuration <= 0 || o.jsE2EDuration <= 0 ||
		o.repliesDuration < 0 || (o.repliesDuration > 0 && (o.repliesSendRate <= 0 || o.repliesRate <= 0)) {
		fmt.Fprintln(os.Stderr, "bench: runs, connections and durations must be positive")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.peers {
		err = runPeers(ctx, o)
	} else {
		err = runBench(ctx, o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %q is not a number\n", s)
		os.Exit(2)
	}
	return n
}

func atof(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %q is not a number\n", s)
		os.Exit(2)
	}
	return v
}

func dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %q is not a duration\n", s)
		os.Exit(2)
	}
	return d
}

func newScenario(o options) (*scenario, func(), error) {
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		return nil, nil, err
	}
	if !o.peers { // reports of an earlier bench with more runs would be listed as this one's
		old, _ := filepath.Glob(filepath.Join(o.outDir, "run*"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	work, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return nil, nil, err
	}
	// Logs of a failed run are worth keeping; queues of a good one are not.
	return &scenario{o: o, work: work}, func() { os.RemoveAll(work) }, nil
}

func runBench(ctx context.Context, o options) error {
	s, cleanup, err := newScenario(o)
	if err != nil {
		return err
	}
	info := machine()
	s.logf("switchboard bench: %s", info)
	s.logf("%d runs; %s per ceiling/accept measurement, %s end to end (JetStream %s), %d connections", o.runs, o.duration, o.e2eDuration, o.jsE2EDuration, o.connections)
	began := time.Now()
	var runs []run
	for n := 1; n <= o.runs; n++ {
		r, err := s.once(ctx, n)
		if err != nil {
			return fmt.Errorf("run %d: %w (logs in %s)", n, err, s.work)
		}
		runs = append(runs, r)
	}
	var rs *restart
	if o.restartMessages > 0 {
		r, err := s.restart(ctx)
		if err != nil {
			return fmt.Errorf("restart: %w (logs in %s)", err, s.work)
		}
		rs = &r
		s.logf("  queued %d in %.1f s (%.0f/s), ready %.2f s, first dispatch %.2f s, %d delivered in the next 5 s",
			r.Messages, r.EnqueueSec, r.EnqueueRate, r.ReadySec, r.FirstSec, r.After5s)
	}
	var rp *replies
	if o.repliesDuration > 0 {
		r, err := s.replies(ctx)
		if err != nil {
			return fmt.Errorf("replies: %w (logs in %s)", err, s.work)
		}
		rp = &r
		s.logf("  replies: sent %.0f/s (p99 %.2f ms) while %d replies were posted, %d delivered to the client (%d linked), p50 %.2f ms, p99 %.2f ms",
			r.SentPerSec, r.SendP99Ms, r.Posted, r.Delivered, r.Linked, r.ReplyP50Ms, r.ReplyP99Ms)
	}
	var dc *depthCurve
	if o.depth > 0 {
		s.logf("deep backlog: filling to %d with the upstream down", o.depth)
		c, err := s.depthCurve(ctx, o.depth)
		if err != nil {
			return fmt.Errorf("deep backlog: %w (logs in %s)", err, s.work)
		}
		dc = &c
	}
	cleanup()

	rows := append(summary(o, runs, rs), repliesRows(rp)...)
	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured by `make bench` on %s.\n", info)
	e2e := o.e2eDuration.String()
	if o.jetstream {
		e2e += " (JetStream " + o.jsE2EDuration.String() + ")"
	}
	fmt.Fprintf(&b, "%d runs, medians; each ceiling, durable reference and accept measurement %s, end to end %s, %d connections, closed loop; took %s.\n\n",
		o.runs, o.duration, e2e, o.connections, time.Since(began).Round(time.Second))
	summaryTable(rows).markdown(&b)
	if len(runs) > 0 {
		b.WriteString("\n" + notes(o))
		b.WriteString("\nEvery run (durable ref: rate, ratio to that run's ceiling; accepts: rate, ratios to that run's ceiling and durable reference, p99):\n\n")
		perRun(&b, o, runs)
		if o.jetstream {
			b.WriteString("\nEvery run, JetStream (rate, ratio to that run's ceiling; sync always also to its durable reference):\n\n")
			perRunJetStream(&b, runs)
		}
	}
	if rs != nil {
		fmt.Fprintf(&b, "\nRestart: %s messages queued through Wavy bulk requests of %d in %.1f s (%s), %s on disk, gateway peak RSS %s; "+
			"after kill -9 and a restart with the upstream back: /readyz 200 after %.2f s, first message at the upstream after %.2f s, "+
			"%s delivered in the 5 s after it, peak RSS %s; then %s delivered and %s still queued (none lost if their sum is at least %s).\n",
			fmtInt(int64(rs.Messages)), bulkSize, rs.EnqueueSec, rate(rs.EnqueueRate), mb(float64(rs.QueueBytes)), mb(float64(rs.StartRSSMax)),
			rs.ReadySec, rs.FirstSec, fmtInt(rs.After5s), mb(float64(rs.PeakRSS)), fmtInt(rs.Delivered), fmtInt(rs.LiveAfter), fmtInt(int64(rs.Messages)))
	}
	if rp != nil {
		fmt.Fprintf(&b, "\nReplies: a fresh gateway sends native messages at %s for %s (open loop) to the http simulator, which plays "+
			"the recipients: it replies to what it accepted at up to %s (`switchboard mock -replies-rate`), posting Switchboard's reply JSON "+
			"to /receipts/{upstream} beside its receipts; the gateway stores each reply (fsync'd) before answering and posts it to the "+
			"tenant's replies URL, a receiver in the bench. %s messages reached the simulator, %s replies were posted (%s failed), "+
			"%s delivered to the client.\n", rate(rp.SendRate), o.repliesDuration, rate(rp.ReplyRate), fmtInt(rp.AtUpstream),
			fmtInt(rp.Posted), fmtInt(rp.Failed), fmtInt(rp.Delivered))
	}
	if dc != nil {
		fmt.Fprintf(&b, "\nDeep backlog (upstream down, probes of %s messages):\n\n%s", fmtInt(int64(dc.Probe)), dc.report())
	}
	fmt.Println()
	fmt.Print(b.String())
	return s.save("bench", "Switchboard bench", info, b.String(), summaryTable(rows), map[string]any{"runs": runs, "restart": rs, "replies": rp, "depth": dc})
}

// save writes the results section, the raw figures as JSON and the HTML index.
func (s *scenario) save(section, title, info, text string, t table, raw any) error {
	if s.o.results != "-" {
		if err := replaceSection(s.o.results, section, text); err != nil {
			return err
		}
		s.logf("\nwrote %s", s.o.results)
	}
	js, _ := json.MarshalIndent(raw, "", "  ")
	if err := os.WriteFile(filepath.Join(s.o.outDir, section+".json"), js, 0o644); err != nil {
		return err
	}
	var reports []string
	if section == "bench" {
		reports, _ = filepath.Glob(filepath.Join(s.o.outDir, "run*.html"))
	}
	for i, r := range reports {
		reports[i] = filepath.Base(r)
	}
	index := filepath.Join(s.o.outDir, section+".html")
	if err := writeIndex(index, title, info, t, reports); err != nil {
		return err
	}
	s.logf("wrote %s (summary, links to every load report) and %s", index, filepath.Join(s.o.outDir, section+".json"))
	return nil
}
