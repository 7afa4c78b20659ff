package dispatch

import (
	"strings"
	"testing"

	"switchboard/adapters"
	"switchboard/canonical"
)

// TestForeignFlow: a flow is its vendor's own. A Wavy flow bound for a FlowBot upstream
// fails (or, under foreign_flow: text, goes as its text alone); the same flow to a Wavy
// upstream, a native client's flow, and any flow to an upstream that forwards the
// canonical message are carried as they are.
func TestForeignFlow(t *testing.T) {
	flowbot := &upstream{name: "fb", dialect: "flowbot", caps: capsOf(adapters.Caps{Text: true, Template: true, Flow: true})}
	wavy := &upstream{name: "wv", dialect: "wavy", caps: capsOf(adapters.Caps{Text: true, Flash: true, Flow: true})}
	cloud := &upstream{name: "cloud", dialect: "whatsappcloud", caps: capsOf(adapters.Caps{Text: true, Template: true})}
	sink := &upstream{name: "sink", dialect: "http", caps: capsOf(adapters.Caps{Text: true, Flow: true, ForeignFlow: true})}
	wavyFlow := &canonical.Message{Dialect: "wavy", FlowID: "bot-7", Text: "hello", Vars: map[string]string{"name": "Ana"}}

	if m, why := fit(wavyFlow, flowbot, policyDegrade, false, &testCatalogue); m != nil || !strings.Contains(why, `flow "bot-7" is a wavy flow`) {
		t.Fatalf("wavy flow to flowbot under degrade: %+v %q", m, why)
	}
	for _, p := range []policy{policyNext, policyFail} {
		if m, why := fit(wavyFlow, flowbot, p, false, &testCatalogue); m != nil || why != "upstream fb cannot carry another vendor's flow" {
			t.Fatalf("policy %d: %+v %q", p, m, why)
		}
	}
	m, why := fit(wavyFlow, flowbot, policyFlowText, false, &testCatalogue)
	if why != "" || m.FlowID != "" || m.Vars != nil || m.Text != "hello" || m.Kind != canonical.KindText {
		t.Fatalf("foreign_flow text: %+v %q", m, why)
	}
	if wavyFlow.FlowID != "bot-7" || wavyFlow.Vars == nil {
		t.Fatal("the original message was changed")
	}
	noText := &canonical.Message{Dialect: "wavy", FlowID: "bot-7", Vars: map[string]string{"name": "Ana"}}
	if m, why := fit(noText, flowbot, policyFlowText, false, &testCatalogue); m != nil || !strings.Contains(why, "no text to send") {
		t.Fatalf("flow without text under foreign_flow text: %+v %q", m, why)
	}
	for _, tc := range []struct {
		name string
		m    *canonical.Message
		u    *upstream
	}{
		{"wavy flow to wavy", wavyFlow, wavy},
		{"wavy flow to a canonical sink", wavyFlow, sink},
		{"native flow to flowbot", &canonical.Message{Dialect: "native", FlowID: "f", Text: "x"}, flowbot},
		{"a template sent through a flow", &canonical.Message{Dialect: "flowbot", FlowID: "f",
			Template: &canonical.Template{Name: "otp", Language: "en"}}, cloud},
	} {
		if m, why := fit(tc.m, tc.u, policyFail, false, &testCatalogue); m != tc.m || why != "" {
			t.Errorf("%s: %+v %q", tc.name, m, why)
		}
	}
	if _, err := parsePolicy("degrade", "drop"); err == nil {
		t.Error("foreign_flow drop accepted")
	}
}
