package config

import (
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Pieces of a valid file, for cases that change one thing.
const (
	okTenants = `tenants:
  - id: t1
    native: { token: tok1 }
`
	okUpstreams = `upstreams:
  - name: sink
    dialect: sandbox
`
	okRoutes = `routes:
  - name: r
    upstreams: [sink]
`
	okFile = okTenants + okUpstreams + okRoutes
)

func parse(t *testing.T, src string) (*Config, Problems) {
	t.Helper()
	c, err := Parse([]byte(src), "switchboard.yaml")
	if err == nil {
		if c == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		return c, nil
	}
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("Parse error is %T, want Problems: %v", err, err)
	}
	if c != nil {
		t.Fatal("Parse returned a config with its problems")
	}
	return nil, probs
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, probs := parse(t, src)
	if probs != nil {
		t.Fatalf("unexpected problems:\n%v\nin:\n%s", probs, src)
	}
	return c
}

func paths(probs Problems) []string {
	var ps []string
	for _, p := range probs {
		ps = append(ps, p.Path)
	}
	return ps
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"listen", d.Listen, "127.0.0.1:8080"},
		{"data_dir", d.DataDir, "./data"},
		{"max_body_bytes", d.MaxBodyBytes, 1 << 20},
		{"log_level", d.LogLevel, "info"},
		{"queue", d.Queue, Queue{Backend: "badger", Durability: "always", SyncInterval: Duration(100 * time.Millisecond), MaxDepth: 1_000_000,
			Retention: Duration(72 * time.Hour), GCInterval: Duration(5 * time.Minute), MemoryMB: 64, DiskReserveBytes: 256 << 20, DiskReservePercent: 5,
			Nats: Nats{Stream: "SWITCHBOARD", Bucket: "switchboard", Replicas: 1, Shards: 1, AckWait: Duration(30 * time.Second), MaxDeliver: 100}}},
		{"retry", d.Retry, Retry{10, Duration(time.Second), Duration(10 * time.Minute)}},
		{"breaker", d.Breaker, Breaker{Duration(10 * time.Second), 5, 0.5, 20, Duration(30 * time.Second), 3}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}

	// The defaults are valid; only the routes a file must give are missing.
	err := d.Validate()
	var probs Problems
	if !errors.As(err, &probs) || !slices.Equal(paths(probs), []string{"routes"}) {
		t.Errorf("Defaults().Validate() = %v, want only the missing routes", err)
	}

	c := mustParse(t, okFile)
	if c.Listen != d.Listen || !reflect.DeepEqual(c.Queue, d.Queue) || c.Breaker != d.Breaker {
		t.Errorf("a file without those keys does not get the defaults: %+v", c)
	}
	if u := c.Upstreams[0]; u.Timeout.D() != 5*time.Second || u.MaxConns != 64 || u.Breaker != nil {
		t.Errorf("upstream defaults: %+v", u)
	}
	if r := c.Routes[0]; r.Degrade != "degrade" {
		t.Errorf("route degrade = %q, want degrade", r.Degrade)
	}
}

