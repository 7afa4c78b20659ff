package gateway

import (
	"strings"
	"testing"
	"time"

	"switchboard/internal/testutil"
)

// FlowBot to FlowBot: flow variables arrive with the JSON types the client gave them, in
// the outbound trigger and in a lead (#18 point 12).
func TestFlowBotDataKeepsTypes(t *testing.T) {
	fbSim := startSim(t, "flowbot")
	base := startGateway(t, `upstreams:
  - { name: fb, dialect: flowbot, url: "`+fbSim+`", credentials: { client_id: aiflow_acme, api_key: sk_demo }, receipts: open }
routes:
  - { name: r, match: {}, upstreams: [fb] }
`)
	fb := flowbotToken(t, base)
	status, answer := post(t, base+"/api/webhook/outbound", fb,
		`{"phone":"+972501234567","flowId":"f1","data":{"total":149.90,"tags":["a","b"],"vip":true,"none":null,"name":"Ana","n":"3","addr":{"zip":6100000}}}`)
	if status != 200 {
		t.Fatalf("outbound: %d %s", status, answer)
	}
	status, answer = post(t, base+"/api/webhook/flow/f2/lead", fb, `{"phone":"+972501234567","age":41,"consent":false,"score":"7"}`)
	if status != 200 {
		t.Fatalf("lead: %d %s", status, answer)
	}
	var outbound, lead string
	testutil.WaitFor(t, 15*time.Second, "both requests at the FlowBot upstream", func() bool {
		for _, r := range simRequests(t, fbSim) {
			switch {
			case strings.HasSuffix(r.URI, "/api/webhook/outbound"):
				outbound = r.Body
			case strings.HasSuffix(r.URI, "/lead"):
				lead = r.Body
			}
		}
		return outbound != "" && lead != ""
	})
	for _, want := range []string{`"total":149.90`, `"tags":["a","b"]`, `"vip":true`, `"none":null`, `"name":"Ana"`, `"n":"3"`, `"addr":{"zip":6100000}`} {
		if !strings.Contains(outbound, want) {
			t.Errorf("the outbound trigger lacks %s: %s", want, outbound)
		}
	}
	for _, want := range []string{`"age":41`, `"consent":false`, `"score":"7"`} {
		if !strings.Contains(lead, want) {
			t.Errorf("the lead lacks %s: %s", want, lead)
		}
	}
}
