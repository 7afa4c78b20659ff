// Package callbacks carries delivery status both ways: it parses the receipts upstream
// vendors post (receipt.go), and posts every status change of a message to its tenant's
// callback URL in the dialect the message came in with (Wavy's callbacks for Wavy messages,
// the native status JSON signed with the tenant's secret for the others).
//
// Callbacks are driven by the queue's change feed, which is written in the same commit as
// every status change: the worker keeps its own durable cursor per tenant and never touches
// the send path, so a slow or dead receiver can delay only its own tenant's callbacks, never
// dispatch. It must never post a callback for a change that is not committed, nor advance a
// cursor past a callback that was neither delivered nor dead-lettered.
package callbacks

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/registry"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// Tuning.
const (
	// batchSize is how many feed entries a tenant's lane reads at once: it bounds the
	// lane's memory and how far one stuck callback can hold the lane's cursor back.
	batchSize = 256
	// pollInterval is how often an idle lane looks at the feed without being woken.
	pollInterval = time.Second
	// cursorEvery bounds how often a busy lane writes its cursor: after a crash at most
	// this long's worth of callbacks is posted again.
	cursorEvery = 50 * time.Millisecond
	// readErrorWait is the pause after the queue fails a read.
	readErrorWait = time.Second
	// maxResponseBody bounds what is read of a receiver's answer.
	maxResponseBody = 64 << 10
	// staleTries and staleWait bound how long a lane waits for a record to show the change
	// its feed entry announces (lane.catchUp): replicas catch up within milliseconds.
	staleTries = 40
	staleWait  = 50 * time.Millisecond
)

var (
	deliveredTotal = metrics.NewCounter(`switchboard_callbacks_total{result="delivered"}`)
	failedTotal    = metrics.NewCounter(`switchboard_callbacks_total{result="failed"}`)
	deadTotal      = metrics.NewCounter(`switchboard_callbacks_total{result="dead"}`)
	// The replies among them (a reply is also a callback).
	repliesDelivered = metrics.NewCounter(`switchboard_replies_out_total{result="delivered"}`)
	repliesDead      = metrics.NewCounter(`switchboard_replies_out_total{result="dead"}`)
)

// Tenant is where a tenant's callbacks go.
type Tenant struct {
	ID string
	// URL receives native status callbacks and Wavy sent-status callbacks; DeliveryURL Wavy
	// delivery receipts (URL when empty).
	URL, DeliveryURL string
	// ReplyURL receives the tenant's replies ("": none are posted).
	ReplyURL string
	// Secret, when set, signs every callback (SignatureHeader).
	Secret string
}

// statusOn reports whether the tenant takes status callbacks.
func (t *Tenant) statusOn() bool { return t.URL != "" }

// Options tunes the worker; zero fields take the defaults in parentheses.
type Options struct {
	// Timeout bounds one callback request (5s).
	Timeout time.Duration
	// MaxAttempts is how many times a callback is tried before it is dead-lettered (20).
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the wait between attempts: exponential with
	// jitter (1s, 2m).
	InitialBackoff, MaxBackoff time.Duration
	// MaxConcurrent bounds requests in flight over all tenants (64); PerTenant per tenant (8).
	MaxConcurrent, PerTenant int
	// DeadRetention is how long dead-lettered callbacks are kept (0: until replayed).
	DeadRetention time.Duration
	// Vendors is the vendor table whose rows render status callbacks and replies in their
	// dialects (the registry's).
	Vendors []adapters.Vendor
	Logger  *slog.Logger
}

// defaults fills what is unset with config's defaults (a config file always sets them all).
func (o *Options) defaults() {
	def := config.Defaults().Callbacks
	set := func(v *time.Duration, d config.Duration) {
		if *v <= 0 {
			*v = time.Duration(d)
		}
	}
	set(&o.Timeout, def.Timeout)
	set(&o.InitialBackoff, def.InitialBackoff)
	set(&o.MaxBackoff, def.MaxBackoff)
	o.MaxBackoff = max(o.MaxBackoff, o.InitialBackoff)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = def.MaxAttempts
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = def.MaxConcurrent
	}
	if o.PerTenant <= 0 {
		o.PerTenant = def.PerTenant
	}
	o.PerTenant = min(o.PerTenant, o.MaxConcurrent)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Vendors == nil {
		o.Vendors = registry.Vendors()
	}
}

// Source is what the worker reads: the change feed and the messages' records.
type Source interface {
	queue.Feed
	Get(id string) (*queue.Record, error)
}

