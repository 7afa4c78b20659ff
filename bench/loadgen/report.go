package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is the result of one run; it is also the JSON written by -out.
// Latencies count only 2xx answers; errors are counted, not timed, so a
// server shedding load with fast 429s cannot make its latency look better.
type Report struct {
	Target  string `json:"target"`
	Dialect string `json:"dialect"`
	Mode    string `json:"mode"` // "closed" or "open"
	// Profile is the arrival-rate profile: closed, constant, ramp, steps or search.
	Profile     string    `json:"profile"`
	ProfileDesc string    `json:"profile_desc"`
	Connections int       `json:"connections"`
	Rate        float64   `json:"rate,omitempty"` // requested, open loop only
	Size        int       `json:"size"`
	Started     time.Time `json:"started"`
	ElapsedSec  float64   `json:"elapsed_sec"`
	Interrupted bool      `json:"interrupted,omitempty"`

	Requests       int64            `json:"requests"` // finished, answered or failed
	OK             int64            `json:"ok"`       // 2xx answers
	Errors         int64            `json:"errors"`   // non-2xx answers and transport errors
	Unsent         int64            `json:"unsent,omitempty"`
	RequestsPerSec float64          `json:"requests_per_sec"`
	OKPerSec       float64          `json:"ok_per_sec"`
	Status         map[string]int64 `json:"status"` // every HTTP status seen
	ErrorsByStatus map[string]int64 `json:"errors_by_status,omitempty"`
	ErrorsByReason map[string]int64 `json:"errors_by_reason,omitempty"`

	// Latency is from the intended send time in open loop (corrected for
	// coordinated omission) and from the actual send time in closed loop.
	Latency Summary `json:"latency"`
	// Service is from the actual send time, open loop only: the gap to
	// Latency is the time requests waited because the server was behind.
	Service *Summary `json:"service,omitempty"`
	// ScheduleLag, open loop only, is how late the scheduler woke for the
	// requests it waited for: timer granularity, typically 0.1-1 ms. It is
	// the floor of the open loop's resolution; latencies near it say little.
	ScheduleLag *Summary  `json:"schedule_lag,omitempty"`
	Timeline    []Second  `json:"timeline"`
	Histogram   []Bin     `json:"histogram"`
	Delivery    *Delivery `json:"delivery,omitempty"`

	// Percentiles is the latency-by-percentile curve of Latency (and of
	// Service in an open loop), for the report's plot.
	Percentiles        []Percentile `json:"percentiles,omitempty"`
	ServicePercentiles []Percentile `json:"service_percentiles,omitempty"`
	// ErrorMessages are the failed answers by dialect, status and the
	// message the answer carried.
	ErrorMessages []ErrorMessage `json:"error_messages,omitempty"`
	// Dialects breaks a mix down by dialect.
	Dialects []DialectReport `json:"dialects,omitempty"`
	// Upstreams are what each simulated upstream (-upstream) received of this run.
	Upstreams []UpstreamReport `json:"upstreams,omitempty"`
	// Stages are the stages of a ramp, steps or capacity search profile.
	Stages []Stage `json:"stages,omitempty"`
	Knee   *Knee   `json:"knee,omitempty"`
	// Thresholds held against the run (a capacity search: against its knee's stage).
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Failed is how many thresholds did not hold.
	Failed int `json:"failed"`

	lat  *hdrhistogram.Histogram
	hlog []byte
}

// Percentile is one point of a latency-by-percentile curve.
type Percentile struct {
	P  float64 `json:"p"`
	Ms float64 `json:"ms"`
}