func TestEnvExpansion(t *testing.T) {
	const secret = `p@ss: #not-a-comment {x} [y], "q" 'r' & *z`
	t.Setenv("SB_SECRET", secret)
	t.Setenv("SB_EMPTY", "")
	t.Setenv("SB_CONNS", "12")
	t.Setenv("SB_TIMEOUT", "250ms")
	os.Unsetenv("SB_UNSET") // t.Setenv above restores what it changed; this one was never set

	for _, tc := range []struct {
		value, want string
	}{
		{`${SB_SECRET}`, secret},
		{`"${SB_SECRET}"`, secret},
		{`'${SB_SECRET}'`, secret},
		{`x${SB_SECRET}y`, "x" + secret + "y"},
		{`${SB_UNSET:-fallback}`, "fallback"},
		{`${SB_EMPTY:-fallback}`, "fallback"},
		{`"${SB_UNSET:-a b: c}"`, "a b: c"},
		{`${SB_UNSET}`, ""},
		{`"$${SB_SECRET}"`, "${SB_SECRET}"},
		{`pa$word$`, "pa$word$"},
		{"|\n  line ${SB_CONNS}\n", "line 12\n"},
	} {
		c := mustParse(t, "admin_token: "+tc.value+"\n"+okFile)
		if c.AdminToken != tc.want {
			t.Errorf("admin_token: %s = %q, want %q", tc.value, c.AdminToken, tc.want)
		}
	}

	// Values are read as their field's type after expansion.
	c := mustParse(t, okTenants+okRoutes+`upstreams:
  - name: sink
    dialect: sandbox
    max_conns: ${SB_CONNS}
    timeout: ${SB_TIMEOUT}
`)
	if u := c.Upstreams[0]; u.MaxConns != 12 || u.Timeout.D() != 250*time.Millisecond {
		t.Errorf("expanded upstream = %+v", u)
	}

	// A secret with YAML syntax stays one value inside a flow mapping too (where YAML
	// itself needs "${...}" quoted, for its braces).
	c = mustParse(t, okUpstreams+okRoutes+"tenants:\n  - { id: t1, native: { token: \"${SB_SECRET}\" } }\n")
	if got := c.Tenants[0].Dialects["native"].Value("token"); got != secret {
		t.Errorf("flow-mapping token = %q, want %q", got, secret)
	}

	// An unset variable behind a required value is named in the problem.
	_, probs := parse(t, "listen: \"${SB_UNSET}\"\n"+okFile)
	if len(probs) != 1 || probs[0].Path != "listen" || !strings.Contains(probs[0].Message, "${SB_UNSET} is not set") {
		t.Errorf("unset variable: %v", probs)
	}

	_, probs = parse(t, "admin_token: \"${SB_SECRET\"\n"+okFile)
	if len(probs) != 1 || probs[0].Line != 1 || !strings.Contains(probs[0].Message, "unterminated") {
		t.Errorf("unterminated ${: %v", probs)
	}
}

// TestRepliesConfig: an upstream's replies name tenants that exist, and a tenant's replies
// URL is an http(s) URL.
func TestRepliesConfig(t *testing.T) {
	c := mustParse(t, okRoutes+`tenants:
  - { id: t1, native: { token: a }, replies: { url: "https://t1.example/replies", dialect: wavy } }
  - { id: t2, native: { token: b } }
upstreams:
  - name: sink
    dialect: http
    url: "http://127.0.0.1:9000/messages"
    replies: { tenant: t1, lines: { "5511000": t2 } }
`)
	if r := c.Upstreams[0].Replies; r == nil || r.Tenant != "t1" || r.Lines["5511000"] != "t2" || c.Tenants[0].Replies.URL != "https://t1.example/replies" {
		t.Fatalf("replies = %+v, %+v", c.Upstreams[0].Replies, c.Tenants[0].Replies)
	}
	_, probs := parse(t, okRoutes+`tenants:
  - { id: t1, native: { token: a }, replies: { url: "ftp://t1.example/replies" } }
upstreams:
  - name: sink
    dialect: http
    url: "http://127.0.0.1:9000/messages"
    replies: { tenant: t9, lines: { "5511000": t8 } }
  - { name: other, dialect: sandbox, replies: {} }
`)
	var paths []string
	for _, p := range probs {
		paths = append(paths, p.Path)
	}
	want := []string{"tenants[0].replies.url", "upstreams[0].replies.tenant", "upstreams[0].replies.lines.5511000", "upstreams[1].replies"}
	if !slices.Equal(paths, want) {
		t.Errorf("problems:\n%v\nwant paths %q", probs, want)
	}
}

func TestThreeMistakes(t *testing.T) {
	const src = `listen: "127.0.0.1:8080"
tenants:
  - id: acme
    native: { token: t }
upstreams:
  - name: sms
    dialect: http
    url: "http://127.0.0.1:9000/messages"
    timeout: -5s
  - name: backup
    dialect: sandbox
    timeoutt: 5s
routes:
  - name: default
    match: {}
    upstreams: [sms, smsx]
`
	_, probs := parse(t, src)
	want := Problems{
		{File: "switchboard.yaml", Line: 9, Path: "upstreams[0].timeout", Message: `duration "-5s" is negative`},
		{File: "switchboard.yaml", Line: 12, Path: "upstreams[1].timeoutt", Message: `unknown key "timeoutt" (did you mean "timeout"?)`},
		{File: "switchboard.yaml", Line: 16, Path: "routes[0].upstreams[1]", Message: `upstream "smsx" is not defined`},
	}
	if !reflect.DeepEqual(probs, want) {
		t.Fatalf("problems:\n%v\nwant:\n%v", probs, want)
	}
	wantText := `switchboard.yaml:9: upstreams[0].timeout: duration "-5s" is negative
switchboard.yaml:12: upstreams[1].timeoutt: unknown key "timeoutt" (did you mean "timeout"?)
switchboard.yaml:16: routes[0].upstreams[1]: upstream "smsx" is not defined`
	if probs.Error() != wantText {
		t.Errorf("Error():\n%s\nwant:\n%s", probs.Error(), wantText)
	}
}

