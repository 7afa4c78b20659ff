// Package loadgen is Switchboard's load generator: it sends real vendor-dialect
// requests to a gateway over HTTP, in a closed loop (N connections, each
// waiting for its answer) or an open loop (a fixed rate, latency measured from
// each request's intended send time), and reports throughput, errors and
// latency percentiles as text, JSON and a self-contained HTML page. With a
// sink it also receives the gateway's upstream deliveries and measures the
// end-to-end path. It talks to the gateway only over HTTP and must never
// import it; it refuses non-loopback targets unless told otherwise.
package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"switchboard/bench/ceiling"
)

const usage = `usage:
  switchboard bench [flags]                   run load against a gateway
  switchboard bench compare [-fail] A.json B.json  compare two runs' -out reports, figure by figure
  switchboard bench ceiling -listen ADDR      serve a constant answer (the ceiling reference)
  switchboard bench ceiling -durable DIR ...  the same once the body is fdatasync'd to DIR (the durable reference)
  switchboard bench sink -listen ADDR         count upstream deliveries and their latency

Load flags:
`

// Exit codes of `switchboard bench`.
const (
	exitOK     = 0
	exitFailed = 1 // the run could not start or a report could not be written
	exitUsage  = 2
	// exitThresholds: a threshold did not hold, a capacity search found no
	// rate that held them all, every request failed, or compare found a
	// figure significantly worse.
	exitThresholds = 3
)

// Main runs `switchboard bench ARGS` and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "ceiling":
			return mainCeiling(ctx, args[1:])
		case "sink":
			return mainSink(ctx, args[1:])
		case "compare":
			return mainCompare(args[1:], os.Stdout, os.Stderr)
		}
	}
	return mainLoad(ctx, args, os.Stdout, os.Stderr)
}

func mainLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	o := Options{Creds: DefaultCredentials}
	c := &o.Creds
	fs.StringVar(&o.Target, "target", "http://127.0.0.1:8080", "gateway base URL (loopback only unless -allow-remote)")
	fs.StringVar(&o.Dialect, "dialect", "native", "messageflow | multiwhats | wavy | flowbot | native | mix")
	fs.IntVar(&o.Connections, "connections", defaultConnections, "max TCP connections; closed loop: also concurrent requests")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop at this many requests/s (0 = closed loop)")
	fs.DurationVar(&o.Duration, "duration", defaultDuration, "how long to send")
	fs.Int64Var(&o.Requests, "requests", 0, "stop after this many requests (0 = rate*duration, or unbounded in closed loop)")
	fs.DurationVar(&o.Timeout, "timeout", defaultTimeout, "per-request timeout, including the wait for a connection")
	fs.IntVar(&o.Size, "size", defaultSize, "message text size in bytes")
	fs.IntVar(&o.Recipients, "recipients", defaultRecipients, "distinct destination numbers")
	fs.StringVar(&o.Sink, "sink", "", "also listen here as the gateway's http upstream and measure delivery")
	fs.DurationVar(&o.Drain, "drain", defaultDrain, "with -sink: how long to wait for deliveries after the load")
	fs.BoolVar(&o.AllowRemote, "allow-remote", false, "permit a non-loopback target or sink")
	fs.Func("ramp", "open loop ramping the rate linearly: `FROM:TO:OVER`, e.g. 100:2000:30s", func(v string) (err error) {
		o.Ramp, err = ParseRamp(v)
		return err
	})
	fs.Func("steps", "open loop through these `RATES`, each for -step, e.g. 250,500,1000", func(v string) (err error) {
		o.Steps, err = ParseRates(v)
		return err
	})
	fs.Float64Var(&o.Search, "search", 0, "capacity search from this rate: raise it until a -threshold breaks, back off, report the knee")
	fs.DurationVar(&o.StepDuration, "step", defaultStep, "duration of each -steps rate and each -search stage")
	fs.Float64Var(&o.MaxRate, "max-rate", 0, "refuse any rate above this; required for a target that is neither loopback nor a simulator")
	fs.Func("threshold", "pass/fail `EXPR`, repeatable: p99<10ms, errors<0.1%, delivered>=99.9%, lag<5ms, wavy:p99<10ms", func(v string) error {
		t, err := ParseThreshold(v)
		o.Thresholds = append(o.Thresholds, t)
		return err
	})
	fs.Func("thresholds", "read thresholds from `FILE`, one a line (# comments)", func(v string) error {
		ts, err := ReadThresholds(v)
		o.Thresholds = append(o.Thresholds, ts...)
		return err
	})
	fs.Func("upstream", "a simulator behind the gateway, `NAME=URL`, repeatable: report what it received of the run", func(v string) error {
		u, err := ParseUpstream(v)
		o.Upstreams = append(o.Upstreams, u)
		return err
	})
	hlogOut := fs.String("hlog", "", "write the per-second latency histograms to this HdrHistogram log (.hlog)")
	out := fs.String("out", "", "write the JSON report to this file")
	htmlOut := fs.String("html", "", "write the HTML report to this file")
	quiet := fs.Bool("quiet", false, "no progress line every second")
	fs.StringVar(&c.MFUUID, "mf-uuid", c.MFUUID, "MessageFlow UUID")
	fs.StringVar(&c.MWAPIKey, "mw-apikey", c.MWAPIKey, "MultiWhats apikey")
	fs.StringVar(&c.MWFrom, "mw-from", c.MWFrom, "MultiWhats sender (from)")
	fs.StringVar(&c.WavyUser, "wavy-user", c.WavyUser, "Wavy username")
	fs.StringVar(&c.WavyToken, "wavy-token", c.WavyToken, "Wavy authenticationtoken")
	fs.StringVar(&c.FBClient, "fb-client", c.FBClient, "FlowBot clientId")
	fs.StringVar(&c.FBKey, "fb-key", c.FBKey, "FlowBot apiKey")
	fs.StringVar(&c.FBFlow, "fb-flow", c.FBFlow, "FlowBot flowId")
	fs.StringVar(&c.NativeToken, "native-token", c.NativeToken, "native API bearer token")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if !*quiet {
		o.Progress = stderr
	}
	r, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFailed
	}
	r.WriteText(stdout)
	if err := writeFile(*out, r.WriteJSON); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFailed
	}
	if err := writeFile(*htmlOut, r.WriteHTML); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFailed
	}
	if err := writeFile(*hlogOut, r.WriteHlog); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return exitFailed
	}
	if why := r.verdict(); why != "" {
		fmt.Fprintf(stderr, "bench: FAILED: %s\n", why)
		return exitThresholds
	}
	return exitOK
}

