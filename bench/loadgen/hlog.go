package loadgen

import (
	"bytes"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// hlog keeps one latency histogram per second in HdrHistogram's log format
// (.hlog), for HdrHistogram's own tools (HistogramLogAnalyzer,
// HistogramLogProcessor). Values are written in nanoseconds, the unit those
// tools assume by default.
type hlog struct {
	buf   bytes.Buffer
	w     *hdrhistogram.HistogramLogWriter
	start time.Time
}

// hlogMaxNs is the top of the nanosecond histograms: the recorder's top.
const hlogMaxNs = histMaxUs * 1000

func newHlog(start time.Time) *hlog {
	h := &hlog{start: start}
	h.w = hdrhistogram.NewHistogramLogWriter(&h.buf)
	_ = h.w.OutputLogFormatVersion() // a bytes.Buffer does not fail
	_ = h.w.OutputComment("[switchboard bench: latency of 2xx answers from the intended send time, one interval a second]")
	_ = h.w.OutputStartTime(start.UnixMilli())
	_ = h.w.OutputBaseTime(start.UnixMilli())
	h.w.SetBaseTime(start.UnixMilli())
	_ = h.w.OutputLegend()
	return h
}

// interval appends the histogram of one interval, given in microseconds.
func (h *hlog) interval(from, to time.Time, us *hdrhistogram.Histogram) {
	ns := hdrhistogram.New(1000, hlogMaxNs, histDigits)
	for _, b := range us.Distribution() {
		if b.Count > 0 {
			_ = ns.RecordValues(b.To*1000, b.Count)
		}
	}
	ns.SetStartTimeMs(from.UnixMilli())
	ns.SetEndTimeMs(to.UnixMilli())
	_ = h.w.OutputIntervalHistogram(ns)
}

func (h *hlog) bytes() []byte { return h.buf.Bytes() }
