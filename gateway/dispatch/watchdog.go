package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The receipt watchdog (added with receipts; routes' receipt_timeout). A message sent
// through a route with a receipt timeout, and with an upstream of the route not yet tried,
// is finished with queue.Watchdog's FinishWatch: the queue keeps it until a receipt moves
// it past sent. When none does in time, the watchdog resends it through the next upstream
// of the route, recording why; the upstreams it was sent through travel with the message in
// Extra[resentKey] and are stripped from what any upstream is sent.

// resentMessages counts the messages the watchdog resent.
var resentMessages = metrics.NewCounter(`switchboard_dispatch_messages_total{result="resent"}`)

// resentKey is the Extra key listing the upstreams a resent message went through.
const resentKey = "switchboard.resent_from"

const (
	// watchBatch is how many overdue messages one Overdue call returns.
	watchBatch = 256
	// minWatchTick and maxWatchTick bound how often the watchdog looks: a quarter of the
	// shortest receipt timeout, within them.
	minWatchTick = 100 * time.Millisecond
	maxWatchTick = time.Second
)

// watchdogOf returns q's Watchdog when a route has a receipt timeout, else nil.
func watchdogOf(q queue.Queue, routes []*route, log *slog.Logger) queue.Watchdog {
	if !slices.ContainsFunc(routes, func(r *route) bool { return r.receiptTimeout > 0 }) {
		return nil
	}
	wd, ok := q.(queue.Watchdog)
	if !ok {
		log.Warn("the queue backend cannot hold messages for their receipts: receipt_timeout is off")
		return nil
	}
	return wd
}

// resentFrom is the set of upstreams a resent message was sent through, or nil.
func resentFrom(m *canonical.Message) map[string]bool {
	v := m.Extra[resentKey]
	if v == "" {
		return nil
	}
	out := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		out[name] = true
	}
	return out
}

// withoutMarker returns m without resentKey, copying it only when it has one.
func withoutMarker(m *canonical.Message) *canonical.Message {
	if _, ok := m.Extra[resentKey]; !ok {
		return m
	}
	cp := *m
	cp.Extra = maps.Clone(m.Extra)
	delete(cp.Extra, resentKey)
	return &cp
}

// remaining is the route's order for m without the upstreams tried; all of it when that
// leaves none (the config changed since).
func (r *route) remaining(m *canonical.Message, tried map[string]bool) []*upstream {
	order := r.order(m)
	if len(tried) == 0 {
		return order
	}
	var out []*upstream
	for _, u := range order {
		if !tried[u.name] {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return order
	}
	return out
}

// watch finishes a sent message with a watch when its route has a receipt timeout and an
// upstream to resend through; it reports whether it did.
func (d *Dispatcher) watch(m *canonical.Message, r *route, ch canonical.Change) bool {
	wd := d.cur().wd
	if wd == nil || r.receiptTimeout <= 0 || ch.Status != canonical.StatusSent {
		return false
	}
	tried := resentFrom(m)
	if tried == nil {
		tried = map[string]bool{}
	}
	tried[m.Upstream] = true
	if len(r.remaining(m, tried)) == len(r.order(m)) { // nothing left but what was tried
		return false
	}
	finishedSent.Inc()
	d.queueErr(m, "finish", wd.FinishWatch(m, ch, ch.At.Add(r.receiptTimeout)))
	return true
}

// watchdog resends what is overdue until ctx ends.
func (d *Dispatcher) watchdog(ctx context.Context) {
	defer d.running.Done()
	tick := maxWatchTick
	for _, r := range d.cur().routes {
		if r.receiptTimeout > 0 {
			tick = min(tick, max(r.receiptTimeout/4, minWatchTick))
		}
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			wd := d.cur().wd
			if wd == nil { // a reload took the last receipt timeout away
				break
			}
			recs, err := wd.Overdue(time.Now(), watchBatch)
			if err != nil {
				d.log.Error("cannot read overdue receipts", "err", err)
				break
			}
			for _, rec := range recs {
				d.resend(wd, rec.Msg)
			}
			if len(recs) < watchBatch {
				break
			}
		}
	}
}

// resend sends m again through the next upstream of its route, or ends its watch when
// there is none left.
func (d *Dispatcher) resend(wd queue.Watchdog, m *canonical.Message) {
	m.InferKind()
	r := d.cur().route(m)
	tried := resentFrom(m)
	if tried == nil {
		tried = map[string]bool{}
	}
	tried[m.Upstream] = true
	now := time.Now()
	if r == nil || r.receiptTimeout <= 0 || len(r.remaining(m, tried)) == len(r.order(m)) {
		d.queueErr(m, "unwatch", wd.Unwatch(m.ID, canonical.Change{Status: canonical.StatusSent, At: now,
			Upstream: m.Upstream, Reason: "no delivery receipt in time, and no further upstream to resend through"}))
		return
	}
	names := make([]string, 0, len(tried))
	for name := range tried {
		names = append(names, name)
	}
	slices.Sort(names)
	m.Extra = maps.Clone(m.Extra)
	if m.Extra == nil {
		m.Extra = map[string]string{}
	}
	m.Extra[resentKey] = strings.Join(names, ",")
	resentMessages.Inc()
	err := wd.Resend(m, canonical.Change{Status: canonical.StatusQueued, At: now, Upstream: m.Upstream,
		Reason: "no delivery receipt from " + m.Upstream + " within " + r.receiptTimeout.String() + ": resending through the next upstream"})
	if err != nil && !errors.Is(err, queue.ErrNotFound) { // a receipt came meanwhile
		d.queueErr(m, "resend", err)
	}
}
