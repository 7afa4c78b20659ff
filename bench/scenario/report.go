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

// Targets from the benchmark issue, as ratios to the ceiling of the same run.
const (
	acceptRatioTarget = 0.50
	acceptP99Target   = 10.0 // ms
	e2eRatioTarget    = 0.25
	e2eRateTarget     = 20000.0
	rssTarget         = 256 << 20
	restartTarget     = 5.0 // s
)

// row is one line of the summary table.
type row struct {
	Figure, Value, Ratio, P50, P99, Target, Verdict string
}

// table is what the text, the results file and the HTML index show.
type table struct {
	head []string
	rows [][]string
}

var summaryHead = []string{"figure", "median", "× ceiling", "p50", "p99", "target", ""}

func summaryTable(rows []row) table {
	t := table{head: summaryHead}
	for _, r := range rows {
		t.rows = append(t.rows, []string{r.Figure, r.Value, r.Ratio, r.P50, r.P99, r.Target, r.Verdict})
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

func runRows(o options, runs []run) []row {
	rows := []row{{
		Figure: fmt.Sprintf("ceiling (constant answer, native shape, %d conns)", o.connections),
		Value:  rate(medianOf(runs, func(r run) float64 { return r.Ceiling.OKPerS })), Ratio: "1.00",
		P50: ms(medianOf(runs, func(r run) float64 { return r.Ceiling.P50Ms })),
		P99: ms(medianOf(runs, func(r run) float64 { return r.Ceiling.P99Ms })),
	}}
	for _, d := range o.dialects {
		get := func(f func(phase) float64) float64 {
			return medianOf(runs, func(r run) float64 { return f(r.Accept[d]) })
		}
		diag := fmt.Sprintf("; gateway %.2f cores, load generator %.2f; syncer busy %.0f%%, %.2f ms a sync, %.0f messages a sync",
			get(func(p phase) float64 { return p.ServerCPU }), get(func(p phase) float64 { return p.LoadCPU }),
			100*get(func(p phase) float64 { return p.SyncBusy }), get(func(p phase) float64 { return p.SyncMs }),
			get(func(p phase) float64 { return p.PerSync }))
		ratio, p99 := get(func(p phase) float64 { return p.Ratio }), get(func(p phase) float64 { return p.P99Ms })
		rows = append(rows, row{
			Figure: "durable accepts, " + d + diag, Value: rate(get(func(p phase) float64 { return p.OKPerS })),
			Ratio: fmt.Sprintf("%.2f", ratio), P50: ms(get(func(p phase) float64 { return p.P50Ms })), P99: ms(p99),
			Target:  fmt.Sprintf("≥ %.2f, p99 ≤ %.0f ms", acceptRatioTarget, acceptP99Target),
			Verdict: verdict(ratio >= acceptRatioTarget && p99 <= acceptP99Target),
		})
	}
	e2e := func(f func(phase) float64) float64 { return medianOf(runs, func(r run) float64 { return f(r.E2E) }) }
	del, ratio := e2e(func(p phase) float64 { return p.Delivered }), e2e(func(p phase) float64 { return p.Ratio })
	rss := e2e(func(p phase) float64 { return float64(p.PeakRSS) })
	return append(rows,
		row{
			Figure: fmt.Sprintf("end to end, delivered during %s (%s)", o.e2eDuration, o.e2eDialect), Value: rate(del),
			Ratio: fmt.Sprintf("%.2f", ratio), Target: fmt.Sprintf("≥ %.2f and ≥ %s", e2eRatioTarget, rate(e2eRateTarget)),
			Verdict: verdict(ratio >= e2eRatioTarget && del >= e2eRateTarget),
		},
		row{
			Figure: "end to end, accepted meanwhile", Value: rate(e2e(func(p phase) float64 { return p.OKPerS })),
			Ratio: fmt.Sprintf("%.2f", medianOf(runs, func(r run) float64 { return r.E2E.OKPerS / r.Ceiling.OKPerS })),
			P50:   ms(e2e(func(p phase) float64 { return p.P50Ms })), P99: ms(e2e(func(p phase) float64 { return p.P99Ms })),
		},
		row{
			Figure: "end to end: gateway cores / load generator and sink cores",
			Value:  fmt.Sprintf("%.2f / %.2f", e2e(func(p phase) float64 { return p.ServerCPU }), e2e(func(p phase) float64 { return p.LoadCPU })),
		},
		row{
			Figure: fmt.Sprintf("gateway peak RSS (VmHWM) under the end-to-end load; sampled peaks: anonymous %s, file-backed %s",
				mb(e2e(func(p phase) float64 { return float64(p.PeakAnon) })), mb(e2e(func(p phase) float64 { return float64(p.PeakFile) }))),
			Value: mb(rss), Target: "≤ 256 MB", Verdict: verdict(rss <= rssTarget),
		},
	)
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
	w.WriteString("| run | ceiling |")
	for _, d := range o.dialects {
		fmt.Fprintf(w, " %s |", d)
	}
	w.WriteString(" e2e delivered | e2e accepted | backlog at end | delivered after drain | peak RSS (anon + file) | other load (cores) |\n|---|")
	w.WriteString(strings.Repeat("---:|", len(o.dialects)+7) + "\n")
	for _, r := range runs {
		fmt.Fprintf(w, "| %d | %s |", r.N, rate(r.Ceiling.OKPerS))
		other := r.Ceiling.OtherCPU
		for _, d := range o.dialects {
			p := r.Accept[d]
			fmt.Fprintf(w, " %s (%.2f, p99 %.1f ms) |", rate(p.OKPerS), p.Ratio, p.P99Ms)
			other = max(other, p.OtherCPU)
		}
		other = max(other, r.E2E.OtherCPU)
		e := r.E2E
		fmt.Fprintf(w, " %s (%.2f) | %s | %s | %.1f%% | %s (%s + %s) | %.2f |\n", rate(e.Delivered), e.Ratio, rate(e.OKPerS),
			fmtInt(e.Backlog), 100*e.DeliveredRatio, mb(float64(e.PeakRSS)), mb(float64(e.PeakAnon)), mb(float64(e.PeakFile)), other)
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