func writeFile(path string, write func(io.Writer) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot write report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("cannot write report %s: %w", path, err)
	}
	return f.Close()
}

// listenFlags parses -listen and -allow-remote for the ceiling and the sink.
func listenFlags(name, def string, args []string, extra func(*flag.FlagSet)) (string, bool) {
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	addr := fs.String("listen", def, "listen address (loopback only unless -allow-remote)")
	remote := fs.Bool("allow-remote", false, "permit a non-loopback listen address")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	host, _, err := net.SplitHostPort(*addr)
	if err == nil {
		err = checkLoopback("listen", host, *remote)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", name, err)
		return "", false
	}
	return *addr, true
}

func mainCeiling(ctx context.Context, args []string) int {
	var durable, forward string
	var forwardConns int
	addr, ok := listenFlags("ceiling", "127.0.0.1:9100", args, func(fs *flag.FlagSet) {
		fs.StringVar(&durable, "durable", "", "append every request body to `DIR`/"+ceiling.LogFile+", fdatasync'd (group commit), before answering")
		fs.StringVar(&forward, "forward", "", "with -durable: after answering, POST every body on to `URL` (the end-to-end reference)")
		fs.IntVar(&forwardConns, "forward-conns", 64, "connections to the -forward URL")
	})
	if !ok {
		return 2
	}
	if forward != "" && (durable == "" || forwardConns < 1) {
		fmt.Fprintln(os.Stderr, "bench ceiling: -forward needs -durable and -forward-conns of at least 1")
		return 2
	}
	srv := ceiling.NewServer()
	if durable != "" {
		l, err := ceiling.OpenLog(durable)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench ceiling: %v\n", err)
			return 1
		}
		defer l.Close()
		var f *ceiling.Forwarder
		if forward != "" {
			if f, err = ceiling.NewForwarder(forward, forwardConns); err != nil {
				fmt.Fprintf(os.Stderr, "bench ceiling: -forward: %v\n", err)
				return 2
			}
			defer func() {
				if n := f.Close(); n > 0 {
					fmt.Fprintf(os.Stderr, "bench ceiling: %d bodies could not be forwarded\n", n)
				}
			}()
		}
		srv = ceiling.NewDurableServer(l, f)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench ceiling: %v\n", err)
		return 1
	}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown()
	}()
	fmt.Fprintf(os.Stderr, "ceiling listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(os.Stderr, "bench ceiling: %v\n", err)
		return 1
	}
	return 0
}

func mainSink(ctx context.Context, args []string) int {
	var dur time.Duration
	addr, ok := listenFlags("sink", "127.0.0.1:9000", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&dur, "duration", time.Hour, "stop after this long")
	})
	if !ok {
		return 2
	}
	s, err := StartSink(addr, "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench sink: %v\n", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintf(os.Stderr, "sink listening on %s\n", s.Addr())
	start := time.Now()
	end := time.NewTimer(dur)
	defer end.Stop()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var prev int64
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-end.C:
			return 0
		case now := <-t.C:
			d := s.Snapshot(0, start)
			fmt.Fprintf(os.Stderr, "%5.0fs  delivered %d (+%d)  duplicates %d  unmarked %d  p50 %s  p99 %s\n",
				now.Sub(start).Seconds(), d.Unique, d.Unique-prev, d.Duplicates, d.Unmarked,
				fmtMs(d.Latency.P50Ms), fmtMs(d.Latency.P99Ms))
			prev = d.Unique
		}
	}
}
