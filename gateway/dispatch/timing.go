package dispatch

import (
	"time"

	"switchboard/canonical"
	"switchboard/config"
)

// openAt is the earliest time m may be sent: now, its NotBefore, or the start of the next
// allowed hour of its window (or, without one, of its tenant's sending hours).
func (d *Dispatcher) openAt(m *canonical.Message, now time.Time) time.Time {
	at := now
	if m.NotBefore.After(at) {
		at = m.NotBefore
	}
	w := m.Window
	if hours := d.cur().tenantHours; w == nil && len(hours) > 0 {
		w = hours[m.Tenant]
	}
	if w != nil && len(w.Hours) > 0 {
		at = nextOpen(at, w.Hours, d.zones.get(w.TimeZone))
	}
	return at
}

// nextOpen returns t when t falls in one of the allowed hours in loc, else the start of the
// next allowed hour. Hours are built with time.Date in loc, so DST is honoured: an hour
// skipped by a spring-forward transition does not exist that day and is passed over.
func nextOpen(t time.Time, hours []int, loc *time.Location) time.Time {
	var allowed uint32
	for _, h := range hours {
		if h >= 0 && h < 24 {
			allowed |= 1 << h
		}
	}
	lt := t.In(loc)
	if allowed == 0 || allowed&(1<<lt.Hour()) != 0 {
		return t
	}
	y, mo, day := lt.Date()
	// Three days always suffice: an allowed hour is skipped by DST at most once in a row.
	for dd := 0; dd < 3; dd++ {
		for h := 0; h < 24; h++ {
			if allowed&(1<<h) == 0 {
				continue
			}
			c := time.Date(y, mo, day+dd, h, 0, 0, 0, loc)
			if c.Hour() == h && c.After(t) {
				return c
			}
		}
	}
	return t
}

// hoursWindow turns a tenant's sending hours, [Start, End) and wrapping past midnight when
// End < Start, into a window; nil when they allow the whole day.
// End 24 means midnight. Hours out of range (config validation reports them) allow all.
func hoursWindow(sh *config.SendingHours) *canonical.Window {
	if sh == nil {
		return nil
	}
	start, end := sh.Start, sh.End%24
	if start == end || start < 0 || start > 23 || end < 0 {
		return nil
	}
	w := &canonical.Window{TimeZone: sh.TimeZone}
	for h := start; h != end; h = (h + 1) % 24 {
		w.Hours = append(w.Hours, h)
	}
	return w
}

// zoneCache looks time zones up through canonical's cache.
type zoneCache struct{}

// get returns the named zone; UTC for "" and for a name the zone database does not know
// (ingress validates names, so that is a zone removed since the message was queued).
func (zoneCache) get(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	l, err := canonical.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return l
}
