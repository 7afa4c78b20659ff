package loadgen

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"text/tabwriter"
)

const (
	// compareFloor is the smallest relative change ever called significant:
	// per-second figures of a short run can agree by chance more closely than
	// two runs ever do.
	compareFloor = 0.05
	// minSecond is the shortest timeline interval used for the spread: the
	// last, partial interval of a run says little.
	minSecond = 0.5
)

// Comparison is one figure of two runs side by side.
type Comparison struct {
	Figure string  `json:"figure"`
	Unit   string  `json:"unit"` // "/s", "ms" or "%"
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	// Noise is the change the runs' own per-second spread can explain;
	// Judged is false when a run has fewer than two full seconds of the figure.
	Noise       float64 `json:"noise"`
	Judged      bool    `json:"judged"`
	Significant bool    `json:"significant"`
	// Worse says the change is significant and in the bad direction.
	Worse  bool `json:"worse"`
	NoData bool `json:"no_data,omitempty"`
}

type compareFigure struct {
	name, unit    string
	higherIsWorse bool
	whole         func(r *Report) (float64, bool)
	second        func(s Second) (float64, bool) // nil: no per-second figure
	// lag reads the same quantile of a run's schedule lag: the generator's own timing noise
	// at that quantile, below which a latency change is not judged (nil: p90).
	lag func(Summary) float64
}

func latencyFigure(name string, whole func(Summary) float64, second func(Second) float64) compareFigure {
	f := compareFigure{name: name, unit: "ms", higherIsWorse: true, lag: whole,
		whole: func(r *Report) (float64, bool) { return whole(r.Latency), r.Latency.Count > 0 }}
	if second != nil {
		f.second = func(s Second) (float64, bool) { v := second(s); return v, s.OK > 0 && v > 0 }
	}
	return f
}

var compareFigures = []compareFigure{
	{name: "requests/s", unit: "/s", whole: func(r *Report) (float64, bool) { return r.RequestsPerSec, true },
		second: func(s Second) (float64, bool) { return s.Rate, true }},
	{name: "ok/s", unit: "/s", whole: func(r *Report) (float64, bool) { return r.OKPerSec, true },
		second: func(s Second) (float64, bool) { return float64(s.OK) / s.Span, true }},
	{name: "errors", unit: "%", higherIsWorse: true,
		whole:  func(r *Report) (float64, bool) { return 100 * float64(r.Errors) / float64(r.Requests), r.Requests > 0 },
		second: func(s Second) (float64, bool) { return 100 * float64(s.Errors) / float64(s.Requests), s.Requests > 0 }},
	latencyFigure("p50", func(s Summary) float64 { return s.P50Ms }, func(s Second) float64 { return s.P50Ms }),
	latencyFigure("p90", func(s Summary) float64 { return s.P90Ms }, func(s Second) float64 { return s.P90Ms }),
	latencyFigure("p99", func(s Summary) float64 { return s.P99Ms }, func(s Second) float64 { return s.P99Ms }),
	latencyFigure("p99.9", func(s Summary) float64 { return s.P999Ms }, nil),
	latencyFigure("max", func(s Summary) float64 { return s.MaxMs }, func(s Second) float64 { return s.MaxMs }),
	{name: "service p99", unit: "ms", higherIsWorse: true,
		whole: func(r *Report) (float64, bool) {
			return summaryFigure(r.Service, func(s *Summary) float64 { return s.P99Ms })
		}},
	{name: "schedule lag p99", unit: "ms", higherIsWorse: true,
		whole: func(r *Report) (float64, bool) {
			return summaryFigure(r.ScheduleLag, func(s *Summary) float64 { return s.P99Ms })
		}},
	{name: "delivered", unit: "%",
		whole: func(r *Report) (float64, bool) {
			if r.Delivery == nil {
				return 0, false
			}
			return 100 * r.Delivery.Ratio, true
		}},
	{name: "delivery p99", unit: "ms", higherIsWorse: true,
		whole: func(r *Report) (float64, bool) {
			if r.Delivery == nil {
				return 0, false
			}
			return summaryFigure(&r.Delivery.Latency, func(s *Summary) float64 { return s.P99Ms })
		}},
}

// tCritical99 are Student's t at 99% two-sided for 1..10 degrees of freedom;
// beyond, tCritical99Large is near enough. A short run has few seconds, and
// its spread says little: the bar rises accordingly.
var tCritical99 = []float64{63.66, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169}

const tCritical99Large = 2.9

func tCritical(df int) float64 {
	if df <= len(tCritical99) {
		return tCritical99[df-1]
	}
	return tCritical99Large
}

// summaryFigure reads one figure of s, if s timed anything.
func summaryFigure(s *Summary, f func(*Summary) float64) (float64, bool) {
	if s == nil || s.Count == 0 {
		return 0, false
	}
	return f(s), true
}

