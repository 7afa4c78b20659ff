package dispatch

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metrics"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/compare"
)

// Reasons an upstream did not attempt a message. None of them is charged to the message.
var (
	errOpen     = errors.New("circuit breaker open")
	errBusy     = errors.New("upstream busy")
	errStopping = errors.New("dispatcher stopping")
	// errPaused: an operator paused the upstream; handled like errOpen, counted apart.
	errPaused = errors.New("upstream paused")
)

// What a request's outcome means to the breaker: errPermanent is the message's fault and
// counts as a success; errNotSent (the request never went out) is not counted at all.
var (
	errRetry     = errors.New("retry")
	errPermanent = errors.New("permanent")
	errNotSent   = errors.New("not sent")
)

// upstream is one provider at run time: its adapter, connection pool, breaker and limits.
type upstream struct {
	name, dialect string
	// conf is the settings it was built from (Settings.Upstreams): a reload keeps the
	// upstream only when they are unchanged.
	conf config.Upstream
	// paused is set by Dispatcher.Pause; retired is closed when a reload drops the upstream.
	paused  atomic.Bool
	retired chan struct{}
	out     adapters.Outbound // nil for a local upstream
	local   adapters.Local
	token   *tokenCache // set when out is an adapters.Authenticator
	batch   *batcher    // set when out is an adapters.BulkOutbound
	caps    need
	maxText int
	// splits: the upstream sends a text over maxText in parts itself (adapters.Caps.SplitText).
	splits bool
	// textLen is the vendor's own count of a text (adapters.TextCounter); nil: code points.
	textLen func(string) int

	client  *fasthttp.HostClient
	timeout time.Duration
	conns   chan struct{} // one token per concurrent request
	limiter *limiter      // nil: no rate cap

	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
	openFor  time.Duration
	openedAt atomic.Int64 // unix nanoseconds of the last trip

	inFlight atomic.Int64
	primary  counters
	shadow   counters
	latency  *metrics.PrometheusHistogram
	state    *metrics.Gauge
	// unread counts answers taken as sent whose body could not be read (answer.go).
	unread *metrics.Counter
	log    *slog.Logger
}

func makeUpstream(cfg config.Upstream, agent string, log *slog.Logger, vendors []adapters.Vendor) (*upstream, error) {
	out, local, err := newUpstream(cfg, vendors)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", cfg.Name, err)
	}
	u := &upstream{
		name:    cfg.Name,
		dialect: cfg.Dialect,
		conf:    cfg,
		retired: make(chan struct{}),
		out:     out,
		local:   local,
		timeout: time.Duration(cfg.Timeout),
		latency: metrics.GetOrCreatePrometheusHistogramExt(fmt.Sprintf("switchboard_upstream_request_duration_seconds{upstream=%q}", cfg.Name), compare.TimeBuckets),
		state:   metrics.GetOrCreateGauge(fmt.Sprintf("switchboard_upstream_breaker_state{upstream=%q}", cfg.Name), nil),
		unread:  metrics.GetOrCreateCounter(fmt.Sprintf("switchboard_upstream_unread_answers_total{upstream=%q}", cfg.Name)),
		log:     log,
	}
	u.primary.init("switchboard_upstream_requests_total", cfg.Name, false)
	u.shadow.init("switchboard_upstream_mirror_requests_total", cfg.Name, true)
	maxConns := cfg.MaxConns
	u.conns = make(chan struct{}, maxConns)
	if cfg.RatePerSecond > 0 {
		u.limiter = newLimiter(cfg.RatePerSecond)
	}
	var caps adapters.Caps
	if a, ok := out.(adapters.Authenticator); ok {
		u.token = &tokenCache{auth: a}
	}
	if b, ok := out.(adapters.BulkOutbound); ok {
		u.batch = newBatcher(u, b)
	}
	if out != nil {
		caps = out.Caps()
		if u.client, err = newClient(cfg.URL, cfg.Proxy, maxConns, u.timeout, agent); err != nil {
			return nil, fmt.Errorf("upstream %q: %w", cfg.Name, err)
		}
	} else {
		caps = local.Caps()
	}
	u.caps, u.maxText, u.splits = capsOf(caps), caps.MaxText, caps.SplitText
	if tc, ok := out.(adapters.TextCounter); ok {
		u.textLen = tc.TextLen
	}
	b := *cfg.Breaker
	u.openFor = time.Duration(b.OpenFor)
	u.breaker = newBreaker(cfg.Name, b, func(from, to gobreaker.State) {
		if to == gobreaker.StateOpen {
			u.openedAt.Store(time.Now().UnixNano())
		}
		u.state.Set(float64(to))
		log.Warn("circuit breaker changed state", "upstream", u.name, "from", from.String(), "to", to.String())
	})
	u.state.Set(0)
	return u, nil
}

// newClient is one upstream's connection pool. It retries nothing itself: an attempt is
// one request, and the dispatcher owns retries.
func newClient(rawURL, proxy string, maxConns int, timeout time.Duration, agent string) (*fasthttp.HostClient, error) {
	pu, err := url.Parse(rawURL)
	if err != nil || pu.Host == "" {
		return nil, fmt.Errorf("cannot parse url %q: it must be absolute", rawURL)
	}
	isTLS := pu.Scheme == "https"
	dial, err := proxyDial(proxy, isTLS, timeout)
	if err != nil {
		return nil, err
	}
	return &fasthttp.HostClient{
		Dial:                      dial,
		Addr:                      fasthttp.AddMissingPort(pu.Host, isTLS),
		IsTLS:                     isTLS,
		Name:                      agent,
		MaxConns:                  maxConns,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxResponseBodySize:       maxResponseBody,
		MaxIdemponentCallAttempts: 1,
	}, nil
}

