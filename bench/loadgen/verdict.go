package loadgen

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// verdict says why the run failed, or "" when it passed: a threshold did not
// hold, a capacity search found no rate that held them all, or, with no
// threshold given, not one request succeeded.
func (r *Report) verdict() string {
	switch {
	case r.Knee != nil && r.Knee.Rate == 0:
		return "no rate held every threshold: " + strings.Join(r.Knee.Broke, "; ")
	case r.Failed > 0:
		return fmt.Sprintf("%d of %d thresholds failed: %s", r.Failed, len(r.Thresholds), strings.Join(failed(r.Thresholds), "; "))
	case len(r.Thresholds) == 0 && r.Knee == nil && r.Requests > 0 && r.OK == 0:
		return fmt.Sprintf("every one of %d requests failed", r.Requests)
	}
	return ""
}

// WriteHlog writes the run's per-second latency histograms as an
// HdrHistogram log; a report read back from JSON has none.
func (r *Report) WriteHlog(w io.Writer) error {
	if len(r.hlog) == 0 {
		return errors.New("no histogram log: the report was not measured by this process")
	}
	_, err := w.Write(r.hlog)
	return err
}

// writeBreakdown writes the thresholds, stages, dialects, upstreams and
// error messages of the text summary.
func (r *Report) writeBreakdown(w io.Writer) {
	for _, t := range r.Thresholds {
		mark := "ok  "
		if !t.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "threshold %s %-22s %s\n", mark, t.Expr, t.Verdict)
	}
	if len(r.Stages) > 0 {
		fmt.Fprintf(w, "%-6s %9s %9s %9s %11s %9s %9s %7s  %s\n", "stage", "asked/s", "sent/s", "ok/s", "delivered/s", "p50", "p99", "errors", "thresholds")
		for _, s := range r.Stages {
			del := "n/a"
			if s.Delivered >= 0 {
				del = fmt.Sprintf("%.0f", s.DeliveredPerSec)
			}
			held := "held"
			if !s.Held {
				held = "broke: " + strings.Join(s.Broke, "; ")
			}
			if r.Profile != profileSearch && len(r.Thresholds) == 0 {
				held = ""
			}
			fmt.Fprintf(w, "%-6d %9.0f %9.0f %9.0f %11s %9s %9s %7d  %s\n", s.Index, s.Asked, s.SentPerSec, s.OKPerSec, del,
				fmtSummary(s.Latency, s.Latency.P50Ms), fmtSummary(s.Latency, s.Latency.P99Ms), s.Errors, held)
		}
	}
	if k := r.Knee; k != nil {
		switch {
		case k.Rate == 0:
			fmt.Fprintf(w, "knee: none: already %.0f/s broke: %s\n", k.BrokeAt, strings.Join(k.Broke, "; "))
		case k.BrokeAt == 0:
			fmt.Fprintf(w, "knee: every threshold held up to %.0f/s, the highest rate tried (raise -max-rate to go on)\n", k.Rate)
		default:
			fmt.Fprintf(w, "knee: %.0f/s held every threshold; %.0f/s broke: %s\n", k.Rate, k.BrokeAt, strings.Join(k.Broke, "; "))
		}
	}
	for _, d := range r.Dialects {
		fmt.Fprintf(w, "dialect %-11s requests %d  ok %d  errors %d  p50 %s  p99 %s", d.Dialect, d.Requests, d.OK, d.Errors,
			fmtSummary(d.Latency, d.Latency.P50Ms), fmtSummary(d.Latency, d.Latency.P99Ms))
		if d.Delivered >= 0 {
			fmt.Fprintf(w, "  delivered %d  delivery p99 %s", d.Delivered, fmtSummary(d.DeliveryLatency, d.DeliveryLatency.P99Ms))
		}
		fmt.Fprintln(w)
	}
	for _, u := range r.Upstreams {
		if u.Err != "" {
			fmt.Fprintf(w, "upstream %s (%s): cannot ask: %s\n", u.Name, u.URL, u.Err)
			continue
		}
		fmt.Fprintf(w, "upstream %-10s messages %d  errors %d  to its answer p50 %s p99 %s  its own time p50 %s p99 %s\n",
			u.Name, u.Messages, u.Errors, fmtSummary(u.Latency, u.Latency.P50Ms), fmtSummary(u.Latency, u.Latency.P99Ms),
			fmtSummary(u.Service, u.Service.P50Ms), fmtSummary(u.Service, u.Service.P99Ms))
	}
	for _, e := range r.ErrorMessages {
		fmt.Fprintf(w, "  %d× %s HTTP %d: %s\n", e.Count, e.Dialect, e.Status, e.Message)
	}
}

// fmtSummary renders one figure of s, or "n/a" when s timed nothing.
func fmtSummary(s Summary, ms float64) string {
	if s.Count == 0 {
		return "n/a"
	}
	return fmtMs(ms)
}
