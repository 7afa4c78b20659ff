package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Dialects accepted by Options.Dialect: the vendor table's ingress dialects (see loadable),
// then mix.
var Dialects = append(loadable(), "mix")

// Options describe one load run. Zero values take the defaults in withDefaults.
type Options struct {
	// Target is the gateway's base URL, e.g. http://127.0.0.1:8080.
	Target string
	// Dialect is one of Dialects; mix rotates through the five request shapes.
	Dialect string
	// Connections caps open TCP connections; in closed loop it is also the
	// number of workers, each with one request outstanding.
	Connections int
	// Rate > 0 selects the open loop: requests are issued at fixed intended
	// times and latency is measured from those times.
	Rate float64
	// Duration bounds the run in time.
	Duration time.Duration
	// Requests bounds the run in count; 0 means Rate*Duration (open loop) or
	// maxRequests (closed loop).
	Requests int64
	// Timeout bounds each request, including waiting for a free connection.
	Timeout time.Duration
	// Size is the message text size in bytes, including the timing marker.
	Size int
	// Recipients is how many distinct destination numbers are used.
	Recipients int
	// Creds are the tenant credentials for each dialect; empty fields take
	// DefaultCredentials.
	Creds Credentials
	// AllowRemote permits a non-loopback Target or Sink (see checkLoopback).
	AllowRemote bool
	// Sink, when set, is a listen address for the upstream HTTP sink that
	// counts deliveries of this run's messages.
	Sink string
	// Drain is how long to wait after the load for deliveries to reach the sink.
	Drain time.Duration
	// Progress receives one line per second; nil is silent.
	Progress io.Writer

	// Ramp, Steps and Search select the other open-loop profiles (Rate is
	// the constant one): a linear ramp, a rate per StepDuration, or a
	// capacity search starting at Search requests/s, each stage StepDuration
	// long, raising the rate until a threshold breaks.
	Ramp         *Ramp
	Steps        []float64
	Search       float64
	StepDuration time.Duration
	// MaxRate caps every rate the profile asks for. It is required when the
	// target is neither loopback nor a vendor simulator.
	MaxRate float64
	// Thresholds decide whether the run passed; a capacity search needs some.
	Thresholds []Threshold
	// Upstreams are vendor simulators behind the gateway to ask, after the
	// load, what they received of the run.
	Upstreams []Upstream
}

// Credentials for the demo tenant; the defaults match the design's example config.
type Credentials struct {
	MFUUID      string
	MWAPIKey    string
	MWFrom      string
	WavyUser    string
	WavyToken   string
	FBClient    string
	FBKey       string
	FBFlow      string
	NativeToken string
}

// DefaultCredentials are the demo tenant's.
var DefaultCredentials = Credentials{
	MFUUID:      "6a708fea-a4d0-4976-a180-9f3bdd3de52e",
	MWAPIKey:    "mw-demo-key",
	MWFrom:      "908503080335",
	WavyUser:    "acme",
	WavyToken:   "wavy-demo-token",
	FBClient:    "aiflow_acme",
	FBKey:       "sk_demo",
	FBFlow:      "bench-flow",
	NativeToken: "native-demo-token",
}

const (
	defaultConnections = 64
	defaultDuration    = 10 * time.Second
	defaultTimeout     = 10 * time.Second
	defaultSize        = 100
	defaultRecipients  = 10000
	defaultDrain       = 10 * time.Second
	defaultStep        = 5 * time.Second
	// maxRequests is the count bound of a closed loop given none.
	maxRequests = 1 << 40
	// maxDuration guards against a typo such as -duration 10h meant as 10s.
	maxDuration = 24 * time.Hour
)

