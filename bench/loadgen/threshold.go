package loadgen

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Threshold is one pass/fail condition on a run, e.g. "p99<10ms",
// "errors<0.1%", "delivered>=99.9%", "lag<5ms", or "wavy:p99<10ms" for one
// dialect of a mix. Latency limits are in milliseconds, percentages are
// fractions, and "errors" without "%" counts requests.
type Threshold struct {
	Expr    string  `json:"expr"`
	Dialect string  `json:"dialect,omitempty"`
	Metric  string  `json:"metric"`
	Op      string  `json:"op"`
	Limit   float64 `json:"limit"`
	Percent bool    `json:"percent,omitempty"`
}

// ThresholdResult is a threshold held against what was measured.
type ThresholdResult struct {
	Threshold
	Value  float64 `json:"value"`
	NoData bool    `json:"no_data,omitempty"`
	Pass   bool    `json:"pass"`
	// Verdict says what was measured and, when it failed, by how much.
	Verdict string `json:"verdict"`
}

// Metrics a threshold may name: the latency percentiles (of 2xx answers),
// errors, delivered and lag (the p99 of the open loop's schedule lag).
var latencyMetrics = map[string]float64{"p50": 50, "p90": 90, "p99": 99, "p99.9": 99.9, "p99.99": 99.99, "max": 100, "mean": -1}

var thresholdSyntax = regexp.MustCompile(`^\s*(?:([a-z]+):)?([a-z0-9.]+)\s*(<=|>=|<|>)\s*([0-9.]+)\s*(%|[a-zµ]*)\s*$`)

// ParseThreshold reads one threshold expression.
func ParseThreshold(expr string) (Threshold, error) {
	m := thresholdSyntax.FindStringSubmatch(expr)
	if m == nil {
		return Threshold{}, fmt.Errorf("cannot parse threshold %q: want [dialect:]metric<value, e.g. p99<10ms, errors<0.1%%, delivered>=99.9%%, lag<5ms, wavy:p99<10ms", expr)
	}
	t := Threshold{Expr: strings.TrimSpace(expr), Dialect: m[1], Metric: m[2], Op: m[3]}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("cannot parse threshold %q: %w", expr, err)
	}
	unit := m[5]
	if t.Dialect != "" && (!validDialect(t.Dialect) || t.Dialect == "mix") {
		return Threshold{}, fmt.Errorf("threshold %q: unknown dialect %q", expr, t.Dialect)
	}
	_, latency := latencyMetrics[t.Metric]
	switch {
	case latency || t.Metric == "lag":
		d, err := time.ParseDuration(m[4] + unit)
		if err != nil || unit == "" {
			return Threshold{}, fmt.Errorf("threshold %q: %s needs a duration, e.g. 10ms", expr, t.Metric)
		}
		t.Limit = float64(d) / float64(time.Millisecond)
	case t.Metric == "errors" || t.Metric == "delivered":
		switch unit {
		case "%":
			t.Limit, t.Percent = v/100, true
		case "":
			if t.Metric == "delivered" {
				return Threshold{}, fmt.Errorf("threshold %q: delivered is a percentage, e.g. delivered>=99.9%%", expr)
			}
			t.Limit = v
		default:
			return Threshold{}, fmt.Errorf("threshold %q: %s takes a percentage or a count, not %q", expr, t.Metric, unit)
		}
	default:
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q; want p50, p90, p99, p99.9, p99.99, max, mean, errors, delivered or lag", expr, t.Metric)
	}
	return t, nil
}

// ReadThresholds reads a file of thresholds, one a line; blank lines and
// lines starting with # are skipped.
func ReadThresholds(path string) ([]Threshold, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read thresholds: %w", err)
	}
	defer f.Close()
	var out []Threshold
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := ParseThreshold(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read thresholds: %w", err)
	}
	return out, nil
}

// figures are what a threshold is checked against: one slice of a run.
type figures struct {
	requests, ok int64
	lat          Summary
	latQ         func(q float64) float64 // latency at quantile q (0..100), ms
	delivered    float64                 // ratio of accepted; NaN when not measured
	lagP99       float64                 // ms; NaN in a closed loop
}

func (t Threshold) check(f figures) ThresholdResult {
	r := ThresholdResult{Threshold: t}
	scope := ""
	if t.Dialect != "" {
		scope = t.Dialect + " "
	}
	switch {
	case t.Metric == "errors":
		errs := float64(f.requests - f.ok)
		r.Value = errs
		if t.Percent {
			if f.requests == 0 {
				r.NoData = true
			} else {
				r.Value = errs / float64(f.requests)
			}
		}
	case t.Metric == "delivered":
		r.Value, r.NoData = f.delivered, math.IsNaN(f.delivered)
	case t.Metric == "lag":
		r.Value, r.NoData = f.lagP99, math.IsNaN(f.lagP99)
	case t.Metric == "mean":
		r.Value, r.NoData = f.lat.MeanMs, f.lat.Count == 0
	default:
		r.NoData = f.lat.Count == 0
		if !r.NoData {
			r.Value = f.latQ(latencyMetrics[t.Metric])
		}
	}
	if r.NoData {
		why := map[string]string{"delivered": "not measured (-sink measures it overall, by dialect and by stage; -upstream overall)", "lag": "no schedule lag: closed loop"}[t.Metric]
		if why == "" {
			why = "no data: no answer to time"
		}
		r.Value = 0 // no NaN in the JSON report
		r.Verdict = fmt.Sprintf("%s%s: %s", scope, t.Metric, why)
		return r
	}
	switch t.Op {
	case "<":
		r.Pass = r.Value < t.Limit
	case "<=":
		r.Pass = r.Value <= t.Limit
	case ">":
		r.Pass = r.Value > t.Limit
	case ">=":
		r.Pass = r.Value >= t.Limit
	}
	r.Verdict = fmt.Sprintf("%s%s %s (limit %s%s)", scope, t.Metric, t.format(r.Value), t.Op, t.format(t.Limit))
	if !r.Pass {
		by := math.Abs(r.Value - t.Limit)
		side := "over"
		if t.Op[0] == '>' {
			side = "under"
		}
		r.Verdict += fmt.Sprintf(": %s by %s", side, t.format(by))
		if t.Limit != 0 && !t.Percent {
			r.Verdict += fmt.Sprintf(" (%.0f%%)", 100*by/t.Limit)
		}
	}
	return r
}

func (t Threshold) format(v float64) string {
	switch {
	case t.Percent:
		return strconv.FormatFloat(100*v, 'g', 4, 64) + "%"
	case t.Metric == "errors":
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return fmtMs(v)
}

// checkAll holds every threshold against the figures of its scope.
func checkAll(ts []Threshold, scope func(dialect string) figures) []ThresholdResult {
	out := make([]ThresholdResult, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.check(scope(t.Dialect)))
	}
	return out
}

// failed lists the verdicts of the thresholds that did not hold.
func failed(rs []ThresholdResult) []string {
	var out []string
	for _, r := range rs {
		if !r.Pass {
			out = append(out, r.Verdict)
		}
	}
	return out
}
