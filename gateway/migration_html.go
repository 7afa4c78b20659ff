package gateway

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"switchboard/gateway/compare"
)

// The plots are inline SVG, one line per upstream, drawn on the server.
const (
	plotW, plotH                   = 720, 220
	plotLeft, plotRight, plotTop   = 56, 12, 12
	plotBottom                     = 28
	plotTicks                      = 4
	plotDot                        = 2.5
	legendGap, legendY, legendText = 140, 14, 12
)

// palette colours the upstreams' lines, in name order; readable on white and to most eyes.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}

type plot struct {
	ID, Title string
	Lines     []plotLine
	Ticks     []plotTick
	Start     string // the label of the left edge
	W, H      int
	X0, X1    int
	Y0, Y1    int
}

type plotLine struct {
	Name, Color string
	Points      string // the polyline's
	Dots        []plotPoint
	LegendX     int
}

type plotPoint struct{ X, Y float64 }

type plotTick struct {
	Y     float64
	Label string
}

// plots draws the delivery rate and the percentiles of the times over the window.
func plots(tl map[string][]compare.Figures, step time.Duration) []plot {
	rate := func(f *compare.Figures) (float64, bool) {
		if f.Accepted == 0 {
			return 0, false
		}
		return 100 * float64(f.Delivered) / float64(f.Accepted), true
	}
	pct := func(t compare.Time, q float64) func(f *compare.Figures) (float64, bool) {
		return func(f *compare.Figures) (float64, bool) {
			if f.Samples(t) == 0 {
				return 0, false
			}
			return float64(f.Percentile(t, q)) / float64(time.Millisecond), true
		}
	}
	return []plot{
		draw("delivery-rate", "Delivery rate (% of the messages accepted in each step)", tl, step, rate, "%", 100),
		draw("delivery-p50", "Time to delivery, p50 (ms)", tl, step, pct(compare.TimeDelivery, .5), "ms", 0),
		draw("delivery-p90", "Time to delivery, p90 (ms)", tl, step, pct(compare.TimeDelivery, .9), "ms", 0),
		draw("delivery-p99", "Time to delivery, p99 (ms)", tl, step, pct(compare.TimeDelivery, .99), "ms", 0),
		draw("acceptance-p90", "Time to acceptance, p90 (ms)", tl, step, pct(compare.TimeAcceptance, .9), "ms", 0),
	}
}

// draw makes one plot; top is the y axis' top, or 0 to fit the data.
func draw(id, title string, tl map[string][]compare.Figures, step time.Duration,
	value func(*compare.Figures) (float64, bool), unit string, top float64) plot {
	p := plot{ID: id, Title: title, W: plotW, H: plotH, X0: plotLeft, X1: plotW - plotRight, Y0: plotTop, Y1: plotH - plotBottom}
	names := make([]string, 0, len(tl))
	steps := 0
	for n, line := range tl {
		names = append(names, n)
		steps = max(steps, len(line))
	}
	sort.Strings(names)
	if top == 0 {
		for _, n := range names {
			for i := range tl[n] {
				if v, ok := value(&tl[n][i]); ok {
					top = max(top, v)
				}
			}
		}
		top = niceCeil(top)
	}
	p.Start = "−" + strings.TrimSuffix(strings.TrimSuffix((time.Duration(steps)*step).String(), "0s"), "0m")
	for i := 0; i <= plotTicks; i++ {
		v := top * float64(i) / plotTicks
		p.Ticks = append(p.Ticks, plotTick{Y: p.y(v, top), Label: fmt.Sprintf("%g%s", math.Round(v*10)/10, unit)})
	}
	for k, n := range names {
		l := plotLine{Name: n, Color: palette[k%len(palette)], LegendX: plotLeft + k*legendGap}
		var pts []string
		for i := range tl[n] {
			v, ok := value(&tl[n][i])
			if !ok {
				continue
			}
			x := float64(p.X0) + (float64(i)+0.5)*float64(p.X1-p.X0)/float64(max(steps, 1))
			pt := plotPoint{X: math.Round(x*10) / 10, Y: p.y(v, top)}
			l.Dots = append(l.Dots, pt)
			pts = append(pts, fmt.Sprintf("%g,%g", pt.X, pt.Y))
		}
		l.Points = strings.Join(pts, " ")
		p.Lines = append(p.Lines, l)
	}
	return p
}