func (o Options) withDefaults() Options {
	if o.Dialect == "" {
		o.Dialect = "native"
	}
	if o.Connections <= 0 {
		o.Connections = defaultConnections
	}
	if o.Duration <= 0 {
		o.Duration = defaultDuration
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Size <= 0 {
		o.Size = defaultSize
	}
	if o.Recipients <= 0 {
		o.Recipients = defaultRecipients
	}
	if o.Drain <= 0 {
		o.Drain = defaultDrain
	}
	if o.StepDuration <= 0 {
		o.StepDuration = defaultStep
	}
	o.Creds = o.Creds.withDefaults()
	switch o.kind() {
	case profileRamp, profileSteps:
		o.Duration = 0
		for _, s := range o.segments() {
			o.Duration += s.dur
		}
	case profileSearch:
		o.Duration = 2 * maxSearchStages * o.StepDuration // the most a search can take
	}
	if o.Requests <= 0 {
		o.Requests = maxRequests
		if o.kind() == profileConstant {
			o.Requests = int64(o.Rate * o.Duration.Seconds())
		}
	}
	return o
}

func (o Options) validate() error {
	if !validDialect(o.Dialect) {
		return fmt.Errorf("unknown dialect %q; want one of %s", o.Dialect, strings.Join(Dialects, ", "))
	}
	if o.Duration > maxDuration {
		return fmt.Errorf("duration %s exceeds %s", o.Duration, maxDuration)
	}
	if o.Rate < 0 {
		return fmt.Errorf("rate must be positive, got %v", o.Rate)
	}
	profiles := 0
	for _, set := range []bool{o.Rate > 0, o.Ramp != nil, len(o.Steps) > 0, o.Search > 0} {
		if set {
			profiles++
		}
	}
	if profiles > 1 {
		return errors.New("give one profile: -rate, -ramp, -steps or -search")
	}
	if o.Search < 0 || o.MaxRate < 0 {
		return errors.New("-search and -max-rate must be positive")
	}
	if o.Search > 0 && len(o.Thresholds) == 0 {
		return errors.New("a capacity search needs at least one -threshold: it raises the rate until one breaks")
	}
	if o.kind() == profileConstant && o.Requests < 1 {
		return fmt.Errorf("rate %v for %s issues no request", o.Rate, o.Duration)
	}
	u, err := url.Parse(o.Target)
	if err != nil {
		return fmt.Errorf("cannot parse target: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("target %q: scheme must be http or https", o.Target)
	}
	if err := checkLoopback("target", u.Hostname(), o.AllowRemote); err != nil {
		return err
	}
	if o.Sink != "" {
		host, _, err := net.SplitHostPort(o.Sink)
		if err != nil {
			return fmt.Errorf("cannot parse sink address: %w", err)
		}
		if err := checkLoopback("sink", host, o.AllowRemote); err != nil {
			return err
		}
	}
	return nil
}

// checkRate enforces -max-rate. A target that is neither loopback nor a
// vendor simulator (which says so at /_sim/stats) may be a vendor's sandbox
// or a shared gateway forwarding to one: the run needs an explicit cap, and a
// closed loop, which has no rate, is refused there.
func checkRate(hc *fasthttp.HostClient, u *url.URL, o Options) error {
	peak := o.peak()
	if o.MaxRate > 0 && peak > o.MaxRate {
		return fmt.Errorf("the profile asks up to %g requests/s, above -max-rate %g", peak, o.MaxRate)
	}
	if checkLoopback("target", u.Hostname(), false) == nil || isSimulator(hc, o) {
		return nil
	}
	if o.MaxRate <= 0 {
		return fmt.Errorf("target %s is neither a loopback address nor a vendor simulator: give -max-rate, the most requests/s it may receive (its sandbox's limit)", u.Host)
	}
	if o.kind() == profileClosed {
		return fmt.Errorf("target %s is neither a loopback address nor a vendor simulator: a closed loop has no rate bound; give -rate, -ramp, -steps or -search (at most -max-rate %g)", u.Host, o.MaxRate)
	}
	return nil
}

// isSimulator asks the target whether it is one of our vendor simulators.
func isSimulator(hc *fasthttp.HostClient, o Options) bool {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(strings.TrimRight(o.Target, "/") + "/_sim/stats")
	if hc.DoTimeout(req, resp, o.Timeout) != nil || resp.StatusCode() != fasthttp.StatusOK {
		return false
	}
	var st map[string]int64
	if json.Unmarshal(resp.Body(), &st) != nil {
		return false
	}
	_, ok := st["injected"]
	return ok
}

func validDialect(d string) bool {
	for _, v := range Dialects {
		if v == d {
			return true
		}
	}
	return false
}

// checkLoopback refuses hosts other than localhost and loopback addresses.
// A load generator is a denial-of-service tool: a vendor base URL pasted from
// the specs, or a shared gateway, would receive thousands of real (billable)
// messages per second. Remote targets need an explicit -allow-remote.
// Names are not resolved: "localhost" is the only name accepted.
func checkLoopback(what, host string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	if host == "" {
		return fmt.Errorf("%s: a host is required", what)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s %q is not a loopback address; pass -allow-remote to permit it", what, host)
}

func (c Credentials) withDefaults() Credentials {
	d := DefaultCredentials
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&c.MFUUID, d.MFUUID}, {&c.MWAPIKey, d.MWAPIKey}, {&c.MWFrom, d.MWFrom},
		{&c.WavyUser, d.WavyUser}, {&c.WavyToken, d.WavyToken}, {&c.FBClient, d.FBClient},
		{&c.FBKey, d.FBKey}, {&c.FBFlow, d.FBFlow}, {&c.NativeToken, d.NativeToken},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
	return c
}
