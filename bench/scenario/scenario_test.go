package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// switchboardBin builds the real gateway binary once for these tests.
func switchboardBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scenario-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "switchboard")
		if out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/switchboard").CombinedOutput(); err != nil {
			binErr = &buildError{err, out}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == natsCommand { // the JetStream phases re-exec this binary
		os.Exit(natsMain(os.Args[2:]))
	}
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func smallOptions(t *testing.T) options {
	return options{
		bin: switchboardBin(t), outDir: t.TempDir(), results: filepath.Join(t.TempDir(), "RESULTS.md"),
		runs: 1, duration: 1500 * time.Millisecond, e2eDuration: 3 * time.Second, drain: time.Minute,
		jetstream: true, jsE2EDuration: 3 * time.Second,
		connections: 16, upstreamConns: 16, dialects: []string{"native", "wavy", "flowbot"}, e2eDialect: "native",
		restartMessages: 20000, peersDir: "../peers",
	}
}

// The whole bench, small: every figure must come from real processes that did the work.
func TestBenchMeasuresEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways and loads them for ~30s")
	}
	o := smallOptions(t)
	if err := os.WriteFile(o.results, []byte("# Results\n\nhand-written notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runBench(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Runs    []run    `json:"runs"`
		Restart *restart `json:"restart"`
	}
	b, err := os.ReadFile(filepath.Join(o.outDir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(raw.Runs))
	}
	r := raw.Runs[0]
	if r.Ceiling.OKPerS <= 0 || r.Ceiling.Errors != 0 {
		t.Errorf("ceiling %+v", r.Ceiling)
	}
	if d := r.Durable; d.OKPerS <= 0 || d.Errors != 0 || d.Ratio <= 0 || d.RefRatio != 1 {
		t.Errorf("durable reference %+v; want answers, no errors and its ratio to the ceiling", d)
	}
	if b := must(os.ReadFile(filepath.Join(o.outDir, "run1-durable-ref.json"))); !strings.Contains(string(b), `"ok"`) {
		t.Errorf("no durable reference report")
	}
	for _, d := range o.dialects {
		p := r.Accept[d]
		if p.OKPerS <= 0 || p.Errors != 0 || p.P99Ms <= 0 || p.PeakRSS <= 0 || p.Ratio <= 0 {
			t.Errorf("accept %s: %+v; want accepts, no errors, latency, RSS and a ratio", d, p)
		}
		if p.CommitBusy <= 0 || p.CommitBusy > 1.5 || p.CommitMs <= 0 || p.PerCommit < 1 {
			t.Errorf("accept %s: commit figures %+v; want a busy share, a mean commit and at least one message a commit", d, p)
		}
		if _, err := os.Stat(filepath.Join(o.outDir, "run1-accept-"+d+".html")); err != nil {
			t.Errorf("no HTML report for %s: %v", d, err)
		}
	}
	if e := r.E2E; e.Delivered <= 0 || e.DeliveredRatio < 1 || e.PeakRSS <= 0 {
		t.Errorf("end to end %+v; want deliveries, all of them after the drain, and RSS", e)
	}
	if e := r.E2ERef; e.Delivered <= 0 || e.DeliveredRatio < 1 || r.E2E.RefRatio <= 0 {
		t.Errorf("end-to-end reference %+v (gateway's ratio to it %v); want deliveries, all of them after the drain", e, r.E2E.RefRatio)
	}
	js := r.JetStream
	if js == nil {
		t.Fatal("no JetStream figures")
	}
	for name, p := range map[string]phase{"default sync": js.Accept, "sync always": js.AcceptAlways} {
		if p.OKPerS <= 0 || p.Errors != 0 || p.Ratio <= 0 || p.NATSCPU <= 0 || p.NATSRSS <= 0 || p.PeakRSS <= 0 {
			t.Errorf("JetStream accepts, %s: %+v; want accepts, no errors, a ratio, nats-server CPU and RSS", name, p)
		}
	}
	if js.Accept.RefRatio != 0 || js.AcceptAlways.RefRatio <= 0 {
		t.Errorf("ratios to the durable reference: default sync %v, sync always %v; want only the fsync'd one", js.Accept.RefRatio, js.AcceptAlways.RefRatio)
	}
	if e := js.E2E; e.Delivered <= 0 || e.DeliveredRatio < 1 || e.NATSCPU <= 0 {
		t.Errorf("JetStream end to end %+v; want deliveries, all of them after the drain, nats-server CPU", e)
	}
	rs := raw.Restart
	if rs == nil || rs.DepthAtKill != int64(o.restartMessages) {
		t.Fatalf("restart %+v; want %d queued at the kill", rs, o.restartMessages)
	}
	if rs.Delivered+rs.LiveAfter < int64(o.restartMessages) || rs.ReadySec <= 0 || rs.FirstSec <= 0 {
		t.Errorf("restart %+v; want every message delivered or still queued, and both times", rs)
	}

	res, err := os.ReadFile(o.results)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hand-written notes", "<!-- bench:begin -->", "| durable reference", "| durable accepts, wavy;", "| end-to-end reference",
		"| JetStream accepts, native, nats-server default sync", "| JetStream end to end, default sync", "Every run, JetStream",
		"restart after kill -9", "<!-- bench:end -->"} {
		if !strings.Contains(string(res), want) {
			t.Errorf("results file lacks %q:\n%s", want, res)
		}
	}
	index, err := os.ReadFile(filepath.Join(o.outDir, "bench.html"))
	if err != nil || !strings.Contains(string(index), `href="run1-e2e-native.html"`) {
		t.Errorf("index does not link the end-to-end report (%v):\n%s", err, index)
	}
}

