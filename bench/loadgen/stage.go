package loadgen

import (
	"context"
	"math"
	"time"
)

// Stage is one stretch of an arrival-rate profile: a step, a slice of a ramp,
// or one rate tried by a capacity search.
type Stage struct {
	Index       int     `json:"index"`
	AtSec       float64 `json:"at_sec"` // start, from the start of the run
	DurationSec float64 `json:"duration_sec"`
	Asked       float64 `json:"asked"` // mean asked rate, requests/s
	Requests    int64   `json:"requests"`
	OK          int64   `json:"ok"`
	Errors      int64   `json:"errors"`
	Unsent      int64   `json:"unsent,omitempty"`
	SentPerSec  float64 `json:"sent_per_sec"`
	OKPerSec    float64 `json:"ok_per_sec"`
	// Delivered counts this stage's messages that reached the sink or the
	// simulated upstreams (-1 when delivery is not measured).
	Delivered       int64   `json:"delivered"`
	DeliveredPerSec float64 `json:"delivered_per_sec"`
	Latency         Summary `json:"latency"`
	LagP99Ms        float64 `json:"lag_p99_ms,omitempty"` // capacity search only
	// Held says every threshold held in this stage; Broke lists those that did not.
	Held  bool     `json:"held"`
	Broke []string `json:"broke,omitempty"`
}

// Knee is the result of a capacity search.
type Knee struct {
	// Rate is the highest asked rate at which every threshold held (0: none did).
	Rate float64 `json:"rate"`
	// BrokeAt is the lowest rate tried at which a threshold broke (0: none did,
	// the search stopped at its ceiling), and Broke what broke there.
	BrokeAt float64  `json:"broke_at"`
	Broke   []string `json:"broke,omitempty"`
}

// stageBound is where a stage of a fixed profile sits in the run, for its
// figures once the run is over.
type stageBound struct {
	stage  int
	seg    segment
	start  time.Time
	first  int64 // first sequence number
	end    int64 // one past the last
	unsent int64
}

// stageDeliveryWait bounds how long a capacity search waits after a stage for
// its deliveries, when delivery is measured: at most one stage's duration.
func (g *generator) stageDeliveryWait() time.Duration { return min(g.o.Drain, g.o.StepDuration) }

// stage works out a stage's figures and holds the thresholds against them.
// For a capacity search (live) it first waits for the stage's deliveries and
// takes the stage's schedule lag.
func (g *generator) stage(index int, seg segment, start time.Time, first, end, unsent int64, live bool) *Stage {
	st := Stage{Index: index, AtSec: start.Sub(g.start).Seconds(), DurationSec: seg.dur.Seconds(), Asked: seg.mean(),
		Unsent: unsent, Delivered: -1}
	if c := g.col.lookup(cellKey{index, -1}); c != nil {
		st.Requests, st.OK, st.Errors, st.Latency = c.done, c.ok, c.done-c.ok, summarize(c.lat)
	}
	st.SentPerSec = float64(st.Requests) / st.DurationSec
	st.OKPerSec = float64(st.OK) / st.DurationSec
	lag := math.NaN()
	if live {
		lag = usToMs(g.stageLag.ValueAtQuantile(99))
		st.LagP99Ms = lag
		g.stageLag.Reset()
	}
	nd := len(g.shapes)
	if g.sink != nil {
		if live {
			g.sink.awaitRange(context.Background(), first, end, st.OK, g.stageDeliveryWait())
		}
		st.Delivered = g.sink.countRange(first, end, nd, -1)
		st.DeliveredPerSec = float64(st.Delivered) / st.DurationSec
	}
	st.Broke = failed(checkAll(g.o.Thresholds, func(dialect string) figures {
		d := g.dialectIndex(dialect)
		if d == -2 {
			return figures{delivered: math.NaN(), lagP99: math.NaN()}
		}
		f := cellFigures(g.col.lookup(cellKey{index, d}))
		f.lagP99, f.delivered = lag, math.NaN()
		if g.sink != nil && f.ok > 0 {
			f.delivered = float64(g.sink.countRange(first, end, nd, d)) / float64(f.ok)
		}
		return f
	}))
	if unsent > 0 {
		st.Broke = append(st.Broke, "unsent: the generator could not send every request of the stage within -timeout")
	}
	st.Held = len(st.Broke) == 0
	g.stages = append(g.stages, st)
	return &g.stages[len(g.stages)-1]
}

// dialectIndex is the shape index of a dialect, -1 for every dialect ("")
// and -2 for a dialect this run does not send.
func (g *generator) dialectIndex(d string) int {
	if d == "" {
		return -1
	}
	for i, s := range g.shapes {
		if s.name == d {
			return i
		}
	}
	return -2
}

// cellFigures are a cell's figures for a threshold; a nil cell has none.
func cellFigures(c *cell) figures {
	if c == nil {
		return figures{latQ: func(float64) float64 { return 0 }, delivered: math.NaN(), lagP99: math.NaN()}
	}
	return figures{requests: c.done, ok: c.ok, lat: summarize(c.lat),
		latQ:      func(q float64) float64 { return usToMs(c.lat.ValueAtQuantile(q)) },
		delivered: math.NaN(), lagP99: math.NaN()}
}

// knee reads a capacity search's stages. A rate held when any of its stages
// held: a broken stage retried at the same rate that then held was noise.
func knee(stages []Stage) *Knee {
	held := map[float64]bool{}
	for _, s := range stages {
		held[s.Asked] = held[s.Asked] || s.Held
	}
	k := &Knee{}
	for _, s := range stages {
		switch {
		case held[s.Asked]:
			k.Rate = max(k.Rate, s.Asked)
		case k.BrokeAt == 0 || s.Asked <= k.BrokeAt:
			k.BrokeAt, k.Broke = s.Asked, s.Broke
		}
	}
	return k
}