func newBreaker(name string, b config.Breaker, onChange func(from, to gobreaker.State)) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	window := time.Duration(b.Window)
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         name,
		MaxRequests:  uint32(b.HalfOpenProbes),
		Interval:     window,
		BucketPeriod: window / breakerBuckets,
		Timeout:      time.Duration(b.OpenFor),
		ReadyToTrip: func(c gobreaker.Counts) bool {
			done := c.TotalSuccesses + c.TotalFailures
			return c.ConsecutiveFailures >= uint32(b.ConsecutiveFailures) ||
				(done >= uint32(b.MinRequests) && float64(c.TotalFailures) >= b.FailureRatio*float64(done))
		},
		IsSuccessful:  func(err error) bool { return err == nil || err == errPermanent },
		IsExcluded:    func(err error) bool { return err == errNotSent },
		OnStateChange: func(_ string, from, to gobreaker.State) { onChange(from, to) },
	})
}

// send makes one attempt at m through u's breaker and limits. A non-nil error means no
// request went out, and wait is how long until u may take the message.
// A shadow copy never waits long and never holds a place in the rate limiter.
func (u *upstream) send(m *canonical.Message, stop <-chan struct{}, shadow bool) (res adapters.Result, wait time.Duration, err error) {
	if u.paused.Load() {
		return res, pausedWait, errPaused
	}
	if u.isRetired() {
		return res, 0, errStopping // a reload dropped it: back to the queue, to be routed anew
	}
	done, err := u.breaker.Allow()
	if err != nil {
		return res, u.openWait(err), errOpen
	}
	if wait, err = u.acquire(m.ID, stop, shadow); err != nil {
		done(errNotSent)
		return res, wait, err
	}
	start := time.Now()
	u.inFlight.Add(1)
	res = u.do(m)
	u.inFlight.Add(-1)
	<-u.conns
	u.latency.UpdateDuration(start)
	switch res.Outcome {
	case adapters.Sent:
		done(nil)
	case adapters.Permanent:
		done(errPermanent)
	default:
		done(errRetry)
	}
	return res, 0, nil
}

// openWait is how long until a breaker that refused a request may let one through.
func (u *upstream) openWait(err error) time.Duration {
	if err == gobreaker.ErrTooManyRequests {
		return min(u.timeout, maxHalfOpenWait)
	}
	left := time.Duration(u.openedAt.Load()+int64(u.openFor)) - time.Duration(time.Now().UnixNano())
	return max(left, minOpenWait)
}

// acquire waits for the rate limiter and a connection slot. A slot not free within the
// upstream's timeout means it is saturated: the message goes back to the queue.
func (u *upstream) acquire(id string, stop <-chan struct{}, shadow bool) (time.Duration, error) {
	if u.limiter != nil {
		if wait, err := u.limiter.wait(id, stop, shadow); err != nil {
			return wait, err
		}
	}
	select {
	case u.conns <- struct{}{}:
		return 0, nil
	default:
	}
	t := time.NewTimer(u.timeout)
	defer t.Stop()
	select {
	case u.conns <- struct{}{}:
		return 0, nil
	case <-t.C:
		return u.timeout, errBusy
	case <-stop:
		return 0, errStopping
	case <-u.retired:
		return 0, errStopping
	}
}

// retire is called once a reload has dropped or rebuilt u: messages waiting for one of its
// connections go back to the queue, requests in flight finish, idle connections close.
func (u *upstream) retire() {
	close(u.retired)
	if u.client != nil {
		u.client.CloseIdleConnections()
	}
}

func (u *upstream) isRetired() bool { return closed(u.retired) }

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// do is the attempt itself: in-process, gathered into a bulk request, or a request of its own.
func (u *upstream) do(m *canonical.Message) adapters.Result {
	switch {
	case u.local != nil:
		return u.local.Deliver(m)
	case u.batch != nil:
		return u.batch.send(m)
	}
	return u.request(m)
}

// request sends m alone. A transport error or timeout is a Retry.
func (u *upstream) request(m *canonical.Message) adapters.Result {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	var tok string
	if u.token != nil {
		var err error
		if tok, err = u.token.get(u, time.Now()); err != nil {
			return adapters.Result{Outcome: adapters.Retry, Reason: err.Error()}
		}
		if err := u.token.auth.EncodeAuthed(m, tok, req); err != nil {
			return adapters.Result{Outcome: adapters.Permanent, Reason: err.Error()}
		}
	} else if err := u.out.Encode(m, req); err != nil {
		return adapters.Result{Outcome: adapters.Permanent, Reason: err.Error()}
	}
	unread, err := exchange(u.client, req, resp, u.timeout)
	if err != nil {
		return transportResult(err, u.timeout)
	}
	res := u.out.Classify(m, resp)
	if unread != nil {
		res = u.unreadResult(m, resp, unread, res)
	}
	if u.token != nil && resp.StatusCode() == fasthttp.StatusUnauthorized {
		u.token.drop(tok) // expired or revoked: the retry fetches a new one
	}
	return res
}

// textLength measures text as the upstream counts it against maxText.
func (u *upstream) textLength(text string) int {
	if u.textLen != nil {
		return u.textLen(text)
	}
	return utf8.RuneCountInString(text)
}
