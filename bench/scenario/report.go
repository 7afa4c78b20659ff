package main

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of the queue's performance issue (#19), each as a ratio to its reference in the
// same run: durable accepts to the durable reference, end to end to the end-to-end reference,
// JetStream's sync-always accepts to Badger's native durable accepts.
const (
	acceptRefTarget    = 0.85
	e2eRefTarget       = 0.75
	e2eAcceptP99Target = 10.0 // ms, accepts during the end-to-end load
	// e2eBacklogTarget is the most left queued at the end of the end-to-end load, in
	// seconds' worth of what was delivered.
	e2eBacklogTarget      = 1.0
	jetStreamAlwaysTarget = 0.5
	// anonTarget bounds the gateway's own memory (RssAnon) under the end-to-end load; the
	// mapped pages of Badger's files are page cache, the kernel's to reclaim.
	anonTarget    = 128 << 20
	restartTarget = 5.0 // s
)

// row is one line of the summary table.
type row struct {
	Figure, Value, Ratio, RefRatio, P50, P99, Target, Verdict string
}

// table is what the text, the results file and the HTML index show.
type table struct {
	head []string
	rows [][]string
}

var summaryHead = []string{"figure", "median", "× ceiling", "× durable ref", "p50", "p99", "target", ""}

func summaryTable(rows []row) table {
	t := table{head: summaryHead}
	for _, r := range rows {
		t.rows = append(t.rows, []string{r.Figure, r.Value, r.Ratio, r.RefRatio, r.P50, r.P99, r.Target, r.Verdict})
	}
	return t
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianOf is the median over runs of f.
func medianOf(runs []run, f func(run) float64) float64 {
	var xs []float64
	for _, r := range runs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func rate(x float64) string { return fmtInt(int64(x+0.5)) + "/s" }

// fmtInt writes n with thousands separators.
func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ms(x float64) string { return fmt.Sprintf("%.2f ms", x) }
func mb(b float64) string { return fmt.Sprintf("%.0f MB", b/(1<<20)) }

// summary is the table of medians over runs, and the restart figure.
func summary(o options, runs []run, rs *restart) []row {
	if len(runs) > 0 {
		return append(runRows(o, runs), restartRows(rs)...)
	}
	return restartRows(rs)
}

// medianPhase returns the median over runs of a figure of the phase pick(r).
func medianPhase(runs []run, pick func(run) phase) func(func(phase) float64) float64 {
	return func(f func(phase) float64) float64 {
		return medianOf(runs, func(r run) float64 { return f(pick(r)) })
	}
}

func okPerS(p phase) float64    { return p.OKPerS }
func ratio(p phase) float64     { return p.Ratio }
func refRatio(p phase) float64  { return p.RefRatio }
func p50(p phase) float64       { return p.P50Ms }
func p99(p phase) float64       { return p.P99Ms }
func delivered(p phase) float64 { return p.Delivered }
func serverCPU(p phase) float64 { return p.ServerCPU }
func loadCPU(p phase) float64   { return p.LoadCPU }
func natsCPU(p phase) float64   { return p.NATSCPU }

// rateRow is the row of a closed-loop phase's medians: rate, ratios and latencies; the
// ratio to the durable reference only where the phase has one.
func rateRow(figure string, get func(func(phase) float64) float64) row {
	rw := row{Figure: figure, Value: rate(get(okPerS)), Ratio: fmt.Sprintf("%.2f", get(ratio)),
		P50: ms(get(p50)), P99: ms(get(p99))}
	if ref := get(refRatio); ref > 0 {
		rw.RefRatio = fmt.Sprintf("%.2f", ref)
	}
	return rw
}

func runRows(o options, runs []run) []row {
	rows := []row{
		rateRow(fmt.Sprintf("ceiling (constant answer, native shape, %d conns)", o.connections),
			medianPhase(runs, func(r run) phase { return r.Ceiling })),
		rateRow("durable reference (the same answer once the body is appended to a file and fdatasync'd, group commit)",
			medianPhase(runs, func(r run) phase { return r.Durable })),
	}
	for _, d := range o.dialects {
		get := medianPhase(runs, func(r run) phase { return r.Accept[d] })
		rw := rateRow(fmt.Sprintf("durable accepts, %s; gateway %.2f cores, load generator %.2f; committer busy %.0f%%, %.2f ms a commit, %.0f messages a commit",
			d, get(serverCPU), get(loadCPU), 100*get(func(p phase) float64 { return p.CommitBusy }),
			get(func(p phase) float64 { return p.CommitMs }), get(func(p phase) float64 { return p.PerCommit })), get)
		rw.Target = fmt.Sprintf("≥ %.2f × durable ref", acceptRefTarget)
		rw.Verdict = verdict(get(refRatio) >= acceptRefTarget)
		rows = append(rows, rw)
	}
	e2e := medianPhase(runs, func(r run) phase { return r.E2E })
	del, e2eRatio := e2e(delivered), e2e(ratio)
	backlog := e2e(func(p phase) float64 { return float64(p.Backlog) })
	rss := e2e(func(p phase) float64 { return float64(p.PeakRSS) })
	anon := e2e(func(p phase) float64 { return float64(p.PeakAnon) })
	ref := medianPhase(runs, func(r run) phase { return r.E2ERef })
	rows = append(rows,
		row{
			Figure: fmt.Sprintf("end-to-end reference (the durable reference forwarding each answered body to the sink, %d conns), delivered during %s",
				o.upstreamConns, o.e2eDuration),
			Value: rate(ref(delivered)), Ratio: fmt.Sprintf("%.2f", ref(ratio)),
		},
		row{
			Figure: fmt.Sprintf("end to end, delivered during %s (%s)", o.e2eDuration, o.e2eDialect), Value: rate(del),
			Ratio: fmt.Sprintf("%.2f", e2eRatio), RefRatio: fmt.Sprintf("%.2f (e2e ref)", e2e(refRatio)),
			Target:  fmt.Sprintf("≥ %.2f × e2e ref, backlog at the end ≤ %.0f s of it", e2eRefTarget, e2eBacklogTarget),
			Verdict: verdict(e2e(refRatio) >= e2eRefTarget && backlog <= e2eBacklogTarget*del),
		},
		row{
			Figure: "end to end, accepted meanwhile", Value: rate(e2e(okPerS)),
			Ratio: fmt.Sprintf("%.2f", medianOf(runs, func(r run) float64 { return r.E2E.OKPerS / r.Ceiling.OKPerS })),
			P50:   ms(e2e(p50)), P99: ms(e2e(p99)),
			Target: fmt.Sprintf("p99 ≤ %.0f ms", e2eAcceptP99Target), Verdict: verdict(e2e(p99) <= e2eAcceptP99Target),
		},
		row{
			Figure: "end to end: gateway cores / load generator and sink cores",
			Value:  fmt.Sprintf("%.2f / %.2f", e2e(serverCPU), e2e(loadCPU)),
		},
		row{
			Figure: fmt.Sprintf("gateway peak anonymous memory (RssAnon, sampled) under the end-to-end load; VmHWM %s, file-backed peak %s",
				mb(rss), mb(e2e(func(p phase) float64 { return float64(p.PeakFile) }))),
			Value: mb(anon), Target: "≤ 128 MB", Verdict: verdict(anon <= anonTarget),
		},
	)
	if runs[0].JetStream == nil {
		return rows
	}
	return append(rows, jetStreamRows(o, runs)...)
}

// jetStreamRows are the gateway on JetStream, beside the Badger rows above.
func jetStreamRows(o options, runs []run) []row {
	acc := medianPhase(runs, func(r run) phase { return r.JetStream.Accept })
	always := medianPhase(runs, func(r run) phase { return r.JetStream.AcceptAlways })
	e2e := medianPhase(runs, func(r run) phase { return r.JetStream.E2E })
	alwaysRow := rateRow(fmt.Sprintf("JetStream accepts, native, nats-server sync_interval: always (fsync before the answer), queue.nats.shards %d; gateway %.2f cores, nats-server %.2f, load generator %.2f",
		alwaysShards, always(serverCPU), always(natsCPU), always(loadCPU)), always)
	if _, ok := runs[0].Accept["native"]; ok {
		// Against Badger's native durable accepts of the same run: the median of the runs' ratios.
		vsBadger := medianOf(runs, func(r run) float64 { return r.JetStream.AcceptAlways.OKPerS / r.Accept["native"].OKPerS })
		alwaysRow.Target = fmt.Sprintf("≥ %.2f × Badger's native accepts (%.2f)", jetStreamAlwaysTarget, vsBadger)
		alwaysRow.Verdict = verdict(vsBadger >= jetStreamAlwaysTarget)
	}
	return []row{
		rateRow(fmt.Sprintf("JetStream accepts, native, nats-server default sync (fsync every 2 min, not before the answer); gateway %.2f cores, nats-server %.2f, load generator %.2f",
			acc(serverCPU), acc(natsCPU), acc(loadCPU)), acc),
		alwaysRow,
		{
			Figure: fmt.Sprintf("JetStream end to end, default sync, delivered during %s (%s)", o.jsE2EDuration, o.e2eDialect),
			Value:  rate(e2e(delivered)), Ratio: fmt.Sprintf("%.2f", e2e(ratio)),
		},
		{
			Figure: "JetStream end to end, accepted meanwhile", Value: rate(e2e(okPerS)),
			Ratio: fmt.Sprintf("%.2f", medianOf(runs, func(r run) float64 { return r.JetStream.E2E.OKPerS / r.Ceiling.OKPerS })),
			P50:   ms(e2e(p50)), P99: ms(e2e(p99)),
		},
		{
			Figure: fmt.Sprintf("JetStream end to end: gateway cores / nats-server / load generator and sink; peak RSS: gateway %s, nats-server %s",
				mb(e2e(func(p phase) float64 { return float64(p.PeakRSS) })), mb(e2e(func(p phase) float64 { return float64(p.NATSRSS) }))),
			Value: fmt.Sprintf("%.2f / %.2f / %.2f", e2e(serverCPU), e2e(natsCPU), e2e(loadCPU)),
		},
	}
}

// notes say what the reference rows and the JetStream rows are, under the table.
func notes(o options) string {
	s := "The durable reference is `switchboard bench ceiling -durable DIR`: the ceiling's constant answer, given only after " +
		"the request body has been appended to one file and fdatasync'd (one writer takes every request waiting and writes them " +
		"with one pwrite; one syncer makes every written group durable with one fdatasync while the writer goes on). It parses " +
		"nothing, queues nothing and indexes nothing: it is the ceiling for an answer given after an fdatasync on this machine, " +
		"with this load generator and these connections. × durable ref is a durable accept's rate over it, in the same run.\n" +
		"\nThe end-to-end reference is the same server with `-forward URL`: once it has answered, it POSTs each body on to " +
		"the sink, as is, from as many connections as the gateway's upstream has. It routes, encodes, retries and records " +
		"nothing: it is the most a durable forwarder delivers on this machine under the same end-to-end load, and the end to " +
		"end row's × (e2e ref) is the gateway's delivered rate over it, in the same run.\n"
	if o.jetstream {
		s += "\nJetStream: each phase has a fresh nats-server of its own (one server, file store, replicas 1, a child process " +
			"on loopback, its CPU counted apart) and a fresh gateway with `queue.backend: nats`. nats-server's default sync " +
			"fsyncs its store every 2 minutes, not before acknowledging a write, so the default-sync rows are not durable " +
			"against a power loss, unlike Badger's with `durability: always` (fsync, group-committed, before every answer): " +
			"they have no × durable ref. The `sync_interval: always` row fsyncs every write before acknowledging it.\n"
	}
	return s
}

func restartRows(rs *restart) []row {
	if rs == nil {
		return nil
	}
	return []row{
		{Figure: fmt.Sprintf("restart after kill -9 with %s queued: /readyz 200", fmtInt(int64(rs.Messages))),
			Value: fmt.Sprintf("%.2f s", rs.ReadySec), Target: "< 5 s", Verdict: verdict(rs.ReadySec < restartTarget)},
		{Figure: "restart: first message at the upstream", Value: fmt.Sprintf("%.2f s", rs.FirstSec),
			Target: "< 5 s", Verdict: verdict(rs.FirstSec < restartTarget)},
	}
}

// markdown writes t as a Markdown table, the first column left-aligned, the rest right.
func (t table) markdown(w *bytes.Buffer) {
	w.WriteString("| " + strings.Join(t.head, " | ") + " |\n|---|" + strings.Repeat("---:|", len(t.head)-1) + "\n")
	for _, r := range t.rows {
		w.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
}

// perRun is every run's raw figures, to show the spread behind the medians.
func perRun(w *bytes.Buffer, o options, runs []run) {
	w.WriteString("| run | ceiling | durable ref |")
	for _, d := range o.dialects {
		fmt.Fprintf(w, " %s |", d)
	}
	w.WriteString(" e2e delivered | e2e accepted | backlog at end | delivered after drain | peak RSS (anon + file) | other load (cores) |\n|---|")
	w.WriteString(strings.Repeat("---:|", len(o.dialects)+8) + "\n")
	for _, r := range runs {
		fmt.Fprintf(w, "| %d | %s | %s (%.2f) |", r.N, rate(r.Ceiling.OKPerS), rate(r.Durable.OKPerS), r.Durable.Ratio)
		other := max(r.Ceiling.OtherCPU, r.Durable.OtherCPU)
		for _, d := range o.dialects {
			p := r.Accept[d]
			fmt.Fprintf(w, " %s (%.2f, %.2f, p99 %.1f ms) |", rate(p.OKPerS), p.Ratio, p.RefRatio, p.P99Ms)
			other = max(other, p.OtherCPU)
		}
		other = max(other, r.E2E.OtherCPU)
		e := r.E2E
		fmt.Fprintf(w, " %s (%.2f) | %s | %s | %.1f%% | %s (%s + %s) | %.2f |\n", rate(e.Delivered), e.Ratio, rate(e.OKPerS),
			fmtInt(e.Backlog), 100*e.DeliveredRatio, mb(float64(e.PeakRSS)), mb(float64(e.PeakAnon)), mb(float64(e.PeakFile)), other)
	}
}

// perRunJetStream is every run's JetStream figures.
func perRunJetStream(w *bytes.Buffer, runs []run) {
	w.WriteString("| run | accepts, default sync | accepts, sync always | e2e delivered | e2e accepted | backlog at end | delivered after drain | peak RSS gateway + nats-server | other load (cores) |\n|---|")
	w.WriteString(strings.Repeat("---:|", 8) + "\n")
	for _, r := range runs {
		js := r.JetStream
		a, al, e := js.Accept, js.AcceptAlways, js.E2E
		fmt.Fprintf(w, "| %d | %s (%.2f, p99 %.1f ms) | %s (%.2f, %.2f, p99 %.1f ms) | %s (%.2f) | %s | %s | %.1f%% | %s + %s | %.2f |\n",
			r.N, rate(a.OKPerS), a.Ratio, a.P99Ms, rate(al.OKPerS), al.Ratio, al.RefRatio, al.P99Ms,
			rate(e.Delivered), e.Ratio, rate(e.OKPerS), fmtInt(e.Backlog), 100*e.DeliveredRatio,
			mb(float64(e.PeakRSS)), mb(float64(e.NATSRSS)), max(a.OtherCPU, al.OtherCPU, e.OtherCPU))
	}
}

// machine describes where the figures were taken.
func machine() string {
	model, cores := "unknown CPU", 0
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch strings.TrimSpace(k) {
			case "model name":
				model = strings.TrimSpace(v)
			case "processor":
				cores++
			}
		}
		f.Close()
	}
	commit := "unknown"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			commit += " with uncommitted changes"
		}
	}
	return fmt.Sprintf("%s, %d cores (/proc/cpuinfo); %s; commit %s; %s",
		model, cores, runtime.Version(), commit, time.Now().UTC().Format("2006-01-02 15:04 MST"))
}