func TestExampleFile(t *testing.T) {
	t.Setenv("SWITCHBOARD_ADMIN_TOKEN", "")
	t.Setenv("FLOWBOT_JWT_SECRET", "")
	c, err := Load("../switchboard.example.yaml")
	if err != nil {
		t.Fatalf("example file: %v", err)
	}
	d := Defaults()
	// The example spells out the defaults; if they drift apart, operators are misled.
	if c.Listen != d.Listen || c.DataDir != d.DataDir || c.MaxBodyBytes != d.MaxBodyBytes || c.LogLevel != d.LogLevel ||
		!reflect.DeepEqual(c.Queue, d.Queue) || c.Retry != d.Retry || c.Breaker != d.Breaker ||
		c.Callbacks != d.Callbacks || c.Shutdown != d.Shutdown {
		t.Errorf("example file's values differ from Defaults():\n%+v\n%+v", c, d)
	}
	if c.AdminToken != "admin-demo-token" || c.Dialects["flowbot"].Value("jwt_secret") != "demo-jwt-secret-change-me-please" {
		t.Errorf("secrets = %q, %q", c.AdminToken, c.Dialects["flowbot"].Value("jwt_secret"))
	}
	// The dialect sections are kept for their vendors (the gateway's tests decode them).
	if got := slices.Sorted(maps.Keys(c.Dialects)); !slices.Equal(got, []string{"flowbot", "multiwhats", "wavy"}) {
		t.Errorf("dialect sections = %q", got)
	}
	if len(c.Tenants) != 1 || c.Tenants[0].ID != "acme" || !reflect.DeepEqual(c.Tenants[0].OptOut, OptOut{Stop: DefaultStopWords, Start: DefaultStartWords}) {
		t.Errorf("tenants = %+v", c.Tenants)
	}
	if got := slices.Sorted(maps.Keys(c.Tenants[0].Dialects)); !slices.Equal(got, []string{"flowbot", "messageflow", "multiwhats", "native", "wavy"}) {
		t.Errorf("tenant's dialect sections = %q", got)
	}
	if v := c.Tenants[0].Dialects["wavy"].Value("token"); v != "wavy-demo-token" {
		t.Errorf("tenant's wavy token = %q", v)
	}
	if len(c.Upstreams) != 1 || c.Upstreams[0].Name != "sandbox" || c.Upstreams[0].Dialect != "sandbox" {
		t.Errorf("upstreams = %+v", c.Upstreams)
	}
	if len(c.Routes) != 1 || c.Routes[0].Name != "default" || !slices.Equal(c.Routes[0].Upstreams, []string{"sandbox"}) ||
		!reflect.DeepEqual(c.Routes[0].Match, Match{}) {
		t.Errorf("routes = %+v", c.Routes)
	}
	if len(c.Templates) == 0 || c.Templates[0] != (Template{Name: "otp", Language: "en", Body: "Your code is {{1}}"}) {
		t.Errorf("templates = %+v", c.Templates)
	}
	if len(c.TemplateGroups) != 1 {
		t.Errorf("template_groups = %+v", c.TemplateGroups)
	}

	t.Setenv("FLOWBOT_JWT_SECRET", "from-the-environment-0123456789")
	if c, err = Load("../switchboard.example.yaml"); err != nil || c.Dialects["flowbot"].Value("jwt_secret") != "from-the-environment-0123456789" {
		t.Errorf("FLOWBOT_JWT_SECRET not used: %v", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		path      string
		line      int
	}{
		{"section", "queue:\n  durabilty: always\n" + okFile, "queue.durabilty", 2},
		{"flow mapping", okTenants + okUpstreams + "routes:\n  - { name: r, upstreams: [sink], match: { tenantz: [t1] } }\n", "routes[0].match.tenantz", 8},
		{"upstream breaker", okTenants + okRoutes + "upstreams:\n  - name: sink\n    dialect: sandbox\n    breaker:\n      open_forr: 1s\n", "upstreams[0].breaker.open_forr", 11},
		{"split", okTenants + okUpstreams + "routes:\n  - name: r\n    split:\n      - upstream: sink\n        weight: 1\n        wieght: 2\n", "routes[0].split[0].wieght", 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := parse(t, tc.src)
			if len(probs) != 1 || probs[0].Path != tc.path || probs[0].Line != tc.line || !strings.HasPrefix(probs[0].Message, "unknown key") {
				t.Errorf("got %v, want one unknown key at %d: %s", probs, tc.line, tc.path)
			}
		})
	}

	// Every unknown key is reported, not only the first. Those at the top level and in a
	// tenant are kept as dialect sections, for the vendors' table to claim or refuse
	// (gateway/dialects_test.go).
	c, probs := parse(t, "a: 1\nb: 2\nqueue: { c: 3, d: 4 }\n"+okFile)
	if got := paths(probs); !slices.Equal(got, []string{"queue.c", "queue.d"}) {
		t.Errorf("all unknown keys: got %v", got)
	}
	c = mustParse(t, "a: 1\nb: { x: 2 }\n"+okFile)
	if got := slices.Sorted(maps.Keys(c.Dialects)); !slices.Equal(got, []string{"a", "b"}) || c.Dialects["b"].Path() != "b" {
		t.Errorf("top-level sections kept: %q", got)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // paths
	}{
		{"listen", "listen: localhost\n" + okFile, []string{"listen"}},
		{"listen port", "listen: \"127.0.0.1:http\"\n" + okFile, []string{"listen"}},
		{"durability", "queue: { durability: sometimes }\n" + okFile, []string{"queue.durability"}},
		{"zero duration", "queue: { retention: 0s }\n" + okFile, []string{"queue.retention"}},
		{"bad duration", "retry: { max_backoff: 10 }\n" + okFile, []string{"retry.max_backoff"}},
		{"backoffs", "retry: { initial_backoff: 1m, max_backoff: 1s }\n" + okFile, []string{"retry.max_backoff"}},
		{"counts", "queue: { max_depth: 0 }\nretry: { max_attempts: -1 }\n" + okFile, []string{"queue.max_depth", "retry.max_attempts"}},
		{"disk reserve", "queue: { disk_reserve_bytes: -1, disk_reserve_percent: 60 }\n" + okFile, []string{"queue.disk_reserve_bytes", "queue.disk_reserve_percent"}},
		{"not a number", "max_body_bytes: lots\n" + okFile, []string{"max_body_bytes"}},
		{"breaker", "breaker: { failure_ratio: 1.5, half_open_probes: 0 }\n" + okFile, []string{"breaker.failure_ratio", "breaker.half_open_probes"}},
		{"no routes", okTenants + okUpstreams, []string{"routes"}},
		{"list expected", okTenants + okRoutes + "upstreams: sink\n", []string{"routes[0].upstreams[0]", "upstreams"}},

		{"upstream names", okTenants + okRoutes + "upstreams:\n  - { name: sink, dialect: sandbox }\n  - { name: sink, dialect: sandbox }\n  - { dialect: sandbox }\n",
			[]string{"upstreams[1].name", "upstreams[2].name"}},
		{"timeouts", okTenants + okRoutes + "upstreams:\n  - { name: sink, dialect: sandbox, timeout: 0s, max_conns: 0 }\n",
			[]string{"upstreams[0].timeout", "upstreams[0].max_conns"}},

		{"route refs", okTenants + okUpstreams + "routes:\n  - name: r\n    upstreams: [sink, nope]\n    split: [{ upstream: gone, weight: 1 }, { upstream: sink, weight: -1 }]\n    mirror: ghost\n    degrade: drop\n",
			[]string{"routes[0].upstreams[1]", "routes[0].split[0].upstream", "routes[0].split[1].weight", "routes[0].mirror", "routes[0].degrade"}},
		{"route empty", okTenants + okUpstreams + "routes:\n  - name: r\n  - name: r\n    upstreams: [sink]\n", []string{"routes[0].upstreams", "routes[1].name"}},
		{"match", okTenants + okUpstreams + "routes:\n  - name: r\n    upstreams: [sink]\n    match:\n      tenants: [t1, t2]\n      dialects: [wavy, native]\n      channels: [sms, fax]\n      kinds: [text, video]\n      to_prefixes: [\"+972\", \"97-2\"]\n",
			[]string{"routes[0].match.tenants[1]", "routes[0].match.channels[1]", "routes[0].match.kinds[1]", "routes[0].match.to_prefixes[1]"}},

		{"tenant ids", okUpstreams + okRoutes + "tenants:\n  - { id: a, native: { token: x } }\n  - { id: a, native: { token: y } }\n  - { native: { token: z } }\n",
			[]string{"tenants[1].id", "tenants[2].id"}},
		{"hours and zones", okUpstreams + okRoutes + `tenants:
  - id: a
    native: { token: x }
    default_country_code: "97a"
    sending_hours: { time_zone: Mars/Olympus, start: 8, end: 24 }
    callbacks: { url: "not a url" }
`, []string{"tenants[0].default_country_code", "tenants[0].sending_hours.time_zone", "tenants[0].sending_hours.end", "tenants[0].callbacks.url"}},

		{"templates", okFile + `templates:
  - { name: otp, language: en, body: "Code {{1}}" }
  - { name: otp, language: en, body: "Again {{1}}" }
  - { language: en, body: x }
template_groups:
  - { id: g, strategy: fastest, templates: [otp, missing] }
  - { id: g, templates: [] }
`, []string{"templates[1]", "templates[2].name", "template_groups[0].strategy", "template_groups[0].templates[1]", "template_groups[1].id", "template_groups[1].templates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := parse(t, tc.src)
			got := paths(probs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%v\ngot paths %q, want %q", probs, got, tc.want)
			}
			for _, p := range probs {
				// Only keys missing at the top level have no line to point at.
				if p.Line == 0 && p.Path != "routes" {
					t.Errorf("%s has no line", p.Path)
				}
			}
		})
	}
}

