package gateway

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/adapters/registry"
	"switchboard/config"
)

const (
	checkTenants = `tenants:
  - id: t1
    native: { token: tok1 }
`
	checkUpstreams = `upstreams:
  - name: sink
    dialect: sandbox
`
	checkRoutes = `routes:
  - name: r
    upstreams: [sink]
`
	checkFile = checkTenants + checkUpstreams + checkRoutes
)

// TestCheckVendors: what only a vendor knows is checked through the vendor table, with the
// path and line of each mistake, as `switchboard check` and serve both run it.
func TestCheckVendors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // paths
	}{
		{"fine", checkFile, nil},
		{"options", "multiwhats: { reply: maybe }\nwavy: { single_reply: list }\nmessageflow: { default_country_code: \"97a\" }\n" + checkFile,
			[]string{"messageflow.default_country_code", "multiwhats.reply", "wavy.single_reply"}},
		{"jwt secret short", checkUpstreams + checkRoutes + "flowbot: { jwt_secret: short }\ntenants:\n  - { id: a, flowbot: { client_id: c, api_key: k } }\n",
			[]string{"flowbot.jwt_secret"}},
		{"token ttl", "flowbot: { max_token_ttl: 0s }\n" + checkFile, []string{"flowbot.max_token_ttl"}},
		{"dialect", checkTenants + checkRoutes + "upstreams:\n  - { name: sink, dialect: smtp, url: \"http://x\" }\n", []string{"upstreams[0].dialect"}},
		{"ingress only", checkTenants + checkRoutes + "upstreams:\n  - { name: sink, dialect: native, url: \"http://x\" }\n", []string{"upstreams[0].dialect"}},
		{"url", checkTenants + checkRoutes + "upstreams:\n  - { name: sink, dialect: http }\n  - { name: b, dialect: http, url: \"ftp://x/y\" }\n",
			[]string{"upstreams[0].url", "upstreams[1].url"}},
		{"credentials", checkTenants + checkRoutes + "upstreams:\n  - name: sink\n    dialect: wavy\n    url: \"https://api-messaging.wavy.global\"\n    credentials: { username: u, tokn: x }\n",
			[]string{"upstreams[0].credentials.receipt_token", "upstreams[0].credentials.token", "upstreams[0].credentials.tokn"}},
		// An upstream whose receipts endpoint would take anything from anyone is refused,
		// unless it says receipts: open; open means nothing where receipts are signed or
		// there are none, and is ambiguous beside a token.
		{"open receipts", checkTenants + `upstreams:
  - { name: closed, dialect: http, url: "http://127.0.0.1:1/m", credentials: { receipt_token: x } }
  - { name: open, dialect: wavy, url: "http://127.0.0.1:1", receipts: open, credentials: { username: u, token: t } }
  - { name: unsaid, dialect: multiwhats, url: "http://127.0.0.1:1", credentials: { apikey: k } }
  - { name: both, dialect: http, url: "http://127.0.0.1:1/m", receipts: open, credentials: { receipt_token: x } }
  - { name: meta, dialect: whatsappcloud, url: "http://127.0.0.1:1", receipts: open, credentials: { token: t, phone_number_id: "1", app_secret: s } }
  - { name: sink, dialect: sandbox, receipts: open }
` + checkRoutes, []string{"upstreams[2].credentials.receipt_token", "upstreams[3].receipts", "upstreams[4].receipts", "upstreams[5].receipts"}},
		{"receipt credentials", checkTenants + `upstreams:
  - name: sink
    dialect: sandbox
    credentials: { receipt_token: x }
  - name: meta
    dialect: whatsappcloud
    url: "http://127.0.0.1:1"
    credentials: { token: t, phone_number_id: "1", receipt_token: x }
` + checkRoutes, []string{"upstreams[0].credentials.receipt_token", "upstreams[1].credentials.receipt_token"}},
		// The adapter's own construction runs too: serve would refuse this id.
		{"phone number id", checkTenants + `upstreams:
  - name: sink
    dialect: whatsappcloud
    url: "http://127.0.0.1:1"
    credentials: { token: t, phone_number_id: "abc" }
` + checkRoutes, []string{"upstreams[0].credentials.phone_number_id"}},
		{"replies in-process", checkTenants + checkRoutes + "upstreams:\n  - { name: sink, dialect: sandbox, replies: { tenant: t1 } }\n",
			[]string{"upstreams[0].replies"}},
		{"replies dialect", checkUpstreams + checkRoutes + "tenants:\n  - id: t1\n    native: { token: tok1 }\n    replies: { url: \"http://127.0.0.1:1/r\", dialect: whatsappcloud }\n",
			[]string{"tenants[0].replies.dialect"}},
		// The dialect sections: each decoded and checked by its vendor, through the table.
		{"unknown top-level key", "listn: x\n" + checkFile, []string{"listn"}},
		{"unknown tenant key", checkUpstreams + checkRoutes + "tenants:\n  - id: t1\n    native: { token: a }\n    smtp: { user: u }\n", []string{"tenants[0].smtp"}},
		{"unknown key in a section", checkUpstreams + checkRoutes + "tenants:\n  - id: t1\n    flowbot:\n      client_id: c\n      api_key: k\n      hmac_secrett: s\nflowbot: { jwt_secret: 0123456789abcdef, max_token_tl: 1h }\n",
			[]string{"flowbot.max_token_tl", "tenants[0].flowbot.hmac_secrett"}},
		{"bad value in a section", "flowbot: { token_window: soon, token_requests_per_window: 0 }\n" + checkFile, []string{"flowbot.token_window"}},
		{"section limits", "flowbot: { token_requests_per_window: 0 }\n" + checkFile, []string{"flowbot.token_requests_per_window"}},
		{"shared credentials", checkUpstreams + checkRoutes + `tenants:
  - id: a
    messageflow: { uuid: "6A708FEA-A4D0-4976-A180-9F3BDD3DE52E" }
    multiwhats: { apikey: k }
  - id: b
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats: { apikey: k }
    wavy: { username: u, token: t }
  - id: c
    wavy: { username: u, token: other }
    native: { token: n }
`, []string{"tenants[1].messageflow.uuid", "tenants[1].multiwhats.apikey", "tenants[2].wavy.username"}},
		{"tenant credentials", checkUpstreams + checkRoutes + "tenants:\n  - id: a\n    wavy: { username: u, time_zone: Nowhere/Town }\n    flowbot: { client_id: c }\n  - id: b\nflowbot: { jwt_secret: 0123456789abcdef }\n",
			[]string{"tenants[0].flowbot.api_key", "tenants[0].wavy.time_zone", "tenants[0].wavy.token", "tenants[1]"}},
		{"jwt secret missing", checkUpstreams + checkRoutes + "tenants:\n  - { id: a, flowbot: { client_id: c, api_key: k } }\n", []string{"flowbot.jwt_secret"}},
		{"flowbot flows", checkUpstreams + checkRoutes + `flowbot: { jwt_secret: 0123456789abcdef }
tenants:
  - id: a
    flowbot:
      client_id: ca
      api_key: ka
      flows:
        - { id: f1, auth: basic, secret: s }
        - { id: f2, auth: none, secret: s }
        - { id: f3, auth: bearer }
  - id: b
    flowbot:
      client_id: cb
      api_key: kb
      flows: [{ id: f1, auth: api_key, secret: s2 }]
`, []string{"tenants[0].flowbot.flows[0].username", "tenants[0].flowbot.flows[1].auth", "tenants[0].flowbot.flows[2].secret", "tenants[1].flowbot.flows[0].id"}},
		{"match dialects", checkTenants + checkUpstreams + "routes:\n  - name: r\n    upstreams: [sink]\n    match:\n      dialects: [wavy, native, smtp, whatsappcloud]\n",
			[]string{"routes[0].match.dialects[2]", "routes[0].match.dialects[3]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.src), "switchboard.yaml")
			if err != nil {
				t.Fatalf("config's own checks: %v", err)
			}
			err = Check(cfg)
			var probs config.Problems
			if err != nil && !errors.As(err, &probs) {
				t.Fatalf("Check error is %T, want config.Problems: %v", err, err)
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.Path)
				// A key missing from a section the file leaves out has no line to point at.
				if p.Line == 0 && p.Path != "flowbot.jwt_secret" {
					t.Errorf("%s has no line", p.Path)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%v\ngot paths %q, want %q", probs, got, tc.want)
			}
		})
	}
}

