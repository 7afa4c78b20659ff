package loadgen

import (
	"fmt"
	"html/template"
	"math"
	"sort"
)

// Colours of the charts' series.
const (
	colorOK        = "#2a9d3a"
	colorErr       = "#d03a3a"
	colorAsked     = "#777777"
	colorP50       = "#4a7bd0"
	colorP99       = "#e08a1e"
	colorDelivered = "#7b4ad0"
)

func rateLabel(v float64) string { return fmt.Sprintf("%g/s", v) }

// throughputChart plots ok/s and errors/s per second, and the asked rate of
// an open loop's profile.
func throughputChart(tl []Second, open bool) template.HTML {
	xs := make([]float64, len(tl))
	ok, bad, asked := make([]float64, len(tl)), make([]float64, len(tl)), make([]float64, len(tl))
	var top float64
	for i, s := range tl {
		xs[i] = s.At
		if s.Span > 0 {
			ok[i], bad[i] = float64(s.OK)/s.Span, float64(s.Errors)/s.Span
		}
		asked[i] = s.Asked
		top = max(top, ok[i], bad[i], asked[i])
	}
	y := linearAxis(top, rateLabel)
	y.name = "requests per second"
	ss := []series{{"ok/s", colorOK, ok}, {"errors/s", colorErr, bad}}
	if open {
		ss = append(ss, series{"asked rate", colorAsked, asked})
	}
	return lineChart("Throughput per second", "time since start", xs, ss, y)
}

// latencyChart plots the p50, p99 and max of each second on a log scale.
func latencyChart(tl []Second) template.HTML {
	xs := make([]float64, len(tl))
	p50, p99, mx := make([]float64, len(tl)), make([]float64, len(tl)), make([]float64, len(tl))
	var vals []float64
	for i, s := range tl {
		xs[i], p50[i], p99[i], mx[i] = s.At, s.P50Ms, s.P99Ms, s.MaxMs
		vals = append(vals, s.P50Ms, s.P99Ms, s.MaxMs)
	}
	y := msLogAxis(vals...)
	return lineChart("Latency per second (2xx, log scale)", "time since start", xs,
		[]series{{"p50", colorP50, p50}, {"p99", colorP99, p99}, {"max", colorErr, mx}}, y)
}

// msLogAxis is a log axis of milliseconds spanning the positive values.
func msLogAxis(vals ...float64) axis {
	lo, hi := 0.0, 0.0
	for _, v := range vals {
		if v > 0 && (lo == 0 || v < lo) {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		lo, hi = 0.001, 1
	}
	y := logAxis(lo, hi, fmtMs)
	y.name = "latency (log scale)"
	return y
}

// Percentile marks of the latency-by-percentile plot.
var percentileMarks = []float64{50, 90, 99, 99.9, 99.99, 99.999}

// percentileX places percentile p on the plot's x axis: log10(1/(1-p)), so
// that 90%, 99%, 99.9% and 99.99% fall one decade apart.
func percentileX(p float64) float64 { return math.Log10(100 / (100 - min(p, 99.9999))) }

// percentileChart plots latency against percentile, both on log scales, the
// way HdrHistogram's plotter draws it.
func percentileChart(lat, svc []Percentile) template.HTML {
	const title = "Latency by percentile (2xx, log scales)"
	if len(lat) == 0 {
		return noData(title)
	}
	var top float64
	var vals []float64
	for _, q := range append(append([]Percentile(nil), lat...), svc...) {
		top = max(top, percentileX(q.P))
		vals = append(vals, q.Ms)
	}
	x := axis{lo: 0, hi: max(top, percentileX(99)), label: func(v float64) string {
		for _, p := range percentileMarks {
			if math.Abs(percentileX(p)-v) < 1e-9 {
				return fmt.Sprintf("p%g", p)
			}
		}
		return ""
	}}
	for _, p := range percentileMarks {
		if percentileX(p) <= x.hi+1e-9 {
			x.ticks = append(x.ticks, percentileX(p))
		}
	}
	// Series may differ in length: each is drawn against its own xs.
	xs, ys := curve(lat)
	ss := []series{{"latency", colorP99, ys}}
	var out template.HTML
	if len(svc) > 0 {
		sx, sy := curve(svc)
		// Pad to one x vector: the shorter curve is NaN where it has no point.
		xs, ys, sy = merge(xs, ys, sx, sy)
		ss = []series{{"latency", colorP99, ys}, {"service", colorP50, sy}}
	}
	out = plot(title, "percentile", xs, x, ss, msLogAxis(vals...), nil)
	return out
}

func curve(ps []Percentile) (xs, ys []float64) {
	for _, q := range ps {
		xs, ys = append(xs, percentileX(q.P)), append(ys, q.Ms)
	}
	return xs, ys
}

// merge puts two curves on the union of their xs (both are ascending).
func merge(ax, ay, bx, by []float64) (xs, ya, yb []float64) {
	i, j := 0, 0
	for i < len(ax) || j < len(bx) {
		switch {
		case j >= len(bx) || i < len(ax) && ax[i] < bx[j]-1e-12:
			xs, ya, yb = append(xs, ax[i]), append(ya, ay[i]), append(yb, math.NaN())
			i++
		case i >= len(ax) || bx[j] < ax[i]-1e-12:
			xs, ya, yb = append(xs, bx[j]), append(ya, math.NaN()), append(yb, by[j])
			j++
		default:
			xs, ya, yb = append(xs, ax[i]), append(ya, ay[i]), append(yb, by[j])
			i, j = i+1, j+1
		}
	}
	return xs, ya, yb
}

// stageCharts plot each stage's latency and its achieved rates against the
// asked rate, with the knee of a capacity search marked.
func stageCharts(stages []Stage, k *Knee) (template.HTML, template.HTML) {
	if len(stages) == 0 {
		return "", ""
	}
	st := append([]Stage(nil), stages...)
	sort.SliceStable(st, func(i, j int) bool { return st[i].Asked < st[j].Asked })
	n := len(st)
	xs, p50, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	asked, ok, del := make([]float64, n), make([]float64, n), make([]float64, n)
	var vals []float64
	var top float64
	delivered := false
	for i, s := range st {
		xs[i], asked[i], ok[i], del[i] = s.Asked, s.Asked, s.OKPerSec, math.NaN()
		p50[i], p99[i] = s.Latency.P50Ms, s.Latency.P99Ms
		if s.Delivered >= 0 {
			del[i], delivered = s.DeliveredPerSec, true
		}
		vals = append(vals, p50[i], p99[i])
		top = max(top, s.Asked, s.OKPerSec, s.SentPerSec)
	}
	x := linearAxis(top, rateLabel)
	var marks []mark
	if k != nil && k.Rate > 0 {
		marks = append(marks, mark{k.Rate, fmt.Sprintf("knee %.0f/s", k.Rate)})
	}
	lat := plot("Latency against the asked rate (2xx, log scale)", "asked rate", xs, x,
		[]series{{"p50", colorP50, p50}, {"p99", colorP99, p99}}, msLogAxis(vals...), marks)
	y := linearAxis(top, rateLabel)
	y.name = "per second"
	ss := []series{{"asked", colorAsked, asked}, {"ok", colorOK, ok}}
	if delivered {
		ss = append(ss, series{"delivered", colorDelivered, del})
	}
	return lat, plot("Achieved against the asked rate", "asked rate", xs, x, ss, y, marks)
}

// fmtRate renders a rate in requests/s.
func fmtRate(v float64) string { return fmt.Sprintf("%.0f/s", v) }