func TestLines(t *testing.T) {
	// Problems on keys a file leaves out carry their parent's line.
	_, probs := parse(t, okTenants+okRoutes+"upstreams:\n  - name: sink\n    dialect: sandbox\n    breaker: { consecutive_failures: 0 }\n")
	if len(probs) != 1 || probs[0].Path != "upstreams[0].breaker.consecutive_failures" || probs[0].Line != 10 {
		t.Errorf("bad value: %v, want line 10", probs)
	}

	_, probs = parse(t, "listen: [\n")
	if len(probs) != 1 || probs[0].Line != 1 || !strings.HasPrefix(probs[0].Message, "cannot parse YAML") {
		t.Errorf("syntax error: %v", probs)
	}

	_, err := Load("testdata/does-not-exist.yaml")
	if err == nil || errors.As(err, new(Problems)) {
		t.Errorf("missing file: %v", err)
	}
}

func TestCompletion(t *testing.T) {
	c := mustParse(t, `breaker: { open_for: 1m, min_requests: 50 }
tenants:
  - id: t1
    native: { token: tok1 }
    rate_per_second: 2.5
    default_country_code: "+972"
    callbacks: { url: "https://t1.example/cb" }
upstreams:
  - &base
    name: sink
    dialect: sandbox
    timeout: 2s
    breaker: { min_requests: 5 }
  - <<: *base
    name: sink2
    max_conns: 8
routes:
  - name: r
    upstreams: [sink, sink2]
    match: { to_prefixes: ["+972"] }
`)
	wantBreaker := Defaults().Breaker
	wantBreaker.OpenFor = Duration(time.Minute)
	wantBreaker.MinRequests = 5
	if b := c.Upstreams[0].Breaker; b == nil || *b != wantBreaker {
		t.Errorf("upstream breaker = %+v, want the global one with min_requests 5: %+v", b, wantBreaker)
	}
	if u := c.Upstreams[1]; u.Name != "sink2" || u.Timeout.D() != 2*time.Second || u.MaxConns != 8 {
		t.Errorf("merged upstream = %+v", u)
	}
	tn := c.Tenants[0]
	if tn.Burst != 3 || tn.DefaultCountryCode != "972" || tn.Callbacks.DeliveryURL != "https://t1.example/cb" {
		t.Errorf("tenant = %+v", tn)
	}
	if got := c.Routes[0].Match.ToPrefixes; !slices.Equal(got, []string{"972"}) {
		t.Errorf("to_prefixes = %q", got)
	}
}

