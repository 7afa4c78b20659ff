package gateway

import (
	"errors"
	"slices"
	"strings"
	"testing"

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
				if p.Line == 0 {
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

// TestCheckMessages: a vendor's problem reads as config's own do, file and line first.
func TestCheckMessages(t *testing.T) {
	cfg, err := config.Parse([]byte("wavy: { single_reply: list }\n"+checkFile), "sb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = Check(cfg)
	if err == nil || !strings.Contains(err.Error(), `sb.yaml:1: wavy.single_reply: "list" is not one of array, object`) {
		t.Errorf("Check = %v", err)
	}
}