// TestCheckMessages: a vendor's problem reads as config's own do, file and line first; a
// misspelt key is told the key it probably means, and an unset variable is named.
func TestCheckMessages(t *testing.T) {
	for src, want := range map[string]string{
		"listn: x\n" + checkFile:                     `sb.yaml:1: listn: unknown key "listn" (did you mean "listen"?)`,
		"wavi: { single_reply: list }\n" + checkFile: `sb.yaml:1: wavi: unknown key "wavi" (did you mean "wavy"?)`,
		checkUpstreams + checkRoutes + "tenants:\n  - id: a\n    wavy:\n      username: u\n":                     `sb.yaml:9: tenants[0].wavy.token: is required`,
		checkUpstreams + checkRoutes + "tenants:\n  - id: t1\n    native: { token: \"${SB_UNSET_VARIABLE}\" }\n": `tenants[0].native.token: is required (${SB_UNSET_VARIABLE} is not set)`,
	} {
		cfg, err := config.Parse([]byte(src), "sb.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %v, want %s", err, want)
		}
	}

	cfg, err := config.Parse([]byte("wavy: { single_reply: list }\n"+checkFile), "sb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = Check(cfg)
	if err == nil || !strings.Contains(err.Error(), `sb.yaml:1: wavy.single_reply: "list" is not one of array, object`) {
		t.Errorf("Check = %v", err)
	}
}