func TestAliasLimits(t *testing.T) {
	// An anchor cannot refer to itself, and aliases cannot multiply a file without bound.
	_, probs := parse(t, okTenants+okUpstreams+"routes:\n  - &r { name: r, upstreams: [sink], split: *r }\n")
	if len(probs) == 0 || !strings.Contains(probs[0].Message, "no anchor") {
		t.Errorf("self alias: %v", probs)
	}

	var b strings.Builder
	b.WriteString(okTenants + okUpstreams + "routes:\n  - &r { name: r, upstreams: [")
	for range 1000 {
		b.WriteString("sink, ")
	}
	b.WriteString("sink] }\n")
	for range 1000 {
		b.WriteString("  - *r\n")
	}
	start := time.Now()
	_, probs = parse(t, b.String())
	if !slices.ContainsFunc(probs, func(p Problem) bool { return strings.Contains(p.Message, "too many values") }) {
		t.Errorf("alias expansion was not bounded: %d problems", len(probs))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("alias expansion took %v", d)
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../switchboard.example.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(okFile))
	f.Add([]byte("a: &x {b: 1}\nc: { <<: *x }\nd: [*x, *x]\n"))
	f.Add([]byte("upstreams:\n  - { name: \"${X:-y}\", timeout: -1s, credentials: { a: 1 } }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err == nil {
			if c == nil || c.Validate() != nil {
				t.Fatalf("accepted config without being valid: %+v", c)
			}
			return
		}
		var probs Problems
		if !errors.As(err, &probs) || len(probs) == 0 {
			t.Fatalf("error %T is not Problems: %v", err, err)
		}
		for _, p := range probs {
			if p.Message == "" {
				t.Fatalf("empty problem: %+v", p)
			}
		}
	})
}

