package dispatch

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"switchboard/canonical"
	"switchboard/config"
)

// route is a config route with its upstreams resolved.
type route struct {
	name  string
	match config.Match
	// failover is the order tried when the route has no split.
	failover []*upstream
	// split, when set, picks by recipient; each target has its own full order: the pick
	// first, then the failover list.
	split       []splitTarget
	totalWeight uint64
	mirror      *upstream
	degrade     policy
	// splitText: a text over an upstream's limit goes in parts where the upstream can
	// (long_text: split).
	splitText bool
	// receiptTimeout, when set, has a sent message resent through the next upstream when
	// no delivery receipt comes in time (watchdog.go).
	receiptTimeout time.Duration
}

type splitTarget struct {
	weight uint64
	order  []*upstream
}

// route returns the first route matching m, or nil. An empty match field matches anything.
func (p *plan) route(m *canonical.Message) *route {
	for _, r := range p.routes {
		mt := &r.match
		if anyOf(mt.Tenants, m.Tenant) && anyOf(mt.Dialects, m.Dialect) &&
			anyOf(mt.Channels, string(m.Channel)) && anyOf(mt.Kinds, string(m.Kind)) &&
			prefixOf(mt.ToPrefixes, m.To) {
			return r
		}
	}
	return nil
}

// order is the upstreams to try for m, best first. A split is sticky per recipient: the
// same number lands on the same upstream while the weights stay the same.
func (r *route) order(m *canonical.Message) []*upstream {
	if r.totalWeight == 0 {
		return r.failover
	}
	n := xxhash.Sum64String(m.To) % r.totalWeight
	for i := range r.split {
		if n < r.split[i].weight {
			return r.split[i].order
		}
		n -= r.split[i].weight
	}
	return r.failover // unreachable: the weights sum to totalWeight
}

func anyOf(set []string, v string) bool {
	return len(set) == 0 || slices.Contains(set, v)
}

func prefixOf(prefixes []string, to string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(to, p) {
			return true
		}
	}
	return false
}

func newRoute(rc config.Route, byName map[string]*upstream) (*route, error) {
	r := &route{name: rc.Name, match: rc.Match, receiptTimeout: time.Duration(rc.ReceiptTimeout)}
	var err error
	if r.degrade, err = parsePolicy(rc.Degrade, rc.ForeignFlow); err != nil {
		return nil, fmt.Errorf("route %q: %w", rc.Name, err)
	}
	switch rc.LongText {
	case "", "split": // "" from a config built in code, without config's defaults
		r.splitText = true
	case "fail":
	default:
		return nil, fmt.Errorf("route %q: long_text must be split or fail, not %q", rc.Name, rc.LongText)
	}
	// Numbers are E.164 digits; a prefix written "+972" means the same.
	r.match.ToPrefixes = make([]string, len(rc.Match.ToPrefixes))
	for i, p := range rc.Match.ToPrefixes {
		r.match.ToPrefixes[i] = strings.TrimPrefix(p, "+")
	}
	lookup := func(name string) (*upstream, error) {
		if u := byName[name]; u != nil {
			return u, nil
		}
		return nil, fmt.Errorf("route %q names unknown upstream %q", rc.Name, name)
	}
	for _, name := range rc.Upstreams {
		u, err := lookup(name)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(r.failover, u) {
			r.failover = append(r.failover, u)
		}
	}
	for _, st := range rc.Split {
		u, err := lookup(st.Upstream)
		if err != nil {
			return nil, err
		}
		if st.Weight <= 0 {
			continue
		}
		rest := r.failover
		if len(rest) == 0 { // no failover list: the other split targets in turn
			for _, o := range rc.Split {
				if ou := byName[o.Upstream]; !slices.Contains(rest, ou) {
					rest = append(rest, ou)
				}
			}
		}
		order := []*upstream{u}
		for _, o := range rest {
			if o != u {
				order = append(order, o)
			}
		}
		r.split = append(r.split, splitTarget{weight: uint64(st.Weight), order: order})
		r.totalWeight += uint64(st.Weight)
	}
	if len(r.failover) == 0 && len(r.split) == 0 {
		return nil, fmt.Errorf("route %q has no upstreams", rc.Name)
	}
	if rc.Mirror != "" {
		if r.mirror, err = lookup(rc.Mirror); err != nil {
			return nil, err
		}
	}
	return r, nil
}