func (p *plot) y(v, top float64) float64 {
	if top <= 0 {
		return float64(p.Y1)
	}
	return math.Round((float64(p.Y1)-(float64(p.Y1-p.Y0))*v/top)*10) / 10
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}

var pageFuncs = template.FuncMap{
	"pct": func(x, n uint64) string {
		if n == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(x)/float64(n))
	},
	"ms": func(f compare.Figures, t compare.Time) string {
		if f.Samples(t) == 0 {
			return "–"
		}
		return compare.Millis(f.Percentile(t, .5)) + " / " + compare.Millis(f.Percentile(t, .9)) + " / " + compare.Millis(f.Percentile(t, .99))
	},
	"acceptance": func() compare.Time { return compare.TimeAcceptance },
	"delivery":   func() compare.Time { return compare.TimeDelivery },
	"read":       func() compare.Time { return compare.TimeRead },
	"legendY":    func() int { return legendY },
	"legendText": func() int { return legendText },
	"dot":        func() float64 { return plotDot },
}

var pageTemplate = template.Must(template.New("migration").Funcs(pageFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<title>Switchboard: upstreams compared</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
td.words{text-align:left;max-width:38em}
.better{background:#e3f5e1}.worse{background:#fbe3e1}
nav a{margin-right:1em}nav a.on{font-weight:bold;text-decoration:none;color:#222}
svg{background:#fff;border:1px solid #ddd;margin:.3em 0 1.2em}
#verdict{font-size:1.2em;font-weight:bold}
</style></head><body>
<h1>Upstreams compared</h1>
<p>Switchboard {{.Version}} · {{.Generated}} · the page refreshes every 30 s.</p>
<nav>Window: {{range .Windows}}<a href="?window={{.}}&amp;a={{$.A}}&amp;b={{$.B}}"{{if eq . $.Window}} class="on"{{end}}>{{.}}</a>{{end}}</nav>
{{if not .Upstreams}}<p id="empty">Nothing was sent in the last {{.Window}}.</p>{{end}}
{{if .Verdict}}
<h2>Is {{.B}} at least as good as {{.A}}?</h2>
<form method="get"><input type="hidden" name="window" value="{{.Window}}">
A <select name="a">{{range .Names}}<option{{if eq . $.A}} selected{{end}}>{{.}}</option>{{end}}</select>
B <select name="b">{{range .Names}}<option{{if eq . $.B}} selected{{end}}>{{.}}</option>{{end}}</select>
<button type="submit">Compare</button></form>
<p id="verdict">{{.Verdict}}</p>
<p>Rates by a two-proportion z-test, times by a Mann-Whitney U test on the binned times, both two-sided at the 5% level; a figure is judged only with at least 30 messages (or times) on each side.</p>
<table id="comparison"><tr><th>figure</th><th>A: {{.A}}</th><th>B: {{.B}}</th><th>B − A</th><th>verdict</th></tr>
{{range .Compared}}<tr class="{{.Judgement.Class}}" data-figure="{{.Figure}}" data-judgement="{{.Judgement.Class}}"><td>{{.Figure}}</td><td>{{.A}}</td><td>{{.B}}</td><td>{{.Diff}}</td><td class="words">{{.Words}}</td></tr>
{{end}}</table>
{{end}}
{{if .Upstreams}}
<h2>Side by side, last {{.Window}}</h2>
<p>Receipts count against the minute their message was accepted in; times are p50 / p90 / p99.</p>
<table id="upstreams"><tr><th>upstream</th><th>accepted</th><th>refused</th><th>retries</th><th>failovers</th><th>dead letters</th><th>delivered</th><th>read</th><th>failed after acceptance</th><th>no receipt yet</th><th>delivery rate</th><th>time to acceptance</th><th>time to delivery</th><th>time to read</th></tr>
{{range .Upstreams}}<tr data-upstream="{{.Upstream}}"><td>{{.Upstream}}</td><td>{{.Accepted}}</td><td>{{.Refused}}</td><td>{{.Retries}}</td><td>{{.Failovers}}</td><td>{{.Dead}}</td><td>{{.Delivered}}</td><td>{{.Read}}</td><td>{{.Failed}}</td><td>{{.NoReceipt}}</td><td data-figure="delivery-rate">{{pct .Delivered .Accepted}}</td><td>{{ms .Figures acceptance}}</td><td>{{ms .Figures delivery}}</td><td>{{ms .Figures read}}</td></tr>
{{end}}</table>
<h2>Per route and arm</h2>
<table id="arms"><tr><th>upstream</th><th>route</th><th>arm</th><th>accepted</th><th>refused</th><th>retries</th><th>delivered</th><th>failed after acceptance</th><th>no receipt yet</th><th>time to acceptance</th><th>time to delivery</th></tr>
{{range .Arms}}<tr data-upstream="{{.Upstream}}" data-arm="{{.Arm}}"><td>{{.Upstream}}</td><td>{{.Route}}</td><td>{{.Arm}}</td><td>{{.Accepted}}</td><td>{{.Refused}}</td><td>{{.Retries}}</td><td>{{.Delivered}}</td><td>{{.Failed}}</td><td>{{.NoReceipt}}</td><td>{{ms . acceptance}}</td><td>{{ms . delivery}}</td></tr>
{{end}}</table>
<h2>Which share went where</h2>
{{range .Routes}}<table class="share" data-route="{{.Route}}"><tr><th>route {{.Route}}: upstream</th><th>arm</th><th>accepted</th><th>share</th></tr>
{{range .Rows}}<tr><td>{{.Upstream}}</td><td>{{.Arm}}</td><td>{{.Accepted}}</td><td>{{.Share}}</td></tr>
{{end}}</table>{{end}}
<h2>Top failure reasons</h2>
{{range .Upstreams}}<h3>{{.Upstream}}</h3>{{if .Reasons}}<table class="reasons" data-upstream="{{.Upstream}}"><tr><th>reason</th><th>count</th></tr>
{{range .Reasons}}<tr><td>{{.Text}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}{{end}}
<h2>Over time</h2>
{{range .Plots}}<h3>{{.Title}}</h3>
<svg id="{{.ID}}" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}" xmlns="http://www.w3.org/2000/svg">
{{$p := .}}{{range .Ticks}}<line x1="{{$p.X0}}" x2="{{$p.X1}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#eee"/><text x="{{$p.X0}}" dx="-4" y="{{.Y}}" dy="4" font-size="11" text-anchor="end">{{.Label}}</text>
{{end}}<text x="{{.X0}}" y="{{.H}}" dy="-8" font-size="11">{{.Start}}</text><text x="{{.X1}}" y="{{.H}}" dy="-8" font-size="11" text-anchor="end">now</text>
{{range .Lines}}<g class="line" data-upstream="{{.Name}}"><polyline fill="none" stroke="{{.Color}}" stroke-width="2" points="{{.Points}}"/>{{$c := .Color}}{{range .Dots}}<circle cx="{{.X}}" cy="{{.Y}}" r="{{dot}}" fill="{{$c}}"/>{{end}}
<rect x="{{.LegendX}}" y="{{legendY}}" width="10" height="10" fill="{{.Color}}" transform="translate(20,0)"/><text x="{{.LegendX}}" y="{{legendY}}" dx="34" dy="9" font-size="{{legendText}}">{{.Name}}</text></g>
{{end}}</svg>
{{end}}
{{end}}
</body></html>
`))
