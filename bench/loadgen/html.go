package loadgen

import (
	"html/template"
	"io"
	"sort"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) float64 { return 100 * f },
	"ms":  fmtSummary,
	"rate": func(v float64) string {
		if v < 0 {
			return "n/a"
		}
		return fmtRate(v)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard bench: {{.R.Dialect}} {{.R.Mode}} loop</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:860px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}svg{display:block;margin:12px 0}
td.msg{text-align:left;max-width:420px;overflow-wrap:anywhere}
.note{color:#555;font-size:13px}.pass{color:#1d7a2c;font-weight:bold}.fail{color:#c02020;font-weight:bold}
.banner{padding:8px 12px;border-radius:4px;margin:12px 0}.banner.pass{background:#e6f4e8}.banner.fail{background:#fbe9e9}
</style></head><body>
<h1>Switchboard bench</h1>
<p>{{.R.Target}} · dialect <b>{{.R.Dialect}}</b> · {{.R.ProfileDesc}} · {{.R.Connections}} connections · {{.R.Size}} B text · started {{.R.Started.Format "2006-01-02 15:04:05 MST"}}{{if .R.Interrupted}} · <b>interrupted</b>{{end}}</p>
{{if .Verdict}}<p id="verdict" class="banner fail">FAILED: {{.Verdict}}</p>{{else if or .R.Thresholds .R.Knee}}<p id="verdict" class="banner pass">PASSED</p>{{end}}
<table>
<tr><th>requests</th><th>ok (2xx)</th><th>errors</th>{{if .R.Unsent}}<th>unsent</th>{{end}}<th>elapsed</th><th>req/s</th><th>ok/s</th></tr>
<tr><td>{{.R.Requests}}</td><td>{{.R.OK}}</td><td>{{.R.Errors}}</td>{{if .R.Unsent}}<td>{{.R.Unsent}}</td>{{end}}<td>{{printf "%.2f s" .R.ElapsedSec}}</td><td>{{printf "%.0f" .R.RequestsPerSec}}</td><td>{{printf "%.0f" .R.OKPerSec}}</td></tr>
</table>
{{if .R.Thresholds}}<h2>Thresholds</h2>
<table id="thresholds"><tr><th>threshold</th><th>result</th><th>measured</th></tr>
{{range .R.Thresholds}}<tr><td>{{.Expr}}</td><td class="{{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}pass{{else}}FAIL{{end}}</td><td class="msg">{{.Verdict}}</td></tr>
{{end}}</table>{{end}}
{{with .R.Knee}}<h2>Capacity</h2>
<p id="knee">{{if eq .Rate 0.0}}<span class="fail">No rate held every threshold</span>: {{rate .BrokeAt}} already broke: {{range .Broke}}{{.}}; {{end}}{{else if eq .BrokeAt 0.0}}Every threshold held up to <b>{{rate .Rate}}</b>, the highest rate tried (raise -max-rate to go on).{{else}}Knee: <b>{{rate .Rate}}</b> is the highest rate that held every threshold; {{rate .BrokeAt}} broke: {{range .Broke}}{{.}}; {{end}}{{end}}</p>{{end}}
{{if .R.Stages}}<h2>Stages</h2>
{{.StageLatency}}
{{.StageRates}}
<table id="stages"><tr><th>stage</th><th>asked/s</th><th>sent/s</th><th>ok/s</th><th>delivered/s</th><th>p50</th><th>p99</th><th>errors</th><th>unsent</th>{{if .Judged}}<th>thresholds</th>{{end}}</tr>
{{range .R.Stages}}<tr><td>{{.Index}}</td><td>{{printf "%.0f" .Asked}}</td><td>{{printf "%.0f" .SentPerSec}}</td><td>{{printf "%.0f" .OKPerSec}}</td><td>{{if lt .Delivered 0}}n/a{{else}}{{printf "%.0f" .DeliveredPerSec}}{{end}}</td><td>{{ms .Latency .Latency.P50Ms}}</td><td>{{ms .Latency .Latency.P99Ms}}</td><td>{{.Errors}}</td><td>{{.Unsent}}</td>{{if $.Judged}}<td class="msg">{{if .Held}}<span class="pass">held</span>{{else}}<span class="fail">broke</span>: {{range .Broke}}{{.}}; {{end}}{{end}}</td>{{end}}</tr>
{{end}}</table>{{end}}
<h2>Latency</h2>
<table id="latency"><tr><th>latency</th><th>n</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.S.Count}}</td><td>{{ms .S .S.P50Ms}}</td><td>{{ms .S .S.P90Ms}}</td><td>{{ms .S .S.P99Ms}}</td><td>{{ms .S .S.P999Ms}}</td><td>{{ms .S .S.MaxMs}}</td><td>{{ms .S .S.MeanMs}}</td></tr>
{{end}}</table>
{{.Percentiles}}
{{if .R.Dialects}}<h2>By dialect</h2>
<table id="dialects"><tr><th>dialect</th><th>requests</th><th>ok</th><th>errors</th><th>p50</th><th>p99</th><th>max</th><th>delivered</th><th>delivery p99</th></tr>
{{range .R.Dialects}}<tr><td>{{.Dialect}}</td><td>{{.Requests}}</td><td>{{.OK}}</td><td>{{.Errors}}</td><td>{{ms .Latency .Latency.P50Ms}}</td><td>{{ms .Latency .Latency.P99Ms}}</td><td>{{ms .Latency .Latency.MaxMs}}</td><td>{{if lt .Delivered 0}}n/a{{else}}{{.Delivered}}{{end}}</td><td>{{ms .DeliveryLatency .DeliveryLatency.P99Ms}}</td></tr>
{{end}}</table>{{end}}
{{if .R.Upstreams}}<h2>By upstream</h2>
<table id="upstreams"><tr><th>upstream</th><th>messages</th><th>errors</th><th>to its answer p50</th><th>p99</th><th>its own time p50</th><th>p99</th></tr>
{{range .R.Upstreams}}<tr><td>{{.Name}}</td>{{if .Err}}<td colspan="6" class="msg">cannot ask {{.URL}}: {{.Err}}</td>{{else}}<td>{{.Messages}}</td><td>{{.Errors}}</td><td>{{ms .Latency .Latency.P50Ms}}</td><td>{{ms .Latency .Latency.P99Ms}}</td><td>{{ms .Service .Service.P50Ms}}</td><td>{{ms .Service .Service.P99Ms}}</td>{{end}}</tr>
{{end}}</table>
<p class="note">"To its answer" runs from the generator's send to the simulated vendor's answer (the whole path); "its own time" is the vendor's part, from the request's arrival to its answer.</p>{{end}}
{{if or .R.ErrorMessages .Reasons}}<h2>Errors</h2>
<table id="errors"><tr><th>dialect</th><th>status</th><th>the answer's message</th><th>count</th></tr>
{{range .R.ErrorMessages}}<tr><td>{{.Dialect}}</td><td>HTTP {{.Status}}</td><td class="msg">{{.Message}}</td><td>{{.Count}}</td></tr>
{{end}}{{range .Reasons}}<tr><td>all</td><td>no answer</td><td class="msg">{{.K}}</td><td>{{.N}}</td></tr>
{{end}}</table>{{end}}
{{with .R.Delivery}}<h2>Delivery</h2><table id="delivery"><tr><th>delivery</th><th>unique</th><th>ratio</th><th>per s</th><th>during load</th><th>per s during load</th><th>duplicates</th><th>foreign</th><th>unmarked</th></tr>
<tr><td>delivered</td><td>{{.Unique}}</td><td>{{printf "%.1f%%" (pct .Ratio)}}</td><td>{{printf "%.0f" .PerSec}}</td><td>{{.InLoad}}</td><td>{{printf "%.0f" .InLoadPerSec}}</td><td>{{.Duplicates}}</td><td>{{.Foreign}}</td><td>{{.Unmarked}}</td></tr></table>{{end}}
<h2>Over time</h2>
{{.Throughput}}
{{.OverTime}}
{{.Hist}}
<p class="note">Latencies count 2xx answers only; "n/a" marks a figure with nothing to measure. {{if eq .R.Mode "open"}}Open loop: latency is measured from each request's intended send time, so time spent queued behind a slow server counts (coordinated-omission corrected); "service" is from the actual send; "schedule lag" is how late the generator's timer woke, the floor of this measurement.{{else}}Closed loop: each connection waits for its answer before sending again, so a server stall also pauses the load and is under-represented in the percentiles; use -rate for a corrected measurement.{{end}}</p>
</body></html>
`))

type summaryRow struct {
	Name string
	S    Summary
}

type kv struct {
	K string
	N int64
}

// WriteHTML writes a self-contained HTML report with inline SVG charts: no
// script, no external resource.
func (r *Report) WriteHTML(w io.Writer) error {
	rows := []summaryRow{{"latency", r.Latency}}
	if r.Service != nil {
		rows = append(rows, summaryRow{"service", *r.Service}, summaryRow{"schedule lag", *r.ScheduleLag})
	}
	if r.Delivery != nil {
		rows = append(rows, summaryRow{"delivery", r.Delivery.Latency})
	}
	var reasons []kv
	for k, n := range r.ErrorsByReason {
		reasons = append(reasons, kv{k, n})
	}
	sort.Slice(reasons, func(i, j int) bool { return reasons[i].K < reasons[j].K })
	stageLat, stageRates := stageCharts(r.Stages, r.Knee)
	return page.Execute(w, map[string]any{
		"R": r, "Rows": rows, "Reasons": reasons, "Verdict": r.verdict(),
		"Judged":       r.Profile == profileSearch || len(r.Thresholds) > 0,
		"Throughput":   throughputChart(r.Timeline, r.Mode == "open"),
		"OverTime":     latencyChart(r.Timeline),
		"Hist":         histChart("Latency histogram (2xx)", r.Histogram),
		"Percentiles":  percentileChart(r.Percentiles, r.ServicePercentiles),
		"StageLatency": stageLat,
		"StageRates":   stageRates,
	})
}