// replaceSection puts body between the markers <!-- name:begin --> and <!-- name:end -->
// of the file at path, appending the section when the file has none, so the hand-written
// rest of the file survives every run.
func replaceSection(path, name, body string) error {
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	section := begin + "\n" + body + end
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i >= 0 && j > i {
		s = s[:i] + section + s[j+len(end):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n\n") {
			s += "\n"
		}
		s += section + "\n"
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// writeIndex writes outDir/index.html: the summary and links to every load report.
func writeIndex(path, title, info string, t table, reports []string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>"+
		"<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style>"+
		"</head><body><h1>%s</h1><p>%s</p><table>\n", html.EscapeString(title), html.EscapeString(title), html.EscapeString(info))
	for i, r := range append([][]string{t.head}, t.rows...) {
		cell := "td"
		if i == 0 {
			cell = "th"
		}
		fmt.Fprint(&b, "<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, "<%s>%s</%s>", cell, html.EscapeString(strings.Trim(c, "*")), cell)
		}
		fmt.Fprint(&b, "</tr>\n")
	}
	b.WriteString("</table><h2>Load reports</h2><ul>\n")
	for _, r := range reports {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(r), html.EscapeString(r))
	}
	b.WriteString("</ul></body></html>\n")
	return os.WriteFile(path, b.Bytes(), 0o644)
}
