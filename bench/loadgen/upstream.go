package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Upstream is a vendor simulator (switchboard mock) behind the gateway. After
// the load the generator asks it what it received of this run, so a run
// through several upstreams tells which vendor slowed it.
type Upstream struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// ParseUpstream reads NAME=URL, e.g. wavy=http://127.0.0.1:9001.
func ParseUpstream(s string) (Upstream, error) {
	name, u, ok := strings.Cut(s, "=")
	if pu, err := url.Parse(u); !ok || name == "" || err != nil || pu.Host == "" {
		return Upstream{}, fmt.Errorf("cannot parse upstream %q: want NAME=URL of a simulator, e.g. wavy=http://127.0.0.1:9001", s)
	}
	return Upstream{Name: name, URL: strings.TrimRight(u, "/")}, nil
}

// UpstreamReport is what one simulated upstream received of the run.
type UpstreamReport struct {
	Upstream
	// Messages is how many of the run's messages it accepted; Errors how many
	// of the run's requests it answered with an error (injected or refused).
	Messages int64 `json:"messages"`
	Errors   int64 `json:"errors"`
	// Latency runs from the generator's send to the simulator's answer: the
	// whole path to the vendor's acceptance. Service is the simulator's own
	// part, from the request's arrival to its answer.
	Latency       Summary          `json:"latency"`
	Service       Summary          `json:"service"`
	ErrorMessages map[string]int64 `json:"error_messages,omitempty"`
	// Err says why the simulator could not be asked.
	Err string `json:"err,omitempty"`
}

// upstreamWatch asks the simulators for the run's figures.
type upstreamWatch struct {
	u       []Upstream
	run     string
	timeout time.Duration
	last    []UpstreamReport
}

func newUpstreamWatch(u []Upstream, run string, timeout time.Duration) *upstreamWatch {
	return &upstreamWatch{u: u, run: run, timeout: timeout}
}

// poll asks every simulator and returns how many of the run's messages they
// accepted in all.
func (w *upstreamWatch) poll() int64 {
	w.last = w.last[:0]
	var n int64
	for _, u := range w.u {
		r := UpstreamReport{Upstream: u}
		code, body, err := fasthttp.GetTimeout(nil, u.URL+"/_sim/runs/"+w.run, w.timeout)
		switch {
		case err != nil:
			r.Err = err.Error()
		case code != fasthttp.StatusOK:
			r.Err = fmt.Sprintf("status %d: %.200s", code, body)
		default:
			if err := r.decode(body); err != nil {
				r.Err = err.Error()
			}
		}
		n += r.Messages
		w.last = append(w.last, r)
	}
	return n
}

// decode reads a simulator's /_sim/runs answer: counts, and the latencies as
// HdrHistogram's compressed histograms in µs.
func (r *UpstreamReport) decode(body []byte) error {
	var ans struct {
		Messages      int64            `json:"messages"`
		Errors        int64            `json:"errors"`
		LatencyHist   string           `json:"latency_hist"`
		ServiceHist   string           `json:"service_hist"`
		ErrorMessages map[string]int64 `json:"error_messages"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("cannot parse the simulator's answer: %w", err)
	}
	lat, err := hdrhistogram.Decode([]byte(ans.LatencyHist))
	if err != nil {
		return fmt.Errorf("cannot decode the simulator's latency histogram: %w", err)
	}
	svc, err := hdrhistogram.Decode([]byte(ans.ServiceHist))
	if err != nil {
		return fmt.Errorf("cannot decode the simulator's service histogram: %w", err)
	}
	r.Messages, r.Errors, r.ErrorMessages = ans.Messages, ans.Errors, ans.ErrorMessages
	r.Latency, r.Service = summarize(lat), summarize(svc)
	return nil
}

func (w *upstreamWatch) reports() []UpstreamReport {
	if len(w.u) == 0 {
		return nil
	}
	return append([]UpstreamReport(nil), w.last...)
}

// upstreamPoll is how often the drain asks the simulators again.
const upstreamPoll = 100 * time.Millisecond

// awaitDelivery waits until want messages have reached the sink and the
// simulated upstreams together, drain has passed or ctx is done.
func awaitDelivery(ctx context.Context, s *Sink, w *upstreamWatch, want int64, drain time.Duration, start time.Time) *Delivery {
	poll := sinkPoll
	if len(w.u) > 0 {
		poll = upstreamPoll
	}
	deadline := time.Now().Add(drain)
	t := time.NewTicker(poll)
	defer t.Stop()
	var ups int64
	for {
		var n int64
		if s != nil {
			n = s.Snapshot(0, start).Unique
		}
		if len(w.u) > 0 {
			ups = w.poll()
		}
		if n+ups >= want || !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		<-t.C
	}
	var d Delivery
	if s != nil {
		d = s.Snapshot(want, start)
	}
	d.Unique += ups
	if want > 0 {
		d.Ratio = float64(d.Unique) / float64(want)
	}
	return &d
}
