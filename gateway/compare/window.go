package compare

import (
	"sort"
	"time"
)

// Figures are the counts and times of one series, or of several summed, over a window.
type Figures struct {
	Route, Upstream string
	Arm             Arm

	Accepted, Refused, Retries, Failovers, Dead uint64
	// Delivered, Read and Failed count receipts of the messages accepted in the window.
	Delivered, Read, Failed uint64

	times   [nTimes]hist
	reasons map[string]uint64
}

// Attempts is every answer the upstream gave: accepted, refused or retry.
func (f *Figures) Attempts() uint64 { return f.Accepted + f.Refused + f.Retries }

// NoReceipt is the accepted messages with neither a delivery nor a failure receipt yet.
func (f *Figures) NoReceipt() uint64 {
	done := f.Delivered + f.Failed
	if done >= f.Accepted {
		return 0
	}
	return f.Accepted - done
}

// Time is one of the figures' times.
type Time int

// The times, for Percentile.
const (
	TimeAcceptance Time = tAcceptance
	TimeDelivery   Time = tDelivery
	TimeRead       Time = tRead
)

// Percentile is the q-th quantile (0 < q <= 1) of a time, 0 with no sample.
func (f *Figures) Percentile(t Time, q float64) time.Duration { return f.times[t].quantile(q) }

// Samples is how many values a time has.
func (f *Figures) Samples(t Time) uint64 { return f.times[t].count() }

// Reason is a failure reason with its count.
type Reason struct {
	Text  string
	Count uint64
}

// TopReasons returns the n most frequent failure reasons (refusals, retries, dead letters,
// failures after acceptance), most frequent first.
func (f *Figures) TopReasons(n int) []Reason {
	out := make([]Reason, 0, len(f.reasons))
	for k, c := range f.reasons {
		out = append(out, Reason{k, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Text < out[j].Text
	})
	return out[:min(n, len(out))]
}

func (f *Figures) add(m *minute) {
	f.Accepted += m.n[cAccepted]
	f.Refused += m.n[cRefused]
	f.Retries += m.n[cRetries]
	f.Failovers += m.n[cFailovers]
	f.Dead += m.n[cDead]
	f.Delivered += m.n[cDelivered]
	f.Read += m.n[cRead]
	f.Failed += m.n[cFailed]
	for i, h := range m.times {
		if h != nil {
			f.times[i].merge(h)
		}
	}
	for k, c := range m.reasons {
		if f.reasons == nil {
			f.reasons = map[string]uint64{}
		}
		f.reasons[k] += c
	}
}

// merge adds o into f.
func (f *Figures) merge(o *Figures) {
	f.Accepted += o.Accepted
	f.Refused += o.Refused
	f.Retries += o.Retries
	f.Failovers += o.Failovers
	f.Dead += o.Dead
	f.Delivered += o.Delivered
	f.Read += o.Read
	f.Failed += o.Failed
	for i := range o.times {
		f.times[i].merge(&o.times[i])
	}
	for k, c := range o.reasons {
		if f.reasons == nil {
			f.reasons = map[string]uint64{}
		}
		f.reasons[k] += c
	}
}

// Window returns the figures of every series over the last d, in upstream, route and arm
// order; series with nothing in the window are left out.
func (r *Recorder) Window(d time.Duration) []Figures {
	now := r.now().Unix() / 60
	from := now - minutesIn(d) + 1
	var out []Figures
	for _, s := range r.all() {
		f := Figures{Route: s.key.Route, Upstream: s.key.Upstream, Arm: s.key.Arm}
		s.mu.Lock()
		for t := from; t <= now; t++ {
			if m := s.ring[t%ringMinutes]; m != nil && m.at == t {
				f.add(m)
			}
		}
		s.mu.Unlock()
		if f.Attempts()+f.Failovers+f.Dead > 0 {
			out = append(out, f)
		}
	}
	return out
}

// Timeline returns, per upstream (all routes and arms summed), the figures of each step of
// the last d, oldest first.
func (r *Recorder) Timeline(d, step time.Duration) map[string][]Figures {
	now := r.now().Unix() / 60
	n, per := minutesIn(d), minutesIn(step)
	steps := int((n + per - 1) / per)
	from := now - int64(steps)*per + 1
	out := map[string][]Figures{}
	for _, s := range r.all() {
		line := out[s.key.Upstream]
		if line == nil {
			line = make([]Figures, steps)
			out[s.key.Upstream] = line
		}
		s.mu.Lock()
		for t := from; t <= now; t++ {
			if m := s.ring[t%ringMinutes]; m != nil && m.at == t {
				line[(t-from)/per].add(m)
			}
		}
		s.mu.Unlock()
	}
	return out
}

// ByUpstream sums figures per upstream, over routes and arms, in upstream order.
func ByUpstream(fs []Figures) []Figures {
	var out []Figures
	for i := range fs {
		if len(out) == 0 || out[len(out)-1].Upstream != fs[i].Upstream {
			out = append(out, Figures{Upstream: fs[i].Upstream})
		}
		out[len(out)-1].merge(&fs[i])
	}
	return out
}

func minutesIn(d time.Duration) int64 {
	return min(max(int64((d+time.Minute-1)/time.Minute), 1), ringMinutes)
}
