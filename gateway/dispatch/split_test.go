package dispatch

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/canonical"
	"switchboard/config"
)

func newTestDispatcher(t *testing.T, cfg *config.Config) *Dispatcher {
	t.Helper()
	d, err := New(SettingsOf(cfg), nopQueue{}, discard())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func boxes(names ...string) []config.Upstream {
	ups := make([]config.Upstream, len(names))
	for i, n := range names {
		ups[i] = config.Upstream{Name: n, Dialect: "sandbox"}
	}
	return ups
}

func names(ups []*upstream) string {
	s := ""
	for _, u := range ups {
		s += u.name + " "
	}
	return s
}

func TestSplitWeightedAndSticky(t *testing.T) {
	for _, tc := range []struct {
		failover []string
		orders   map[string]string
	}{
		{nil, map[string]string{"a": "a b ", "b": "b a "}},
		{[]string{"c"}, map[string]string{"a": "a c ", "b": "b c "}},
		{[]string{"b", "c"}, map[string]string{"a": "a b c ", "b": "b c "}},
	} {
		cfg := &config.Config{Upstreams: boxes("a", "b", "c"), Routes: []config.Route{{Name: "canary",
			Upstreams: tc.failover, Split: []config.SplitTarget{{Upstream: "a", Weight: 90}, {Upstream: "b", Weight: 10}}}}}
		d := newTestDispatcher(t, cfg)
		picks := map[string]int{}
		for i := 0; i < 10000; i++ {
			m := &canonical.Message{To: fmt.Sprintf("5511%09d", i*7919)}
			order := d.cur().route(m).order(m)
			if again := d.cur().route(m).order(m); names(again) != names(order) {
				t.Fatalf("not sticky for %s: %s then %s", m.To, names(order), names(again))
			}
			if want := tc.orders[order[0].name]; names(order) != want {
				t.Fatalf("failover %v: order %q, want %q", tc.failover, names(order), want)
			}
			picks[order[0].name]++
		}
		if picks["a"] < 8750 || picks["a"] > 9250 {
			t.Fatalf("90/10 split gave %v", picks)
		}
	}
}

func TestRouteMatching(t *testing.T) {
	cfg := &config.Config{Upstreams: boxes("il", "mf", "tmpl", "sms", "rest"), Routes: []config.Route{
		{Name: "israel-acme", Match: config.Match{Tenants: []string{"acme"}, ToPrefixes: []string{"+972"}}, Upstreams: []string{"il"}},
		{Name: "from-messageflow", Match: config.Match{Dialects: []string{"messageflow"}}, Upstreams: []string{"mf"}},
		{Name: "templates", Match: config.Match{Kinds: []string{"template"}, Channels: []string{"whatsapp"}}, Upstreams: []string{"tmpl"}},
		{Name: "sms", Match: config.Match{Channels: []string{"sms"}}, Upstreams: []string{"sms"}},
		{Name: "default", Upstreams: []string{"rest"}},
	}}
	d := newTestDispatcher(t, cfg)
	for _, tc := range []struct {
		m    canonical.Message
		want string
	}{
		{canonical.Message{Tenant: "acme", To: "972501234567"}, "israel-acme"},
		{canonical.Message{Tenant: "other", To: "972501234567"}, "default"},
		{canonical.Message{Tenant: "acme", To: "15551234567", Dialect: "messageflow"}, "from-messageflow"},
		{canonical.Message{To: "15551234567", Kind: canonical.KindTemplate, Channel: canonical.ChannelWhatsApp}, "templates"},
		{canonical.Message{To: "15551234567", Kind: canonical.KindTemplate, Channel: canonical.ChannelSMS}, "sms"},
		{canonical.Message{To: "15551234567", Kind: canonical.KindText}, "default"},
	} {
		if got := d.cur().route(&tc.m); got == nil || got.name != tc.want {
			t.Errorf("%+v routed to %v, want %s", tc.m, got, tc.want)
		}
	}
	d = newTestDispatcher(t, &config.Config{Upstreams: boxes("a"), Routes: []config.Route{
		{Name: "only-acme", Match: config.Match{Tenants: []string{"acme"}}, Upstreams: []string{"a"}}}})
	if r := d.cur().route(&canonical.Message{Tenant: "other"}); r != nil {
		t.Fatalf("routed to %s", r.name)
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]*config.Config{
		"unknown upstream":           {Upstreams: boxes("a"), Routes: []config.Route{{Name: "r", Upstreams: []string{"b"}}}},
		"unknown mirror":             {Upstreams: boxes("a"), Routes: []config.Route{{Name: "r", Upstreams: []string{"a"}, Mirror: "m"}}},
		"unknown split":              {Upstreams: boxes("a"), Routes: []config.Route{{Name: "r", Split: []config.SplitTarget{{Upstream: "x", Weight: 1}}}}},
		"no upstreams":               {Upstreams: boxes("a"), Routes: []config.Route{{Name: "r"}}},
		"bad degrade":                {Upstreams: boxes("a"), Routes: []config.Route{{Name: "r", Upstreams: []string{"a"}, Degrade: "drop"}}},
		"twice":                      {Upstreams: boxes("a", "a")},
		"vendor without credentials": {Upstreams: []config.Upstream{{Name: "w", Dialect: "wavy", URL: "http://127.0.0.1:1/"}}},
		"unknown dialect":            {Upstreams: []config.Upstream{{Name: "w", Dialect: "carrier-pigeon"}}},
		"http without a url":         {Upstreams: []config.Upstream{{Name: "h", Dialect: "http"}}},
	} {
		if _, err := New(SettingsOf(cfg), nopQueue{}, discard()); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "vendor without credentials" && !strings.Contains(err.Error(), "credentials username and token are required") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
