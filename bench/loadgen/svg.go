package loadgen

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// Charts are drawn as inline SVG so the HTML report renders offline, with no
// script and no external resource.
const (
	chartW, chartH               = 760.0, 280.0
	marginL, marginR             = 84.0, 20.0
	marginT, marginB             = 30.0, 40.0
	plotW, plotH                 = chartW - marginL - marginR, chartH - marginT - marginB
	maxDots                      = 120 // beyond this many points a line shows more than dots
	colorAxis, colorGrid, colorT = "#444", "#ddd", "#222"
)

type series struct {
	name  string
	color string
	ys    []float64
}

type axis struct {
	lo, hi float64
	log    bool
	ticks  []float64
	label  func(float64) string
	// name is the axis title.
	name string
}

func (a axis) frac(v float64) float64 {
	if a.log {
		return (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	}
	return (v - a.lo) / (a.hi - a.lo)
}

func linearAxis(hi float64, label func(float64) string) axis {
	if hi <= 0 {
		hi = 1
	}
	step := niceStep(hi / 5)
	a := axis{lo: 0, hi: math.Ceil(hi/step) * step, label: label}
	for v := 0.0; v <= a.hi+step/2 && len(a.ticks) < 20; v += step {
		a.ticks = append(a.ticks, v)
	}
	return a
}

// logAxis spans whole decades around [lo, hi]; lo must be > 0.
func logAxis(lo, hi float64, label func(float64) string) axis {
	a := axis{lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi))), log: true, label: label}
	if a.hi <= a.lo {
		a.hi = a.lo * 10
	}
	decades := math.Round(math.Log10(a.hi / a.lo))
	for d := a.lo; d <= a.hi*1.0001 && len(a.ticks) < 40; d *= 10 {
		a.ticks = append(a.ticks, d)
		if decades <= 2 && d < a.hi/1.0001 {
			a.ticks = append(a.ticks, 2*d, 5*d)
		}
	}
	return a
}

func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

type svg struct{ strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.Builder, format, args...) }

func (s *svg) open(title string) {
	s.f(`<svg viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" font-family="sans-serif" font-size="11">`, chartW, chartH, chartW, chartH)
	s.f(`<text x="%.0f" y="18" font-size="13" font-weight="bold" fill="%s">%s</text>`, marginL, colorT, html.EscapeString(title))
}

func (s *svg) yAxis(a axis) {
	for _, v := range a.ticks {
		y := marginT + plotH*(1-a.frac(v))
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, marginL, marginL+plotW, y, y, colorGrid)
		s.f(`<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`, marginL-6, y+4, colorT, html.EscapeString(a.label(v)))
	}
	s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, marginL, marginL, marginT, marginT+plotH, colorAxis)
	if a.name != "" {
		s.f(`<text x="14" y="%.1f" text-anchor="middle" fill="%s" transform="rotate(-90 14 %.1f)">%s</text>`, marginT+plotH/2, colorT, marginT+plotH/2, html.EscapeString(a.name))
	}
}

func (s *svg) xAxis(a axis, name string) {
	base := marginT + plotH
	for _, v := range a.ticks {
		x := marginL + plotW*a.frac(v)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x, x, base, base+4, colorAxis)
		s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, x, base+16, colorT, html.EscapeString(a.label(v)))
	}
	s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, marginL, marginL+plotW, base, base, colorAxis)
	s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, marginL+plotW/2, chartH-6, colorT, html.EscapeString(name))
}

func (s *svg) legend(ss []series) {
	x := marginL + plotW
	for i := len(ss) - 1; i >= 0; i-- {
		w := 14 + 7*float64(len(ss[i].name))
		x -= w + 10
		s.f(`<rect x="%.1f" y="9" width="10" height="10" fill="%s"/>`, x, ss[i].color)
		s.f(`<text x="%.1f" y="18" fill="%s">%s</text>`, x+14, colorT, html.EscapeString(ss[i].name))
	}
}