// ErrorMessage counts one kind of failed answer.
type ErrorMessage struct {
	Dialect string `json:"dialect"`
	Status  int    `json:"status"`
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// DialectReport is one dialect's share of a mix.
type DialectReport struct {
	Dialect        string           `json:"dialect"`
	Requests       int64            `json:"requests"`
	OK             int64            `json:"ok"`
	Errors         int64            `json:"errors"`
	ErrorsByStatus map[string]int64 `json:"errors_by_status,omitempty"`
	Latency        Summary          `json:"latency"`
	Service        *Summary         `json:"service,omitempty"`
	// Delivered counts this dialect's messages that reached the sink (-1: not measured).
	Delivered       int64   `json:"delivered"`
	DeliveryLatency Summary `json:"delivery_latency"`
}

// Summary of a latency distribution, in milliseconds.
type Summary struct {
	Count  int64   `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Second is one progress interval, normally one second long.
type Second struct {
	At       float64 `json:"at_sec"` // end of the interval, from the start
	Span     float64 `json:"span_sec"`
	Requests int64   `json:"requests"`
	OK       int64   `json:"ok"`
	Errors   int64   `json:"errors"`
	Rate     float64 `json:"rate"`
	Asked    float64 `json:"asked,omitempty"` // the profile's asked rate in this interval
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// Bin of the latency histogram: Count requests took at most LeMs and more
// than the previous bin's LeMs.
type Bin struct {
	LeMs  float64 `json:"le_ms"`
	Count int64   `json:"count"`
}

// CountAbove is how many 2xx requests took longer than d (0 for a report
// read back from JSON, which keeps only the binned histogram).
func (r *Report) CountAbove(d time.Duration) int64 {
	if r.lat == nil {
		return 0
	}
	limit := d.Microseconds()
	var n int64
	for _, b := range r.lat.Distribution() {
		if b.From > limit {
			n += b.Count
		}
	}
	return n
}

func summarize(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	return Summary{
		Count:  h.TotalCount(),
		MinMs:  usToMs(h.Min()),
		MeanMs: h.Mean() / 1000,
		P50Ms:  usToMs(h.ValueAtQuantile(50)),
		P90Ms:  usToMs(h.ValueAtQuantile(90)),
		P99Ms:  usToMs(h.ValueAtQuantile(99)),
		P999Ms: usToMs(h.ValueAtQuantile(99.9)),
		MaxMs:  usToMs(h.Max()),
	}
}

// logBins groups h into ten bins per decade, between its min and max.
func logBins(h *hdrhistogram.Histogram) []Bin {
	if h.TotalCount() == 0 {
		return nil
	}
	edge := func(i int) float64 { return math.Pow(10, float64(i)/10) } // µs
	lo := int(math.Floor(10 * math.Log10(float64(max(h.Min(), 1)))))
	hi := int(math.Ceil(10 * math.Log10(float64(h.Max())+1)))
	bins := make([]Bin, 0, hi-lo+1)
	for i := lo + 1; i <= hi; i++ {
		bins = append(bins, Bin{LeMs: edge(i) / 1000})
	}
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		i := sort.Search(len(bins), func(i int) bool { return bins[i].LeMs*1000 >= float64(b.To) })
		if i == len(bins) {
			i--
		}
		bins[i].Count += b.Count
	}
	return bins
}

func (g *generator) report(start, end time.Time, unsent int64, interrupted bool) *Report {
	c, o := g.col, g.o
	r := &Report{
		Target: o.Target, Dialect: o.Dialect, Mode: "closed", Profile: o.kind(), ProfileDesc: o.describe(), Connections: o.Connections,
		Size: o.Size, Started: start, ElapsedSec: end.Sub(start).Seconds(), Interrupted: interrupted,
		Requests: c.done, OK: c.ok, Errors: c.done - c.ok, Unsent: unsent,
		Status: map[string]int64{}, Latency: summarize(c.lat),
		Timeline: c.timeline, Histogram: logBins(c.lat), lat: c.lat,
	}
	if o.kind() != profileClosed {
		r.Mode, r.Rate = "open", o.Rate
		svc, lag := summarize(c.svc), summarize(g.lag)
		r.Service, r.ScheduleLag = &svc, &lag
	}
	if r.ElapsedSec > 0 {
		r.RequestsPerSec = float64(r.Requests) / r.ElapsedSec
		r.OKPerSec = float64(r.OK) / r.ElapsedSec
	}
	for code, n := range c.status {
		k := strconv.Itoa(code)
		r.Status[k] = n
		if code < 200 || code >= 300 {
			if r.ErrorsByStatus == nil {
				r.ErrorsByStatus = map[string]int64{}
			}
			r.ErrorsByStatus[k] = n
		}
	}
	if len(c.reasons) > 0 {
		r.ErrorsByReason = map[string]int64{}
		for k, n := range c.reasons {
			r.ErrorsByReason[k] = n
		}
	}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes a human summary.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "target %s  dialect %s  %s  connections %d", r.Target, r.Dialect, r.ProfileDesc, r.Connections)
	fmt.Fprintf(w, "  size %dB\n", r.Size)
	fmt.Fprintf(w, "requests %d in %.2fs = %.0f/s  ok %d (%.0f/s)  errors %d", r.Requests, r.ElapsedSec, r.RequestsPerSec, r.OK, r.OKPerSec, r.Errors)
	if r.Unsent > 0 {
		fmt.Fprintf(w, "  unsent %d", r.Unsent)
	}
	if r.Interrupted {
		fmt.Fprint(w, "  (interrupted)")
	}
	fmt.Fprintln(w)
	writeCounts(w, "  errors by status:", r.ErrorsByStatus)
	writeCounts(w, "  errors by reason:", r.ErrorsByReason)
	writeSummary(w, "latency", r.Latency)
	if r.Service != nil {
		writeSummary(w, "service", *r.Service)
		writeSummary(w, "sched lag", *r.ScheduleLag)
	}
	if d := r.Delivery; d != nil {
		fmt.Fprintf(w, "delivered %d of %d accepted (%.1f%%)  %.0f/s  duplicates %d  foreign %d\n",
			d.Unique, r.OK, 100*d.Ratio, d.PerSec, d.Duplicates, d.Foreign)
		fmt.Fprintf(w, "delivered during the load %d  %.0f/s\n", d.InLoad, d.InLoadPerSec)
		writeSummary(w, "delivery", d.Latency)
	}
	r.writeBreakdown(w)
}

func writeCounts(w io.Writer, title string, m map[string]int64) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprint(w, title)
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%d", k, m[k])
	}
	fmt.Fprintln(w)
}

func writeSummary(w io.Writer, name string, s Summary) {
	fmt.Fprintf(w, "%-9s p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)\n", name,
		fmtSummary(s, s.P50Ms), fmtSummary(s, s.P90Ms), fmtSummary(s, s.P99Ms), fmtSummary(s, s.P999Ms), fmtSummary(s, s.MaxMs), s.Count)
}

func fmtUs(us int64) string { return fmtMs(usToMs(us)) }

// fmtMs renders milliseconds with a unit that keeps three significant digits.
func fmtMs(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.0fµs", ms*1000)
	case ms < 1000:
		return fmt.Sprintf("%.3gms", ms)
	}
	return fmt.Sprintf("%.3gs", ms/1000)
}
