package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Profiles of the open loop's arrival rate.
const (
	profileClosed   = "closed"
	profileConstant = "constant"
	profileRamp     = "ramp"
	profileSteps    = "steps"
	profileSearch   = "search"
)

const (
	// rampStages is how many stages a ramp is cut into for its curve of
	// latency against the asked rate.
	rampStages = 10
	// searchGrowth multiplies the rate after each stage that held every
	// threshold, until one breaks.
	searchGrowth = 2
	// searchPrecision ends the bisection between the highest rate that held
	// and the lowest that broke once they are this close (relative).
	searchPrecision = 0.04
	// maxSearchStages bounds a capacity search in time.
	maxSearchStages = 24
	// searchCeiling bounds the raising of a search with no -max-rate.
	searchCeiling = 1e6
)

// Ramp is a linear change of the asked rate.
type Ramp struct {
	From, To float64
	Over     time.Duration
}

// ParseRamp reads "FROM:TO:OVER", e.g. "100:2000:30s".
func ParseRamp(s string) (*Ramp, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("cannot parse ramp %q: want FROM:TO:OVER, e.g. 100:2000:30s", s)
	}
	from, err1 := strconv.ParseFloat(parts[0], 64)
	to, err2 := strconv.ParseFloat(parts[1], 64)
	over, err3 := time.ParseDuration(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || from < 0 || to < 0 || from+to == 0 || over <= 0 {
		return nil, fmt.Errorf("cannot parse ramp %q: want FROM:TO:OVER with rates >= 0 (not both 0) and a positive duration", s)
	}
	return &Ramp{From: from, To: to, Over: over}, nil
}

// ParseRates reads a comma-separated list of positive rates, e.g. "100,200,400".
func ParseRates(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("cannot parse rates %q: want positive numbers separated by commas", s)
		}
		out = append(out, r)
	}
	return out, nil
}

// segment is one stage of the open loop: the asked rate goes linearly from
// `from` to `to` over dur.
type segment struct {
	from, to float64
	dur      time.Duration
}

// due is how many requests are due by offset d into the segment.
func (s segment) due(d time.Duration) float64 {
	t := min(max(d.Seconds(), 0), s.dur.Seconds())
	return s.from*t + (s.to-s.from)/(2*s.dur.Seconds())*t*t
}

// total is how many requests the segment issues: those due before its end.
func (s segment) total() int64 { return int64(math.Ceil(s.due(s.dur) - 1e-9)) }

// offset is when request k of the segment is due: the time at which due reaches k.
func (s segment) offset(k int64) time.Duration {
	a, b := s.from, (s.to-s.from)/s.dur.Seconds()
	var t float64
	if math.Abs(b) < 1e-12 {
		t = float64(k) / a
	} else {
		t = (-a + math.Sqrt(a*a+2*b*float64(k))) / b
	}
	return time.Duration(t * 1e9)
}

func (s segment) mean() float64 { return (s.from + s.to) / 2 }

// kind names the profile o selects.
func (o Options) kind() string {
	switch {
	case o.Search > 0:
		return profileSearch
	case o.Ramp != nil:
		return profileRamp
	case len(o.Steps) > 0:
		return profileSteps
	case o.Rate > 0:
		return profileConstant
	}
	return profileClosed
}

// segments are the fixed stages of a constant, ramp or steps profile.
func (o Options) segments() []segment {
	switch o.kind() {
	case profileConstant:
		return []segment{{o.Rate, o.Rate, o.Duration}}
	case profileRamp:
		r := o.Ramp
		n := min(rampStages, max(1, int(r.Over/time.Second)))
		out := make([]segment, n)
		for i := range out {
			f := func(i int) float64 { return r.From + (r.To-r.From)*float64(i)/float64(n) }
			out[i] = segment{f(i), f(i + 1), r.Over / time.Duration(n)}
		}
		return out
	case profileSteps:
		out := make([]segment, len(o.Steps))
		for i, r := range o.Steps {
			out[i] = segment{r, r, o.StepDuration}
		}
		return out
	}
	return nil
}

// peak is the highest rate the profile may ask for; 0 for a closed loop.
func (o Options) peak() float64 {
	switch o.kind() {
	case profileSearch:
		if o.MaxRate > 0 {
			return o.MaxRate
		}
		return searchCeiling
	case profileClosed:
		return 0
	}
	var p float64
	for _, s := range o.segments() {
		p = max(p, s.from, s.to)
	}
	return p
}

// describe names the profile for the reports.
func (o Options) describe() string {
	switch o.kind() {
	case profileConstant:
		return fmt.Sprintf("constant %g/s for %s", o.Rate, o.Duration)
	case profileRamp:
		return fmt.Sprintf("ramp %g/s to %g/s over %s", o.Ramp.From, o.Ramp.To, o.Ramp.Over)
	case profileSteps:
		return fmt.Sprintf("steps %s/s, %s each", joinRates(o.Steps), o.StepDuration)
	case profileSearch:
		return fmt.Sprintf("capacity search from %g/s, %s a stage", o.Search, o.StepDuration)
	}
	return "closed loop"
}

func joinRates(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// schedule remembers when each stage started, to tell the asked rate of any
// second of the run.
type schedule struct {
	mu     sync.Mutex
	starts []time.Time
	segs   []segment
}

func (s *schedule) add(start time.Time, seg segment) {
	s.mu.Lock()
	s.starts = append(s.starts, start)
	s.segs = append(s.segs, seg)
	s.mu.Unlock()
}

// asked is how many requests were due between from and to.
func (s *schedule) asked(from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n float64
	for i, seg := range s.segs {
		n += seg.due(to.Sub(s.starts[i])) - seg.due(from.Sub(s.starts[i]))
	}
	return n
}

// searcher decides a capacity search's next rate from the last stage's verdict.
// A rate that breaks is tried once more before it counts as broken: a stall
// of the machine (another process, a GC pause of the generator) can break one
// stage, but the target's own limit breaks it every time.
type searcher struct {
	start, ceiling float64
	good, bad      float64 // highest rate that held, lowest that broke; 0 for none yet
	stages         int
	retried        bool // the last stage was a retry
}

// next returns the rate of the next stage, or false when the search is done.
func (s *searcher) next(last float64, held bool) (float64, bool) {
	if s.stages == 0 {
		s.stages++
		return min(s.start, s.ceiling), true
	}
	if !held && !s.retried && s.stages < maxSearchStages {
		s.stages++
		s.retried = true
		return last, true
	}
	s.retried = false
	if held {
		s.good = max(s.good, last)
	} else if s.bad == 0 || last < s.bad {
		s.bad = last
	}
	if s.stages >= maxSearchStages {
		return 0, false
	}
	s.stages++
	switch {
	case s.bad == 0: // still raising
		if last >= s.ceiling {
			return 0, false
		}
		return min(last*searchGrowth, s.ceiling), true
	case s.good == 0: // the first rates broke: go down
		r := last / searchGrowth
		if r < s.start/64 {
			return 0, false
		}
		return r, true
	case (s.bad-s.good)/s.good <= searchPrecision:
		return 0, false
	}
	return (s.good + s.bad) / 2, true
}