// TestNatsBackend: the JetStream section is read with its defaults, checked only when it
// is the backend, and every mistake in it is named.
func TestNatsBackend(t *testing.T) {
	c := mustParse(t, `queue:
  backend: nats
  nats:
    servers: [nats://127.0.0.1:4222, "tls://n2.example:4222"]
    user: sb
    password: ${SB_NATS_PASSWORD:-pw}
    tls: { ca: /etc/nats/ca.pem }
    replicas: 3
    ack_wait: 10s
`+okFile)
	n := c.Queue.Nats
	want := Nats{Servers: []string{"nats://127.0.0.1:4222", "tls://n2.example:4222"}, User: "sb", Password: "pw",
		TLS: NatsTLS{CA: "/etc/nats/ca.pem"}, Stream: "SWITCHBOARD", Bucket: "switchboard", Replicas: 3, Shards: 1,
		AckWait: Duration(10 * time.Second), MaxDeliver: 100}
	if c.Queue.Backend != "nats" || !reflect.DeepEqual(n, want) {
		t.Errorf("queue = %+v\nwant nats %+v", c.Queue, want)
	}
	// data_dir is the Badger directory: not needed with nats.
	mustParse(t, "data_dir: \"\"\nqueue: { backend: nats, nats: { servers: [\"nats://127.0.0.1:4222\"] } }\n"+okFile)
	// A nats section is not checked while the backend is badger.
	mustParse(t, "queue: { nats: { replicas: 9 } }\n"+okFile)

	for _, tc := range []struct {
		name, queue string
		want        []string
	}{
		{"backend", "{ backend: redis }", []string{"queue.backend"}},
		{"no servers", "{ backend: nats }", []string{"queue.nats.servers"}},
		{"bad urls", "{ backend: nats, nats: { servers: [\"127.0.0.1:4222\", \"http://x:4222\", \"nats://ok:4222\"] } }",
			[]string{"queue.nats.servers[0]", "queue.nats.servers[1]"}},
		{"two auths", "{ backend: nats, nats: { servers: [\"nats://a:1\"], token: t, credentials_file: /c } }", []string{"queue.nats"}},
		{"half pairs", "{ backend: nats, nats: { servers: [\"nats://a:1\"], user: u, tls: { cert: c.pem } } }",
			[]string{"queue.nats.password", "queue.nats.tls.key"}},
		{"names", "{ backend: nats, nats: { servers: [\"nats://a:1\"], stream: \"A.B\", bucket: \"b b\" } }",
			[]string{"queue.nats.bucket", "queue.nats.stream"}},
		{"numbers", "{ backend: nats, nats: { servers: [\"nats://a:1\"], replicas: 0, shards: 65, ack_wait: 100ms, max_deliver: 5 } }",
			[]string{"queue.nats.ack_wait", "queue.nats.max_deliver", "queue.nats.replicas", "queue.nats.shards"}},
		{"no limit", "{ backend: nats, nats: { servers: [\"nats://a:1\"], max_deliver: -1 } }", nil},
	} {
		_, probs := parse(t, "queue: "+tc.queue+"\n"+okFile)
		got := paths(probs)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems at %v, want %v\n%v", tc.name, got, tc.want, probs)
		}
	}
}

