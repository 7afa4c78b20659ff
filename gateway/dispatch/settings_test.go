package dispatch

import (
	"testing"

	"switchboard/config"
)

// A Config built in code takes config's defaults for what it leaves at zero, and an
// upstream's breaker override takes the global breaker for what it leaves out.
func TestSettingsOfFillsDefaults(t *testing.T) {
	def := config.Defaults()
	defUp := config.DefaultUpstream()
	s := SettingsOf(&config.Config{
		Breaker:   config.Breaker{ConsecutiveFailures: 7},
		Upstreams: []config.Upstream{{Name: "a"}, {Name: "b", Breaker: &config.Breaker{OpenFor: ms(1500)}}},
		Tenants:   []config.Tenant{{ID: "t", SendingHours: &config.SendingHours{Start: 9, End: 17}}, {ID: "u"}},
	})
	if s.Retry != def.Retry {
		t.Errorf("retry = %+v, want the defaults %+v", s.Retry, def.Retry)
	}
	global := def.Breaker
	global.ConsecutiveFailures = 7
	a, b := s.Upstreams[0], s.Upstreams[1]
	if a.Timeout != defUp.Timeout || a.MaxConns != defUp.MaxConns {
		t.Errorf("upstream a: timeout %s, max_conns %d; want the defaults %s, %d", a.Timeout, a.MaxConns, defUp.Timeout, defUp.MaxConns)
	}
	if *a.Breaker != global {
		t.Errorf("upstream a's breaker = %+v, want the global %+v", *a.Breaker, global)
	}
	over := global
	over.OpenFor = ms(1500)
	if *b.Breaker != over {
		t.Errorf("upstream b's breaker = %+v, want %+v", *b.Breaker, over)
	}
	if len(s.SendingHours) != 1 || s.SendingHours["t"] == nil || s.SendingHours["t"].End != 17 {
		t.Errorf("sending hours = %v", s.SendingHours)
	}
}

// A reload that changes only the global breaker rebuilds the upstreams that take it, and
// keeps one whose override sets every key.
func TestSettingsGlobalBreakerChangeShows(t *testing.T) {
	full := config.Defaults().Breaker
	full.OpenFor = ms(900)
	cfg := testConfig(config.Upstream{Name: "plain", Dialect: "sandbox"},
		config.Upstream{Name: "own", Dialect: "sandbox", Breaker: &full})
	d := newTestDispatcher(t, cfg)
	next := *cfg
	next.Breaker.OpenFor = ms(700)
	ch := d.Diff(SettingsOf(&next))
	if len(ch.Changed) != 1 || ch.Changed[0] != "plain" || len(ch.Kept) != 1 || ch.Kept[0] != "own" {
		t.Fatalf("changes = %+v, want plain changed and own kept", ch)
	}
}
