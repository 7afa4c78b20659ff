// Package dispatch forwards queued messages to upstream providers. It leases messages from
// the queue, routes each one, and sends it behind a circuit breaker, a connection limit and
// a rate limit per upstream, failing over along the route, retrying with backoff, degrading
// content an upstream cannot carry, and mirroring shadow copies.
//
// It owns all upstream I/O; adapters only encode and classify. Every leased message ends in
// exactly one queue call: Finish, Retry or Release. A mirror's result never touches the
// message.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/adapters"
	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/gateway/compare"
	"switchboard/gateway/queue"

	"github.com/sony/gobreaker/v2"
)

// Dispatcher sends what the queue leases it.
type Dispatcher struct {
	log   *slog.Logger
	q     queue.Queue
	plan  atomic.Pointer[plan] // swapped whole by Apply
	zones zoneCache
	agent string // User-Agent of upstream requests

	// mu orders Start, Apply, Pause and Resume; what it guards changes only there.
	mu     sync.Mutex
	paused map[string]bool // upstream names paused, carried into each new plan
	// started, and the goroutines started: senders, mirror senders, the watchdog.
	started  bool
	ctx      context.Context
	workers  int
	watching bool

	// Mirror copies wait in mirrorJobs for the mirror senders (started once a route mirrors).
	mirrorJobs    chan mirrorJob
	mirrorWorkers int

	// optedOut reports a recipient on its tenant's opt-out list (WithOptOut); nil: none.
	optedOut func(tenant, to string) bool
	// vendors is the vendor table upstreams are built from.
	vendors []adapters.Vendor
	// rec counts what each upstream did, for the page, the metrics and receipts. It lives
	// as long as the dispatcher, so a reload keeps the page's figures.
	rec *compare.Recorder
	// lastDue is when the last message leased became due (unix nanoseconds), for the
	// oldest-ready gauge; the start time until one is leased.
	lastDue atomic.Int64

	work     chan *canonical.Message
	stop     chan struct{} // closed by Stop: senders stop waiting and hand messages back
	cancel   context.CancelFunc
	running  sync.WaitGroup // the lease loop and the senders
	stopOnce sync.Once
}

// Option adjusts a Dispatcher in New.
type Option func(*Dispatcher)

// WithUserAgent names the gateway in the User-Agent of every upstream request ("switchboard/v1.2.3").
func WithUserAgent(ua string) Option { return func(d *Dispatcher) { d.agent = ua } }

// New builds a dispatcher from its settings (SettingsOf). It does no I/O.
func New(s Settings, q queue.Queue, log *slog.Logger, opts ...Option) (*Dispatcher, error) {
	return NewWithVendors(s, q, log, registry.Vendors(), opts...)
}

// NewWithVendors is New with the vendor table given: upstreams are built from its rows.
func NewWithVendors(s Settings, q queue.Queue, log *slog.Logger, vendors []adapters.Vendor, opts ...Option) (*Dispatcher, error) {
	d := &Dispatcher{
		log:        log,
		q:          q,
		agent:      defaultAgent,
		paused:     map[string]bool{},
		mirrorJobs: make(chan mirrorJob, mirrorQueue),
		stop:       make(chan struct{}),
		rec:        compare.New(),
		vendors:    vendors,
	}
	for _, o := range opts {
		o(d)
	}
	p, _, err := d.buildPlan(s, nil)
	if err != nil {
		return nil, err
	}
	d.plan.Store(p)
	d.declareSeries(p)
	d.workers = p.senders()
	if p.mirrors() {
		d.mirrorWorkers = mirrorWorkers
	}
	return d, nil
}

// cur is the plan in force.
func (d *Dispatcher) cur() *plan { return d.plan.Load() }

// Start begins leasing and sending. Call it once.
func (d *Dispatcher) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	d.ctx, d.cancel, d.started = ctx, cancel, true
	d.work = make(chan *canonical.Message, leaseBatch)
	d.lastDue.Store(time.Now().UnixNano())
	oldestReady.Store(d)
	d.running.Add(1 + d.workers)
	go d.leaseLoop(ctx)
	p := d.cur()
	if p.wd != nil {
		d.watching = true
		d.running.Add(1)
		go d.watchdog(ctx)
	}
	for range d.workers {
		go d.sender()
	}
	for range d.mirrorWorkers {
		go d.mirrorSender()
	}
}

// Stop stops leasing, waits (until ctx is done) for the sends in flight, and returns the
// messages not yet sent to the queue. Sends still in flight when ctx ends finish on their
// own; the queue's Close returns their messages to the schedule if they do not. Mirror
// copies not yet sent are dropped.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.stopOnce.Do(func() {
		oldestReady.CompareAndSwap(d, nil)
		d.mu.Lock() // no goroutine is started after this
		defer d.mu.Unlock()
		close(d.stop)
		if d.cancel != nil {
			d.cancel()
		}
	})
	done := make(chan struct{})
	go func() {
		d.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot finish the sends in flight: %w", ctx.Err())
	}
}

func (d *Dispatcher) leaseLoop(ctx context.Context) {
	defer d.running.Done()
	defer close(d.work)
	for ctx.Err() == nil {
		d.pauseWhileAllOpen(ctx)
		msgs, err := d.q.Lease(ctx, leaseBatch)
		d.noteLeased(msgs)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("cannot lease messages", "err", err)
			select {
			case <-time.After(leaseErrorWait):
			case <-ctx.Done():
			}
		}
		for i, m := range msgs {
			select {
			case d.work <- m:
			case <-ctx.Done():
				for _, m := range msgs[i:] {
					d.release(m, time.Now())
				}
				return
			}
		}
	}
}

// pauseWhileAllOpen waits without leasing while every upstream's breaker is open (or it is paused): a message
// leased then could only be handed back, and a large backlog would be read and rewritten
// for nothing. It returns as soon as one breaker may let a probe through.
func (d *Dispatcher) pauseWhileAllOpen(ctx context.Context) {
	ups := d.cur().ups
	if len(ups) == 0 {
		return
	}
	wait := time.Duration(math.MaxInt64)
	for _, u := range ups {
		if u.paused.Load() {
			wait = min(wait, pausedWait)
			continue
		}
		if u.breaker.State() != gobreaker.StateOpen {
			return
		}
		wait = min(wait, u.openWait(gobreaker.ErrOpenState))
	}
	pausedLeasing.Inc()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (d *Dispatcher) sender() {
	defer d.running.Done()
	for m := range d.work {
		if d.stopping() {
			d.release(m, time.Now())
			continue
		}
		d.handle(m)
	}
}

func (d *Dispatcher) stopping() bool { return closed(d.stop) }
