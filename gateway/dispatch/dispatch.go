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
	"time"

	"switchboard/adapters"
	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"

	"github.com/sony/gobreaker/v2"
)

// Dispatcher sends what the queue leases it.
type Dispatcher struct {
	log         *slog.Logger
	q           queue.Queue
	retry       config.Retry
	ups         []*upstream // config order
	routes      []*route
	templates   catalogue
	tenantHours map[string]*canonical.Window
	zones       zoneCache
	workers     int

	// Mirror copies wait in mirrorJobs (nil when no route mirrors) for the mirror senders.
	mirrorJobs    chan mirrorJob
	mirrorWorkers int

	// wd holds sent messages for their receipts when a route has receipt_timeout and the
	// queue can (queue.Watchdog); nil otherwise.
	wd queue.Watchdog

	work     chan *canonical.Message
	stop     chan struct{} // closed by Stop: senders stop waiting and hand messages back
	cancel   context.CancelFunc
	running  sync.WaitGroup // the lease loop and the senders
	stopOnce sync.Once
}

// New builds a dispatcher from cfg's upstreams, routes and templates. It does no I/O.
func New(cfg *config.Config, q queue.Queue, log *slog.Logger) (*Dispatcher, error) {
	return NewWithVendors(cfg, q, log, registry.Vendors())
}

// NewWithVendors is New with the vendor table given: upstreams are built from its rows.
func NewWithVendors(cfg *config.Config, q queue.Queue, log *slog.Logger, vendors []adapters.Vendor) (*Dispatcher, error) {
	d := &Dispatcher{
		log:         log,
		q:           q,
		retry:       retrySettings(cfg.Retry),
		templates:   newCatalogue(cfg.Templates, cfg.TemplateGroups),
		tenantHours: map[string]*canonical.Window{},
		stop:        make(chan struct{}),
	}
	byName := map[string]*upstream{}
	conns := 0
	for _, uc := range cfg.Upstreams {
		if byName[uc.Name] != nil {
			return nil, fmt.Errorf("upstream %q is defined twice", uc.Name)
		}
		u, err := makeUpstream(uc, cfg.Breaker, log, vendors)
		if err != nil {
			return nil, err
		}
		byName[uc.Name] = u
		d.ups = append(d.ups, u)
		conns += cap(u.conns)
	}
	d.workers = min(max(conns, 1), maxWorkers)
	for _, rc := range cfg.Routes {
		r, err := newRoute(rc, byName)
		if err != nil {
			return nil, err
		}
		d.routes = append(d.routes, r)
		if r.mirror != nil && d.mirrorJobs == nil {
			d.mirrorJobs = make(chan mirrorJob, mirrorQueue)
			d.mirrorWorkers = mirrorWorkers
		}
	}
	d.wd = watchdogOf(q, d.routes, log)
	for _, t := range cfg.Tenants {
		if w := hoursWindow(t.SendingHours); w != nil {
			d.tenantHours[t.ID] = w
		}
	}
	return d, nil
}

// Start begins leasing and sending. Call it once.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.work = make(chan *canonical.Message, leaseBatch)
	d.running.Add(1 + d.workers)
	go d.leaseLoop(ctx)
	if d.wd != nil {
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

// pauseWhileAllOpen waits without leasing while every upstream's breaker is open: a message
// leased then could only be handed back, and a large backlog would be read and rewritten
// for nothing. It returns as soon as one breaker may let a probe through.
func (d *Dispatcher) pauseWhileAllOpen(ctx context.Context) {
	if len(d.ups) == 0 {
		return
	}
	wait := time.Duration(math.MaxInt64)
	for _, u := range d.ups {
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

func (d *Dispatcher) stopping() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}