// TestCallbacksAndReceipts: the callbacks section's defaults and checks, and
// receipt_timeout's rules. The credentials each upstream dialect accepts are the vendors'
// to check (gateway's TestCheckVendors).
func TestCallbacksAndReceipts(t *testing.T) {
	d := Defaults().Callbacks
	want := CallbackDelivery{Duration(5 * time.Second), 20, Duration(time.Second), Duration(2 * time.Minute), 64, 8}
	if d != want {
		t.Errorf("defaults = %+v, want %+v", d, want)
	}
	c := mustParse(t, "callbacks: { max_attempts: 3, initial_backoff: 100ms }\n"+okFile)
	if c.Callbacks.MaxAttempts != 3 || c.Callbacks.InitialBackoff.D() != 100*time.Millisecond || c.Callbacks.Timeout != want.Timeout {
		t.Errorf("callbacks = %+v", c.Callbacks)
	}
	c = mustParse(t, `tenants:
  - id: t1
    native: { token: tok1 }
    callbacks: { url: "http://127.0.0.1:9/cb", secret: s }
upstreams:
  - name: meta
    dialect: whatsappcloud
    url: "http://127.0.0.1:1"
    credentials: { token: t, phone_number_id: "1", app_secret: a, verify_token: v }
  - name: w
    dialect: wavy
    url: "http://127.0.0.1:2"
    credentials: { username: u, token: t, receipt_token: r }
  - name: h
    dialect: http
    url: "http://127.0.0.1:3"
    credentials: { receipt_token: r }
routes:
  - name: r
    upstreams: [meta, w, h]
    receipt_timeout: 1s
`)
	if tc := c.Tenants[0].Callbacks; tc.DeliveryURL != tc.URL {
		t.Errorf("delivery_url does not default to url: %+v", tc)
	}
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"callbacks", "callbacks: { timeout: 0s, max_attempts: 0, initial_backoff: 2m, max_backoff: 1m, max_concurrent: 2, per_tenant: 3 }\n" + okFile,
			[]string{"callbacks.max_attempts", "callbacks.max_backoff", "callbacks.per_tenant", "callbacks.timeout"}},
		{"receipt timeout", okTenants + okUpstreams + "  - name: sink2\n    dialect: sandbox\n" + `routes:
  - name: short
    upstreams: [sink, sink2]
    receipt_timeout: 500ms
  - name: single
    upstreams: [sink]
    receipt_timeout: 1m
  - name: negative
    upstreams: [sink]
    receipt_timeout: -1s
  - name: fine
    split: [{ upstream: sink, weight: 1 }, { upstream: sink2, weight: 1 }]
    receipt_timeout: 1m
`,
			[]string{"routes[0].receipt_timeout", "routes[1].receipt_timeout", "routes[2].receipt_timeout"}},
	} {
		_, probs := parse(t, tc.src)
		got := paths(probs)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: problems at %v, want %v\n%v", tc.name, got, tc.want, probs)
		}
	}
}

// Opt-out words default per tenant, and check refuses an empty word or one in both lists.
func TestOptOutWords(t *testing.T) {
	const tenant = "upstreams: [{ name: s, dialect: sandbox }]\nroutes: [{ name: r, upstreams: [s] }]\n" +
		"tenants:\n  - id: a\n    native: { token: t }\n"
	c, err := Parse([]byte(tenant), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Tenants[0].OptOut; !reflect.DeepEqual(o.Stop, DefaultStopWords) || !reflect.DeepEqual(o.Start, DefaultStartWords) {
		t.Fatalf("opt_out defaults = %+v", o)
	}
	_, err = Parse([]byte(tenant+"    opt_out: { stop: [STOP, \" \"], start: [\"stop!\"] }\n"), "t.yaml")
	for _, want := range []string{"tenants[0].opt_out.stop[1]", "tenants[0].opt_out.start[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check: %v, want a problem at %s", err, want)
		}
	}
}
