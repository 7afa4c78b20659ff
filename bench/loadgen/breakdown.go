package loadgen

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// finish adds to r what needs the whole run: the stages of a fixed profile,
// the knee of a capacity search, the breakdown by dialect, the error
// messages, the percentile curves and the thresholds' verdicts.
func (g *generator) finish(r *Report) {
	o := g.o
	for _, b := range g.stageBounds {
		g.stage(b.stage, b.seg, b.start, b.first, b.end, b.unsent, false)
	}
	switch o.kind() {
	case profileRamp, profileSteps:
		r.Stages = g.stages
	case profileSearch:
		r.Stages = g.stages
		r.Knee = knee(g.stages)
	}
	r.Percentiles = percentiles(g.col.lat)
	if r.Mode == "open" {
		r.ServicePercentiles = percentiles(g.col.svc)
	}
	nd := len(g.shapes)
	for d, sh := range g.shapes {
		name := sh.name
		c := g.col.lookup(cellKey{-1, d})
		if c == nil {
			continue
		}
		for k, n := range c.messages {
			r.ErrorMessages = append(r.ErrorMessages, ErrorMessage{Dialect: name, Status: k.Status, Message: k.Message, Count: n})
		}
		if nd == 1 {
			continue
		}
		dr := DialectReport{Dialect: name, Requests: c.done, OK: c.ok, Errors: c.done - c.ok, Latency: summarize(c.lat), Delivered: -1}
		for code, n := range c.status {
			if code < 200 || code >= 300 {
				if dr.ErrorsByStatus == nil {
					dr.ErrorsByStatus = map[string]int64{}
				}
				dr.ErrorsByStatus[strconv.Itoa(code)] = n
			}
		}
		if r.Mode == "open" {
			svc := summarize(c.svc)
			dr.Service = &svc
		}
		if g.sink != nil {
			dr.Delivered, dr.DeliveryLatency = g.sink.dialect(d)
		}
		r.Dialects = append(r.Dialects, dr)
	}
	sort.Slice(r.ErrorMessages, func(i, j int) bool {
		a, b := r.ErrorMessages[i], r.ErrorMessages[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Dialect+a.Message < b.Dialect+b.Message
	})
	if o.kind() == profileSearch {
		if r.Knee.Rate == 0 {
			r.Failed = len(r.Knee.Broke)
		}
		return
	}
	lag := math.NaN()
	if r.ScheduleLag != nil && r.ScheduleLag.Count > 0 {
		lag = r.ScheduleLag.P99Ms
	}
	r.Thresholds = checkAll(o.Thresholds, func(dialect string) figures {
		d := g.dialectIndex(dialect)
		if d == -2 {
			return figures{delivered: math.NaN(), lagP99: math.NaN()}
		}
		f := cellFigures(g.col.lookup(cellKey{-1, d}))
		f.lagP99 = lag
		switch {
		case r.Delivery != nil && d == -1:
			f.delivered = r.Delivery.Ratio
		case g.sink != nil && f.ok > 0:
			n, _ := g.sink.dialect(d)
			f.delivered = float64(n) / float64(f.ok)
		}
		return f
	})
	r.Failed = len(failed(r.Thresholds))
}

// percentileStep is the spacing of a percentile curve's points in decades of
// 1/(1-p): 20 points from p50 to p90, 20 more to p99, and so on.
const percentileStep = 0.05

// percentiles samples h's latency-by-percentile curve up to the last
// percentile its count can tell apart, and ends with its maximum.
func percentiles(h *hdrhistogram.Histogram) []Percentile {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	top := math.Log10(float64(n))
	var out []Percentile
	for x := 0.0; x < top; x += percentileStep {
		p := 100 * (1 - math.Pow(10, -x))
		out = append(out, Percentile{P: p, Ms: usToMs(h.ValueAtQuantile(p))})
	}
	return append(out, Percentile{P: 100 * (1 - math.Pow(10, -top)), Ms: usToMs(h.Max())})
}

// maxMessageLen bounds an error message kept from an answer.
const maxMessageLen = 160

// errorMessage is the text a failed answer carries: the vendors' message
// fields (Wavy's errorMessage, Laravel's message, FlowBot's and MessageFlow's
// error, native error.message), else the start of the body.
func errorMessage(body []byte) string {
	var v struct {
		ErrorMessage string          `json:"errorMessage"`
		Message      string          `json:"message"`
		Error        json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case v.ErrorMessage != "":
			msg = v.ErrorMessage
		case v.Message != "":
			msg = v.Message
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			msg = s
		case json.Unmarshal(v.Error, &nested) == nil && nested.Message != "":
			msg = nested.Message
		}
	}
	if msg == "" {
		msg = string(bytes.TrimSpace(body))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxMessageLen {
		msg = strings.ToValidUTF8(msg[:maxMessageLen], "") + "…"
	}
	return msg
}