// TestExampleDialects: the example file's dialect sections decode, through the vendors, to
// each dialect's defaults (the example spells them out; if they drift apart, operators are
// misled), but for the FlowBot signing secret it sets; its tenant speaks every dialect.
func TestExampleDialects(t *testing.T) {
	cfg, err := config.Load("../switchboard.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vendors := registry.Vendors()
	d, err := checkVendors(cfg, vendors)
	if err != nil {
		t.Fatal(err)
	}
	var entries []adapters.TenantEntry
	for _, v := range vendors {
		if v.Options == nil {
			continue
		}
		entries = entries[:0]
		if c, ok := d.tenants[0].creds[v.Name]; ok {
			entries = append(entries, adapters.TenantEntry{Account: d.tenants[0].account, Credentials: c})
		}
		def, err := v.Options(func(any) error { return nil }, entries)
		if err != nil {
			t.Fatal(err)
		}
		got := d.options[v.Name]
		if fb, ok := got.(flowbot.Options); ok {
			if string(fb.JWTSecret) != "demo-jwt-secret-change-me-please" {
				t.Errorf("flowbot.jwt_secret = %q", fb.JWTSecret)
			}
			fb.JWTSecret = []byte{}
			got = fb
		}
		if !reflect.DeepEqual(got, def) {
			t.Errorf("%s: the example's options %+v differ from the defaults %+v", v.Name, got, def)
		}
	}
	if got := slices.Sorted(maps.Keys(d.tenants[0].creds)); !slices.Equal(got, []string{"flowbot", "messageflow", "multiwhats", "native", "wavy"}) {
		t.Errorf("the example tenant's dialects = %q", got)
	}
	if a := d.tenants[0].account; a.Tenant != "acme" || a.ClientID != "aiflow_acme" {
		t.Errorf("the example tenant's account = %+v", a)
	}
}