// Worker posts callbacks. Start it once; Stop it before closing the queue.
type Worker struct {
	src     Source
	opts    Options
	log     *slog.Logger
	tenants map[string]*Tenant
	lanes   []*lane
	client  *fasthttp.Client
	sem     chan struct{} // a slot per request in flight
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// New builds a worker for the tenants that have a callback URL, and sets the cursor of a
// tenant that has none yet to the feed's end: callbacks start with the changes after the
// first start, not with the retained history.
func New(src Source, tenants []Tenant, opts Options) (*Worker, error) {
	opts.defaults()
	w := &Worker{src: src, opts: opts, log: opts.Logger, tenants: map[string]*Tenant{},
		sem: make(chan struct{}, opts.MaxConcurrent), stop: make(chan struct{})}
	w.client = &fasthttp.Client{
		Name:                "switchboard-callbacks",
		ReadTimeout:         opts.Timeout,
		WriteTimeout:        opts.Timeout,
		MaxConnsPerHost:     opts.MaxConcurrent,
		MaxResponseBodySize: maxResponseBody,
	}
	for i := range tenants {
		t := tenants[i]
		if t.URL == "" && t.DeliveryURL == "" && t.ReplyURL == "" {
			continue
		}
		if t.URL == "" {
			t.URL = t.DeliveryURL
		}
		if t.DeliveryURL == "" {
			t.DeliveryURL = t.URL
		}
		w.tenants[t.ID] = &t
		l := &lane{w: w, t: &t, wake: make(chan struct{}, 1)}
		if err := l.load(); err != nil {
			return nil, err
		}
		w.lanes = append(w.lanes, l)
	}
	return w, nil
}

func cursorKey(tenant string) string { return "cb/cursor/" + tenant }

// load reads the lane's cursor and the Seqs done beyond it; a lane without one starts at
// the feed's end.
func (l *lane) load() error {
	l.skip = nil
	v, err := l.w.src.GetState(cursorKey(l.t.ID))
	if err != nil {
		return err
	}
	if len(v) < 8 {
		// Not knowing the end must not start the lane at 0: that would post the whole
		// retained feed.
		if l.cursor, err = l.w.src.FeedSeq(); err != nil {
			return err
		}
		return l.w.src.PutState(cursorKey(l.t.ID), binary.BigEndian.AppendUint64(nil, l.cursor), 0)
	}
	l.cursor = binary.BigEndian.Uint64(v)
	l.skip = map[uint64]bool{}
	for v = v[8:]; len(v) > 0; {
		d, n := binary.Uvarint(v)
		if n <= 0 {
			break
		}
		l.skip[l.cursor+d] = true
		v = v[n:]
	}
	return nil
}

// leaseName is the lease a gateway holds while it posts callbacks, when several share the
// queue (queue.Leader).
const leaseName = "callbacks"

// Start runs a lane per tenant and the goroutine that wakes them on new changes. With a
// queue that several gateways share, the lanes run only while this gateway holds the
// callbacks lease, so that each change is posted by one of them.
func (w *Worker) Start() {
	if len(w.lanes) == 0 {
		return
	}
	w.wg.Add(2)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.stop:
				return
			case <-w.src.FeedNotify():
				for _, l := range w.lanes {
					select {
					case l.wake <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	if ld, ok := w.src.(queue.Leader); ok {
		go w.lead(ld)
		return
	}
	go func() {
		defer w.wg.Done()
		w.run(w.stop)
	}()
}

// run runs every lane until stop is closed and they have finished.
func (w *Worker) run(stop <-chan struct{}) {
	var wg sync.WaitGroup
	for _, l := range w.lanes {
		l.stop = stop
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run()
		}()
	}
	wg.Wait()
}

// lead runs the lanes while this gateway holds the callbacks lease, with their cursors read
// again each time (another gateway moved them meanwhile). The lease is given up only once
// the lanes have stopped and saved their cursors.
func (w *Worker) lead(ld queue.Leader) {
	defer w.wg.Done()
	for !w.stopping() {
		ls, err := ld.Lead(leaseName, w.stop)
		if err != nil {
			w.log.Error("cannot take the callbacks lease", "err", err)
			wait(readErrorWait, w.stop)
			continue
		}
		if ls == nil {
			return // stopping
		}
		w.log.Info("this gateway posts the callbacks")
		term := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, l := range w.lanes {
				for err := l.load(); err != nil; err = l.load() {
					w.log.Error("cannot read the callbacks cursor", "tenant", l.t.ID, "err", err)
					if !wait(readErrorWait, term) {
						return
					}
				}
			}
			w.run(term)
		}()
		select {
		case <-ls.Lost():
			w.log.Warn("callbacks lease lost: another gateway posts them")
		case <-w.stop:
		}
		close(term)
		<-done
		ls.Release()
	}
}

// wait waits d, or until stop is closed; it reports whether d passed.
func wait(d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// Stop stops taking callbacks, lets the requests in flight finish (each within the
// timeout) and saves the cursors. Callbacks not yet posted go out after the next start.
func (w *Worker) Stop() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

func (w *Worker) stopping() bool { return closed(w.stop) }

// closed reports whether ch is closed (it is never sent on).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// post sends one callback; it returns "" when the receiver took it (any 2xx), else why not.
func (w *Worker) post(t *Tenant, d *Delivery) string {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	url := t.URL
	switch d.Kind {
	case KindDelivery:
		url = t.DeliveryURL
	case KindReply:
		url = t.ReplyURL
	}
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Idempotency-Key", d.Key)
	req.Header.Set("X-Switchboard-Event", d.Kind)
	if t.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(d.Body, []byte(t.Secret)))
	}
	req.SetBodyRaw(d.Body)
	if err := w.client.DoTimeout(req, resp, w.opts.Timeout); err != nil {
		return err.Error()
	}
	if c := resp.StatusCode(); c < 200 || c > 299 {
		return "HTTP " + strconv.Itoa(c)
	}
	return ""
}

// backoff is the wait after the given number of failed attempts: exponential, capped,
// with jitter over its upper half.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.opts.MaxBackoff
	if shift := attempts - 1; shift < 32 && w.opts.InitialBackoff<<shift < d && w.opts.InitialBackoff<<shift > 0 {
		d = w.opts.InitialBackoff << shift
	}
	return d/2 + rand.N(d/2+1)
}
