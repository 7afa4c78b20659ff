package dispatch

import (
	"fmt"
	"reflect"
	"slices"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// plan is everything a config reload replaces at once: a message is routed, and its
// templates picked, against one plan from start to end (handle loads it once), so a reload
// never shows it half of the old routes and half of the new.
type plan struct {
	retry       config.Retry
	ups         []*upstream // config order
	routes      []*route
	templates   catalogue
	tenantHours map[string]*canonical.Window
	// wd holds sent messages for their receipts when a route has receipt_timeout and the
	// queue can (queue.Watchdog); nil otherwise.
	wd queue.Watchdog
}

// Changes is what Apply did to the upstreams, by name.
type Changes struct {
	// Kept are unchanged: same object, so the same breaker, limiter, connections and counters.
	Kept []string `json:"kept"`
	// Added, Changed and Removed: a changed upstream is rebuilt (its breaker starts closed);
	// sends in flight on a changed or removed one finish there, and messages waiting for its
	// connections or rate go back to the queue, to be routed by the new plan.
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
}

// buildPlan resolves s against the upstreams of the plan before it (nil at start): an
// upstream whose settings did not change is taken over as it is.
func (d *Dispatcher) buildPlan(s Settings, old *plan) (*plan, Changes, error) {
	p := &plan{
		retry:       s.Retry,
		templates:   newCatalogue(s.Templates, s.TemplateGroups).withLanguages(s),
		tenantHours: map[string]*canonical.Window{},
	}
	var ch Changes
	prev := map[string]*upstream{}
	if old != nil {
		for _, u := range old.ups {
			prev[u.name] = u
		}
	}
	byName := map[string]*upstream{}
	for _, uc := range s.Upstreams {
		if byName[uc.Name] != nil {
			return nil, ch, fmt.Errorf("upstream %q is defined twice", uc.Name)
		}
		u := prev[uc.Name]
		switch {
		case u != nil && u.same(uc):
			ch.Kept = append(ch.Kept, uc.Name)
		default:
			if u != nil {
				ch.Changed = append(ch.Changed, uc.Name)
			} else if old != nil {
				ch.Added = append(ch.Added, uc.Name)
			}
			var err error
			if u, err = makeUpstream(uc, d.agent, d.log, d.vendors); err != nil {
				return nil, ch, err
			}
		}
		byName[uc.Name] = u
		p.ups = append(p.ups, u)
	}
	for name := range prev {
		if byName[name] == nil {
			ch.Removed = append(ch.Removed, name)
		}
	}
	slices.Sort(ch.Removed)
	for _, rc := range s.Routes {
		r, err := newRoute(rc, byName)
		if err != nil {
			return nil, ch, err
		}
		p.routes = append(p.routes, r)
	}
	p.wd = watchdogOf(d.q, p.routes, d.log)
	for id, sh := range s.SendingHours {
		if w := hoursWindow(sh); w != nil {
			p.tenantHours[id] = w
		}
	}
	return p, ch, nil
}

// same reports whether u was built from these settings (its breaker resolved, so a change
// of the global breaker shows), so that a reload may keep it.
func (u *upstream) same(uc config.Upstream) bool {
	return reflect.DeepEqual(u.conf, uc)
}

// Diff is what Apply would do to the upstreams, without doing it.
func (d *Dispatcher) Diff(s Settings) Changes {
	var ch Changes
	prev := map[string]*upstream{}
	for _, u := range d.plan.Load().ups {
		prev[u.name] = u
	}
	for _, uc := range s.Upstreams {
		switch u := prev[uc.Name]; {
		case u == nil:
			ch.Added = append(ch.Added, uc.Name)
		case u.same(uc):
			ch.Kept = append(ch.Kept, uc.Name)
		default:
			ch.Changed = append(ch.Changed, uc.Name)
		}
		delete(prev, uc.Name)
	}
	for name := range prev {
		ch.Removed = append(ch.Removed, name)
	}
	slices.Sort(ch.Removed)
	return ch
}

// senders is how many sender goroutines the plan wants: sendersPerConn per upstream
// connection, so that while some senders wait for their message's finish to be synced
// others keep every connection busy.
func (p *plan) senders() int {
	conns := 0
	for _, u := range p.ups {
		conns += cap(u.conns)
	}
	return min(max(conns*sendersPerConn, 1), maxWorkers)
}

func (p *plan) mirrors() bool {
	return slices.ContainsFunc(p.routes, func(r *route) bool { return r.mirror != nil })
}

// Apply swaps in s's upstreams, routes, templates, retry and sending hours at once.
// s must come from a valid config (config.Load validated it); on an error nothing changed. Upstreams
// that are no longer in use are retired once the new plan is in place.
func (d *Dispatcher) Apply(s Settings) (Changes, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.plan.Load()
	p, ch, err := d.buildPlan(s, old)
	if err != nil {
		return ch, fmt.Errorf("cannot apply the config: %w", err)
	}
	for _, u := range p.ups {
		u.paused.Store(d.paused[u.name])
	}
	d.plan.Store(p)
	d.declareSeries(p)
	live := map[*upstream]bool{}
	for _, u := range p.ups {
		live[u] = true
	}
	for _, u := range old.ups {
		if !live[u] {
			u.retire()
			if !slices.Contains(ch.Changed, u.name) {
				delete(d.paused, u.name)
			}
		}
	}
	d.grow(p)
	return ch, nil
}

// grow starts the goroutines the plan needs beyond those running: more senders for more
// connections, the mirror senders for a first mirror, the watchdog for a first receipt
// timeout. They are never stopped before Stop. Call with d.mu held.
func (d *Dispatcher) grow(p *plan) {
	if !d.started || d.stopping() {
		return
	}
	if n := p.senders() - d.workers; n > 0 {
		d.running.Add(n)
		d.workers += n
		for range n {
			go d.sender()
		}
	}
	if p.mirrors() && d.mirrorWorkers == 0 {
		d.mirrorWorkers = mirrorWorkers
		for range d.mirrorWorkers {
			go d.mirrorSender()
		}
	}
	if p.wd != nil && !d.watching {
		d.watching = true
		d.running.Add(1)
		go d.watchdog(d.ctx)
	}
}

// Pause stops sending to the named upstream until Resume: its messages fail over along
// their route, or wait in the queue, as for an open breaker. A pause outlives reloads
// that keep the upstream (changed or not); it does not outlive a restart.
func (d *Dispatcher) Pause(name string) error { return d.setPaused(name, true) }

// Resume undoes Pause.
func (d *Dispatcher) Resume(name string) error { return d.setPaused(name, false) }

func (d *Dispatcher) setPaused(name string, on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range d.plan.Load().ups {
		if u.name == name {
			u.paused.Store(on)
			if on {
				d.paused[name] = true
			} else {
				delete(d.paused, name)
			}
			return nil
		}
	}
	return ErrNoUpstream
}

// ErrNoUpstream is returned by Pause and Resume for a name no upstream has.
var ErrNoUpstream = &canonical.Error{Code: canonical.ErrNotFound, Reason: "no such upstream"}
