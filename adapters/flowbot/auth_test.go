package flowbot

import (
	"encoding/base64"
	"testing"
	"time"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

// TestLegacyCredentials: a flow's legacy credential opens that flow alone, read as the
// decoder reads it (a repeated flowId is the last), on the endpoints that take its mode.
func TestLegacyCredentials(t *testing.T) {
	acct := adaptertest.TestAccount
	in := New(Options{JWTSecret: testSecret, Clients: []Client{{ID: "aiflow_acme", Account: acct, APIKey: "sk_demo", Flows: []Flow{
		{ID: "f-token", Mode: ModeBearer, Secret: "verify"},
		{ID: "f-basic", Mode: ModeBasic, Username: "crm", Secret: "pw"},
		{ID: "f-key", Mode: ModeAPIKey, Secret: "key"},
	}}}})
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("crm:pw"))
	for _, tc := range []struct {
		name       string
		op         adapters.Op
		uri, body  string
		header, hv string
		ok         bool
	}{
		{"verify token, outbound", adapters.OpOutbound, "/api/webhook/outbound", `{"phone":"+972501234567","flowId":"f-token"}`, "Authorization", "Bearer verify", true},
		{"verify token, another flow after it", adapters.OpOutbound, "/api/webhook/outbound", `{"flowId":"f-token","phone":"+972501234567","flowId":"f-key"}`, "Authorization", "Bearer verify", false},
		{"verify token, bulk-send", adapters.OpBulk, "/api/templates/bulk-send", `{"flowId":"f-token","templateId":"t","phones":["+972501234567"]}`, "Authorization", "Bearer verify", false},
		{"verify token, lead", adapters.OpLead, "/api/webhook/flow/f-token/lead", `{"phone":"+972501234567"}`, "Authorization", "Bearer verify", true},
		{"basic, lead", adapters.OpLead, "/api/webhook/flow/f-basic/lead", `{"phone":"+972501234567"}`, "Authorization", basic, true},
		{"basic, another flow's lead", adapters.OpLead, "/api/webhook/flow/f-token/lead", `{"phone":"+972501234567"}`, "Authorization", basic, false},
		{"api key, lead", adapters.OpLead, "/api/webhook/flow/f-key/lead", `{"phone":"+972501234567"}`, "X-API-Key", "key", true},
		{"api key, wrong", adapters.OpLead, "/api/webhook/flow/f-key/lead", `{"phone":"+972501234567"}`, "X-API-Key", "kez", false},
		{"malformed basic", adapters.OpLead, "/api/webhook/flow/f-basic/lead", `{"phone":"+972501234567"}`, "Authorization", "Basic !!!", false},
	} {
		c := call(tc.op, "POST", tc.uri, tc.body, tc.header, tc.hv)
		c.Account = nil
		got := false
		if cred, ok := in.Credential(c); ok {
			got = in.Authenticate(c, cred) != nil
		}
		if got != tc.ok {
			t.Errorf("%s: authenticated %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// TestEmulatedOutboundLimit: 30 outbound requests a minute for a tenant that asks for the
// vendor's limits, the 31st refused until the minute is over; nothing for the others.
func TestEmulatedOutboundLimit(t *testing.T) {
	in := New(Options{Clients: []Client{
		{ID: "a", Account: adapters.Account{Tenant: "limited"}, VendorLimits: true},
		{ID: "b", Account: adapters.Account{Tenant: "free"}},
	}})
	c := &adapters.Call{Op: adapters.OpOutbound, Now: adaptertest.Now, Account: &adapters.Account{Tenant: "limited"}}
	for i := range OutboundPerMinute {
		if err := in.Admit(c); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	c.Now = adaptertest.Now.Add(20 * time.Second)
	if err := in.Admit(c); err == nil || canonical.AsError(err).RetryAfter != 40*time.Second {
		t.Fatalf("request 31 of the minute: %v, want refused until the minute is over (40s)", err)
	}
	c.Now = adaptertest.Now.Add(time.Minute)
	if err := in.Admit(c); err != nil {
		t.Fatalf("the next minute: %v", err)
	}
	free := &adapters.Call{Op: adapters.OpOutbound, Now: adaptertest.Now, Account: &adapters.Account{Tenant: "free"}}
	for range 2 * OutboundPerMinute {
		if err := in.Admit(free); err != nil {
			t.Fatalf("a tenant without vendor limits: %v", err)
		}
	}
}