// Compare sets two runs' figures side by side. A change is significant when
// it exceeds the noise: the 99% bar of a t-test on the runs' per-second
// figures (each run's own per-second spread; the fewer seconds, the higher the
// bar), and never less than compareFloor of A nor, for a latency, the larger
// schedule lag of the two runs at the same quantile (the generator's own timing
// noise there, which a busier machine raises for a whole run, and most in the
// tail). Figures with no per-second series (p99.9, delivery) are shown, never
// judged.
func Compare(a, b *Report) []Comparison {
	var out []Comparison
	for _, f := range compareFigures {
		av, aok := f.whole(a)
		bv, bok := f.whole(b)
		if !aok && !bok {
			continue
		}
		c := Comparison{Figure: f.name, Unit: f.unit, A: av, B: bv, NoData: !aok || !bok}
		if f.second != nil && !c.NoData {
			_, va, na := spread(a.Timeline, f.second)
			_, vb, nb := spread(b.Timeline, f.second)
			if na >= 2 && nb >= 2 {
				c.Judged = true
				c.Noise = max(tCritical(min(na, nb)-1)*math.Sqrt(va/float64(na)+vb/float64(nb)), compareFloor*math.Abs(av))
				if f.unit == "ms" {
					c.Noise = max(c.Noise, lagAt(a, f.lag), lagAt(b, f.lag))
				}
				d := bv - av
				c.Significant = math.Abs(d) > c.Noise
				c.Worse = c.Significant && (d > 0) == f.higherIsWorse
			}
		}
		out = append(out, c)
	}
	return out
}

// lagAt is a run's schedule lag in ms at the quantile q reads (p90 when q is nil), 0 for
// a closed loop.
func lagAt(r *Report, q func(Summary) float64) float64 {
	if r.ScheduleLag == nil {
		return 0
	}
	if q == nil {
		return r.ScheduleLag.P90Ms
	}
	return q(*r.ScheduleLag)
}

// spread is the mean, sample variance and count of a per-second figure over
// the full seconds of a timeline.
func spread(tl []Second, fig func(Second) (float64, bool)) (mean, variance float64, n int) {
	var xs []float64
	for _, s := range tl {
		if s.Span < minSecond {
			continue
		}
		if v, ok := fig(s); ok {
			xs = append(xs, v)
		}
	}
	n = len(xs)
	if n == 0 {
		return 0, 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(n)
	for _, x := range xs {
		variance += (x - mean) * (x - mean)
	}
	if n > 1 {
		variance /= float64(n - 1)
	}
	return mean, variance, n
}

// WriteComparison prints Compare's table.
func WriteComparison(w io.Writer, aName, bName string, a, b *Report, cs []Comparison) {
	fmt.Fprintf(w, "A %s: %s %s, %s\nB %s: %s %s, %s\n", aName, a.Dialect, a.ProfileDesc, a.Started.Format("2006-01-02 15:04:05"),
		bName, b.Dialect, b.ProfileDesc, b.Started.Format("2006-01-02 15:04:05"))
	if a.ProfileDesc != b.ProfileDesc || a.Dialect != b.Dialect {
		fmt.Fprintln(w, "warning: the runs differ in dialect or profile; their figures may not be comparable")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tA\tB\tchange\tnoise ±\tverdict\t")
	for _, c := range cs {
		num := func(v float64) string {
			switch c.Unit {
			case "ms":
				return fmtMs(v)
			case "%":
				return fmt.Sprintf("%.3g%%", v)
			}
			return fmt.Sprintf("%.0f/s", v)
		}
		change, noise, verdict := "n/a", "n/a", "no per-second figure"
		if !c.NoData {
			change = fmt.Sprintf("%+.1f%%", 100*(c.B-c.A)/c.A)
			if c.A == 0 {
				change = "+" + num(c.B)
			}
		}
		switch {
		case c.NoData:
			verdict = "missing in one run"
		case c.Judged:
			noise = num(c.Noise)
			verdict = "within noise"
			if c.Significant {
				verdict = "significant: better"
				if c.Worse {
					verdict = "significant: WORSE"
				}
			}
		case hasSeries(c.Figure):
			verdict = "too few seconds to judge"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Figure, num(c.A), num(c.B), change, noise, verdict)
	}
	tw.Flush()
}

func hasSeries(figure string) bool {
	for _, f := range compareFigures {
		if f.name == figure {
			return f.second != nil
		}
	}
	return false
}

// ReadReport reads a report written by -out.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read report: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cannot parse report %s: %w", path, err)
	}
	return &r, nil
}

func mainCompare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	failWorse := fs.Bool("fail", false, "exit 3 when a figure of B is significantly worse than A's (a CI gate)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: switchboard bench compare [-fail] A.json B.json")
		fs.PrintDefaults()
	}
	if fs.Parse(args) != nil || fs.NArg() != 2 {
		fs.Usage()
		return exitUsage
	}
	a, err := ReadReport(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "bench compare: %v\n", err)
		return exitFailed
	}
	b, err := ReadReport(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "bench compare: %v\n", err)
		return exitFailed
	}
	cs := Compare(a, b)
	WriteComparison(stdout, fs.Arg(0), fs.Arg(1), a, b, cs)
	for _, c := range cs {
		if c.Worse && *failWorse {
			return exitThresholds
		}
	}
	return exitOK
}