// Kannel and Switchboard under wrk, small; skipped where Kannel or wrk is not installed.
func TestPeersMeasuresBoth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Kannel and gateways for ~40s")
	}
	for _, b := range []string{"bearerbox", "smsbox", "wrk"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed (apt-get install -y kannel wrk)", b)
		}
	}
	o := smallOptions(t)
	o.duration, o.e2eDuration = 2*time.Second, 3*time.Second
	if err := runPeers(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var runs []peerRun
	b, _ := os.ReadFile(filepath.Join(o.outDir, "peers.json"))
	if err := json.Unmarshal(b, &runs); err != nil || len(runs) != 1 {
		t.Fatalf("peers.json: %v, %d runs", err, len(runs))
	}
	r := runs[0]
	for name, p := range map[string]peerPhase{"kannel": r.Kannel, "native": r.Native, "wavy": r.Wavy, "interval": r.Interval} {
		if p.OKPerS <= 0 || p.Non2xx != 0 || p.ServerCPU <= 0 {
			t.Errorf("%s accepts %+v; want accepts, all 2xx, server CPU", name, p)
		}
	}
	for name, p := range map[string]peerPhase{"kannel": r.KannelE2E, "switchboard": r.NativeE2E} {
		if p.Delivered <= 0 || p.DelRatio < 0.99 {
			t.Errorf("%s end to end %+v; want deliveries, all of them after the drain", name, p)
		}
	}
}