// lineChart plots series against xs (seconds since the start); points not
// drawable on y (<= 0 on a log axis) break the line.
func lineChart(title, xName string, xs []float64, ss []series, y axis) template.HTML {
	if len(xs) == 0 {
		return noData(title)
	}
	x := linearAxis(xs[len(xs)-1], func(v float64) string { return fmt.Sprintf("%gs", v) })
	return plot(title, xName, xs, x, ss, y, nil)
}

// noData is an empty chart that says so.
func noData(title string) template.HTML {
	var s svg
	s.open(title)
	s.f(`<text x="%.0f" y="%.0f" fill="%s">n/a: no data</text></svg>`, marginL, marginT+plotH/2, colorT)
	return template.HTML(s.String())
}

// mark is a labelled vertical line across a plot, at x.
type mark struct {
	x     float64
	label string
}

// plot draws series against xs on the axes x and y.
func plot(title, xName string, xs []float64, x axis, ss []series, y axis, marks []mark) template.HTML {
	var s svg
	s.open(title)
	s.yAxis(y)
	s.xAxis(x, xName)
	for _, m := range marks {
		px := marginL + plotW*x.frac(m.x)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`, px, px, marginT, marginT+plotH, colorAxis)
		s.f(`<text x="%.1f" y="%.1f" fill="%s">%s</text>`, px+4, marginT+12, colorT, html.EscapeString(m.label))
	}
	for _, se := range ss {
		var path strings.Builder
		pen := false
		for i, v := range se.ys {
			if y.log && v <= 0 || math.IsNaN(v) || x.log && xs[i] <= 0 {
				pen = false
				continue
			}
			px := marginL + plotW*x.frac(xs[i])
			py := marginT + plotH*(1-y.frac(v))
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, px, py)
			pen = true
			if len(se.ys) <= maxDots {
				s.f(`<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"/>`, px, py, se.color)
			}
		}
		s.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"/>`, path.String(), se.color)
	}
	s.legend(ss)
	s.f(`</svg>`)
	return template.HTML(s.String())
}

// binLabelTolerance matches bin edges to 1, 2 and 5 in log10: the edges are
// tenths of a decade, so 10^0.3 stands for 2 and 10^0.7 for 5.
const binLabelTolerance = 0.01

// histChart draws the log-binned latency histogram as equal-width bars.
func histChart(title string, bins []Bin) template.HTML {
	if len(bins) == 0 {
		return noData(title)
	}
	var s svg
	s.open(title)
	var top float64
	for _, b := range bins {
		top = max(top, float64(b.Count))
	}
	y := linearAxis(top, func(v float64) string { return fmt.Sprintf("%g", v) })
	y.name = "requests in the bin"
	s.yAxis(y)
	w := plotW / float64(len(bins))
	base := marginT + plotH
	// Label the bins whose upper edge is 1, 2 or 5 times a power of ten
	// (every bin when there are few), so the axis reads like a log scale.
	labelled := func(i int) bool {
		if len(bins) <= 10 {
			return true
		}
		d := math.Log10(bins[i].LeMs)
		frac := d - math.Floor(d)
		for _, e := range []float64{0, math.Log10(2), math.Log10(5), 1} {
			if math.Abs(frac-e) < binLabelTolerance {
				return true
			}
		}
		return false
	}
	s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, marginL, base+16, colorT, fmtMs(bins[0].LeMs/math.Pow(10, 0.1)))
	for i, b := range bins {
		x := marginL + w*float64(i)
		h := plotH * y.frac(float64(b.Count))
		lo := 0.0
		if i > 0 {
			lo = bins[i-1].LeMs
		}
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a7bd0"><title>%s – %s: %d</title></rect>`,
			x+0.5, base-h, max(w-1, 0.5), h, fmtMs(lo), fmtMs(b.LeMs), b.Count)
		if labelled(i) {
			s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x+w, x+w, base, base+4, colorAxis)
			s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>`, x+w, base+16, colorT, fmtMs(b.LeMs))
		}
	}
	s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, marginL, marginL+plotW, base, base, colorAxis)
	s.f(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">latency (upper edge of bin, log scale)</text>`, marginL+plotW/2, chartH-6, colorT)
	s.f(`</svg>`)
	return template.HTML(s.String())
}
