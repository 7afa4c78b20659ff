package loadgen

import (
	"fmt"
	"html/template"
	"io"
	"sort"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) float64 { return 100 * f },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard bench: {{.R.Dialect}} {{.R.Mode}} loop</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:820px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}svg{display:block;margin:12px 0}
.note{color:#555;font-size:13px}
</style></head><body>
<h1>Switchboard bench</h1>
<p>{{.R.Target}} · dialect <b>{{.R.Dialect}}</b> · {{.R.Mode}} loop · {{.R.Connections}} connections{{if .R.Rate}} · {{printf "%.0f" .R.Rate}} req/s asked{{end}} · {{.R.Size}} B text · started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}{{if .R.Interrupted}} · <b>interrupted</b>{{end}}</p>
<table>
<tr><th>requests</th><th>ok (2xx)</th><th>errors</th>{{if .R.Unsent}}<th>unsent</th>{{end}}<th>elapsed</th><th>req/s</th><th>ok/s</th></tr>
<tr><td>{{.R.Requests}}</td><td>{{.R.OK}}</td><td>{{.R.Errors}}</td>{{if .R.Unsent}}<td>{{.R.Unsent}}</td>{{end}}<td>{{printf "%.2f s" .R.ElapsedSec}}</td><td>{{printf "%.0f" .R.RequestsPerSec}}</td><td>{{printf "%.0f" .R.OKPerSec}}</td></tr>
</table>
<table><tr><th>latency</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.S.Count}}</td><td>{{.P50}}</td><td>{{.P90}}</td><td>{{.P99}}</td><td>{{.P999}}</td><td>{{.Max}}</td><td>{{.Mean}}</td></tr>
{{end}}</table>
{{if .Errors}}<table><tr><th>error</th><th>count</th></tr>{{range .Errors}}<tr><td>{{.K}}</td><td>{{.N}}</td></tr>{{end}}</table>{{end}}
{{with .R.Delivery}}<table><tr><th>delivery</th><th>unique</th><th>ratio</th><th>per s</th><th>during load</th><th>per s during load</th><th>duplicates</th><th>foreign</th><th>unmarked</th></tr>
<tr><td>sink</td><td>{{.Unique}}</td><td>{{printf "%.1f%%" (pct .Ratio)}}</td><td>{{printf "%.0f" .PerSec}}</td><td>{{.InLoad}}</td><td>{{printf "%.0f" .InLoadPerSec}}</td><td>{{.Duplicates}}</td><td>{{.Foreign}}</td><td>{{.Unmarked}}</td></tr></table>{{end}}
{{.Throughput}}
{{.OverTime}}
{{.Hist}}
<p class="note">Latencies count 2xx answers only. {{if eq .R.Mode "open"}}Open loop: latency is measured from each request's intended send time, so time spent queued behind a slow server counts (coordinated-omission corrected); "service" is from the actual send; "schedule lag" is how late the generator's timer woke, the floor of this measurement.{{else}}Closed loop: each connection waits for its answer before sending again, so a server stall also pauses the load and is under-represented in the percentiles; use -rate for a corrected measurement.{{end}}</p>
</body></html>
`))

type summaryRow struct {
	Name                           string
	S                              Summary
	P50, P90, P99, P999, Max, Mean string
}

type kv struct {
	K string
	N int64
}

// WriteHTML writes a self-contained HTML report with inline SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	row := func(name string, s Summary) summaryRow {
		return summaryRow{name, s, fmtMs(s.P50Ms), fmtMs(s.P90Ms), fmtMs(s.P99Ms), fmtMs(s.P999Ms), fmtMs(s.MaxMs), fmtMs(s.MeanMs)}
	}
	rows := []summaryRow{row("latency", r.Latency)}
	if r.Service != nil {
		rows = append(rows, row("service", *r.Service), row("schedule lag", *r.ScheduleLag))
	}
	if r.Delivery != nil {
		rows = append(rows, row("delivery", r.Delivery.Latency))
	}
	var errs []kv
	for k, n := range r.ErrorsByStatus {
		errs = append(errs, kv{"HTTP " + k, n})
	}
	for k, n := range r.ErrorsByReason {
		errs = append(errs, kv{k, n})
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].K < errs[j].K })

	return page.Execute(w, map[string]any{
		"R": r, "Rows": rows, "Errors": errs,
		"Throughput": throughputChart(r.Timeline),
		"OverTime":   latencyChart(r.Timeline),
		"Hist":       histChart("Latency histogram (2xx)", r.Histogram),
	})
}

func throughputChart(tl []Second) template.HTML {
	xs := make([]float64, len(tl))
	ok, bad := make([]float64, len(tl)), make([]float64, len(tl))
	var top float64
	for i, s := range tl {
		xs[i] = s.At
		if s.Span > 0 {
			ok[i], bad[i] = float64(s.OK)/s.Span, float64(s.Errors)/s.Span
		}
		top = max(top, ok[i], bad[i])
	}
	y := linearAxis(top, func(v float64) string { return fmt.Sprintf("%g/s", v) })
	return lineChart("Throughput per second", "time since start", xs,
		[]series{{"ok/s", "#2a9d3a", ok}, {"errors/s", "#d03a3a", bad}}, y)
}

func latencyChart(tl []Second) template.HTML {
	xs := make([]float64, len(tl))
	p50, p99, mx := make([]float64, len(tl)), make([]float64, len(tl)), make([]float64, len(tl))
	lo, hi := 0.0, 0.0
	for i, s := range tl {
		xs[i], p50[i], p99[i], mx[i] = s.At, s.P50Ms, s.P99Ms, s.MaxMs
		for _, v := range []float64{s.P50Ms, s.P99Ms, s.MaxMs} {
			if v > 0 && (lo == 0 || v < lo) {
				lo = v
			}
			hi = max(hi, v)
		}
	}
	if lo == 0 {
		lo, hi = 0.001, 1
	}
	y := logAxis(lo, hi, fmtMs)
	return lineChart("Latency per second (2xx, log scale)", "time since start", xs,
		[]series{{"p50", "#4a7bd0", p50}, {"p99", "#e08a1e", p99}, {"max", "#d03a3a", mx}}, y)
}