// A gateway that cannot start is reported at once, with its log, not waited for.
func TestGatewayThatExitsIsReported(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchboard.yaml")
	os.WriteFile(cfg, []byte("listen: [\n"), 0o600)
	start := time.Now()
	_, err := startGateway(switchboardBin(t), cfg, "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("err = %v, want one saying the gateway exited", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("took %s to notice", time.Since(start))
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:13013
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    2.00ms  40.27ms   90.00%
    Req/Sec     9.20k     1.00k   11.00k    70.00%
  Latency Distribution
     50%    2.68ms
     75%    3.50ms
     90%    5.00ms
     99%   40.27ms
  183170 requests in 10.00s, 30.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 170
Requests/sec:  18317.00
Transfer/sec:      3.00MB
`
	r, err := parseWrk([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{Requests: 183170, Non2xx: 170, SockErrs: 5, Seconds: 10, OKPerS: 18300, P50Ms: 2.68, P99Ms: 40.27}
	if r != want {
		t.Errorf("got %+v\nwant %+v", r, want)
	}
	r, _ = parseWrk([]byte("  10 requests in 1.50m, 1KB read\n     50%  900.00us\n     99%    1.20s\n"))
	if r.Seconds != 90 || r.P50Ms != 0.9 || r.P99Ms != 1200 {
		t.Errorf("units: %+v", r)
	}
	if _, err := parseWrk([]byte("unable to connect to 127.0.0.1:1 Connection refused")); err == nil {
		t.Error("no error for output without a total")
	}
}

func TestReplaceSection(t *testing.T) {
	p := filepath.Join(t.TempDir(), "R.md")
	os.WriteFile(p, []byte("# R\n\nnotes before\n"), 0o644)
	if err := replaceSection(p, "bench", "first\n"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, append(must(os.ReadFile(p)), "\nnotes after\n"...), 0o644)
	if err := replaceSection(p, "bench", "second\n"); err != nil {
		t.Fatal(err)
	}
	want := "# R\n\nnotes before\n\n<!-- bench:begin -->\nsecond\n<!-- bench:end -->\n\nnotes after\n"
	if got := string(must(os.ReadFile(p))); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestMedianAndFormats(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if s := fmtInt(1234567); s != "1,234,567" {
		t.Errorf("fmtInt = %s", s)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// The summary gives the durable reference its ratio to the ceiling, every durable accept its
// ratio to the reference, and JetStream's default sync none.
func TestSummaryRatios(t *testing.T) {
	o := options{connections: 64, dialects: []string{"native"}, e2eDialect: "native", e2eDuration: 30 * time.Second,
		jetstream: true, jsE2EDuration: 15 * time.Second}
	var runs []run
	for i, c := range []float64{90000, 80000, 100000} {
		k := c / 90000
		runs = append(runs, run{
			N: i + 1, Ceiling: phase{OKPerS: c, Ratio: 1},
			Durable: phase{OKPerS: 45000 * k, Ratio: 0.5, RefRatio: 1},
			Accept:  map[string]phase{"native": {OKPerS: 27000 * k, Ratio: 0.3, RefRatio: 0.6, P99Ms: 5}},
			E2E:     phase{OKPerS: 15000, Delivered: 15000, Ratio: 0.17, RefRatio: 0.6},
			E2ERef:  phase{OKPerS: 25000, Delivered: 25000, Ratio: 25000 / c, RefRatio: 1},
			JetStream: &jsRun{
				Accept:       phase{OKPerS: 36000 * k, Ratio: 0.4, NATSCPU: 0.5},
				AcceptAlways: phase{OKPerS: 4500 * k, Ratio: 0.05, RefRatio: 0.1},
				E2E:          phase{OKPerS: 12000, Delivered: 9000 + float64(i), Ratio: 0.1, NATSRSS: 64 << 20},
			},
		})
	}
	got := map[string]row{}
	for _, r := range summary(o, runs, nil) {
		name, _, _ := strings.Cut(r.Figure, " (")
		name, _, _ = strings.Cut(name, ";")
		got[name] = r
	}
	for name, want := range map[string][2]string{ // ratio to the ceiling, to the durable reference
		"ceiling":                          {"1.00", ""},
		"durable reference":                {"0.50", "1.00"},
		"durable accepts, native":          {"0.30", "0.60"},
		"end to end, delivered during 30s": {"0.17", "0.60 (e2e ref)"},
		"end-to-end reference":             {"0.28", ""},
		"JetStream accepts, native, nats-server default sync":          {"0.40", ""},
		"JetStream accepts, native, nats-server sync_interval: always": {"0.05", "0.10"},
		"JetStream end to end, default sync, delivered during 15s":     {"0.10", ""},
	} {
		r, ok := got[name]
		if !ok {
			t.Errorf("no row %q in %v", name, got)
			continue
		}
		if r.Ratio != want[0] || r.RefRatio != want[1] {
			t.Errorf("%s: × ceiling %q, × durable ref %q; want %q, %q", name, r.Ratio, r.RefRatio, want[0], want[1])
		}
	}
	if r := got["durable reference"]; r.Value != "45,000/s" {
		t.Errorf("durable reference median %s", r.Value)
	}
	if r := got["JetStream end to end, default sync, delivered during 15s"]; r.Value != "9,001/s" {
		t.Errorf("JetStream end to end median %s", r.Value)
	}
	if !strings.Contains(notes(o), "every 2 minutes") {
		t.Error("the notes do not say how often nats-server syncs by default")
	}

	var b bytes.Buffer
	perRunJetStream(&b, runs)
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 2+len(runs) ||
		!strings.Contains(lines[2], "| 1 | 36,000/s (0.40, p99 0.0 ms) | 4,500/s (0.05, 0.10, p99 0.0 ms) | 9,000/s (0.10) | 12,000/s |") {
		t.Errorf("JetStream per-run table:\n%s", b.String())
	}

	o.jetstream = false
	for i := range runs {
		runs[i].JetStream = nil
	}
	for _, r := range summary(o, runs, nil) {
		if strings.HasPrefix(r.Figure, "JetStream") {
			t.Errorf("row %q without JetStream phases", r.Figure)
		}
	}
	if strings.Contains(notes(o), "JetStream") {
		t.Error("JetStream notes without JetStream phases")
	}
}

// The replies step, small: the real gateway and simulator over loopback; every reply the
// simulator posted reaches the client, linked to its message, while sending goes on.
func TestRepliesStep(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway and a simulator and loads them for a few seconds")
	}
	o := smallOptions(t)
	o.repliesDuration, o.repliesSendRate, o.repliesRate = 3*time.Second, 200, 50
	s, cleanup, err := newScenario(o)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	r, err := s.replies(context.Background())
	if err != nil {
		t.Fatalf("%v (logs in %s)", err, s.work)
	}
	t.Logf("%+v", r)
	if r.SentPerSec < 100 || r.SendErrors != 0 || r.AtUpstream < 300 {
		t.Errorf("sending: %+v", r)
	}
	// 50/s for 3 s: about 150 replies, each to a message the simulator accepted.
	if r.Posted < 100 || r.Posted > r.AtUpstream || r.Failed != 0 {
		t.Errorf("replies posted: %+v", r)
	}
	if r.Delivered != r.Posted || r.Linked != r.Delivered || r.ReplyP99Ms <= 0 || r.ReplyP50Ms > r.ReplyP99Ms {
		t.Errorf("replies delivered: %+v", r)
	}
	rows := repliesRows(&r)
	if len(rows) != 2 || !strings.Contains(rows[1].Figure, fmtInt(r.Posted)+" posted") {
		t.Errorf("rows: %+v", rows)
	}
}

// The deep-backlog curve, small: every point from a real gateway that queued the messages,
// and after the kill every message delivered.
func TestDepthCurve(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways and queues ~30,000 messages")
	}
	o := smallOptions(t)
	const depth = 20000
	s := &scenario{o: o, work: t.TempDir()}
	c, err := s.depthCurve(context.Background(), depth)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Points) != 4 || c.Probe != depthProbe(depth) {
		t.Fatalf("curve %+v; want four points of probes of %d", c, depthProbe(depth))
	}
	for i, p := range c.Points {
		if p.AcceptRate <= 0 || p.TwinRate <= 0 || p.TwinRatio <= 0 || p.RssAnon <= 0 || p.Disk <= 0 || (i > 0 && p.Depth <= c.Points[i-1].Depth) {
			t.Errorf("point %d %+v; want a rate, the twin's, memory, disk, a deeper queue than the last", i, p)
		}
	}
	if last := c.Points[3]; last.Depth < depth {
		t.Errorf("deepest point at %d, want at least %d", last.Depth, depth)
	}
	total := c.Points[3].Depth + depthRounds*int64(c.Probe)
	if c.Drained+c.LiveAfter < total || c.LiveAfter > total/100 || c.ReadySec <= 0 || c.FirstSec <= 0 || c.DrainRate <= 0 {
		t.Errorf("after the restart %+v; want all %d delivered or (a few retries) still queued, the times and the rate", c, total)
	}
	if r := c.report(); !strings.Contains(r, "| 20,000 |") {
		t.Errorf("report without the deepest point:\n%s", r)
	}
}
