package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

// optOutList reads GET /admin/v1/opt-outs.
func optOutList(t *testing.T, addr, query string) []struct{ Tenant, Number, Source string } {
	t.Helper()
	code, body := get("http://"+addr+"/admin/v1/opt-outs"+query, adminAuth)
	var a struct {
		OptOuts []struct{ Tenant, Number, Source string } `json:"opt_outs"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
		t.Fatalf("opt-outs%s: %d %s", query, code, body)
	}
	return a.OptOuts
}

// TestOptOutByAdmin: a number an operator puts on the tenant's opt-out list gets no message:
// each fails at once with the opt-out code, and the upstream never sees it, while other
// numbers are sent; the list survives kill -9; taken off, the number is sent to again.
func TestOptOutByAdmin(t *testing.T) {
	s := startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: s})
	p := startProc(t, addr, "serve", "-config", cfgPath)

	if code, body := do("POST", "http://"+addr+"/admin/v1/opt-outs", adminAuth, `{"tenant":"acme","number":"+972 50-555-1000"}`); code != 200 {
		t.Fatalf("add: %d %s", code, body)
	}
	for body, want := range map[string]string{
		`{"tenant":"nobody","number":"+972505551000"}`: "tenant",
		`{"tenant":"acme","number":"12"}`:              "number",
	} {
		if code, got := do("POST", "http://"+addr+"/admin/v1/opt-outs", adminAuth, body); code != 400 || !strings.Contains(got, want) {
			t.Errorf("add %s: %d %s, want 400 naming %s", body, code, got, want)
		}
	}
	if code, _ := do("POST", "http://"+addr+"/admin/v1/opt-outs", nil, `{"tenant":"acme","number":"+972505551000"}`); code != 401 {
		t.Errorf("add without the admin token: %d, want 401", code)
	}

	send := func(to string) string {
		t.Helper()
		code, body := sendNative(addr, `{"to":"`+to+`","text":"hello"}`)
		if code != 202 {
			t.Fatalf("send to %s: %d %s", to, code, body)
		}
		return messageID(t, body)
	}
	blocked, other := send("+972505551000"), send("+972505552000")
	st := waitFinal(t, addr, []string{blocked, other}, 20*time.Second)
	if b := st[blocked]; b.Status != canonical.StatusFailed || len(b.History) == 0 || b.History[len(b.History)-1].Code != canonical.CodeOptedOut {
		t.Fatalf("the opted-out number's message: %+v, want failed with code %s", b, canonical.CodeOptedOut)
	}
	if st[other].Status != canonical.StatusSent {
		t.Fatalf("another number's message: %+v, want sent", st[other])
	}
	if s.count(blocked) != 0 || s.count(other) != 1 {
		t.Fatalf("the upstream saw the opted-out message %d times and the other %d times", s.count(blocked), s.count(other))
	}

	// The list is durable: kill -9 and start again on the same data.
	p.kill()
	startProc(t, addr, "serve", "-config", cfgPath)
	if l := optOutList(t, addr, "?tenant=acme"); len(l) != 1 || l[0].Number != "972505551000" || l[0].Source != "admin" {
		t.Fatalf("after kill -9 the list is %+v", l)
	}
	if again := send("+972505551000"); waitFinal(t, addr, []string{again}, 20*time.Second)[again].Status != canonical.StatusFailed {
		t.Fatalf("after a restart the opted-out number was sent to")
	}

	if code, body := do("DELETE", "http://"+addr+"/admin/v1/opt-outs/acme/972505551000", adminAuth, ""); code != 200 {
		t.Fatalf("remove: %d %s", code, body)
	}
	if code, _ := do("DELETE", "http://"+addr+"/admin/v1/opt-outs/acme/972505551000", adminAuth, ""); code != 404 {
		t.Errorf("removing a number not on the list: %d, want 404", code)
	}
	if l := optOutList(t, addr, ""); len(l) != 0 {
		t.Fatalf("after removal the list is %+v", l)
	}
	back := send("+972505551000")
	if got := waitFinal(t, addr, []string{back}, 20*time.Second)[back]; got.Status != canonical.StatusSent || s.count(back) != 1 {
		t.Fatalf("after removal: %+v, sink saw it %d times", got, s.count(back))
	}
}
