package sim

import (
	"fmt"
	"strings"
	"time"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/adapters/registry"
)

// Dialects lists what can be simulated: every vendor of the table that is both an upstream
// and has an Inbound to decode its requests with, and the http upstream.
func Dialects() []string {
	var out []string
	for _, v := range registry.Vendors() {
		if v.NewInbound != nil && v.NewOutbound != nil {
			out = append(out, v.Name)
		}
	}
	return append(out, httpDialect)
}

// newInbound builds the dialect a simulator decodes and answers with, from its vendor row.
func newInbound(dialect string, creds Credentials) (adapters.Inbound, error) {
	if dialect == httpDialect {
		return httpInbound{}, nil
	}
	v, ok := adapters.Lookup(registry.Vendors(), dialect)
	if !ok || v.NewInbound == nil || v.NewOutbound == nil {
		return nil, fmt.Errorf("unknown dialect %q: %s", dialect, strings.Join(Dialects(), ", "))
	}
	return v.NewInbound(simOptions(dialect, creds))
}

// simMaxTokenTTL caps the tokens the FlowBot simulator issues: far above any lifetime a
// client asks for, so the simulator grants what it is asked, as it always has.
const simMaxTokenTTL = 10 * 365 * 24 * time.Hour

// simOptions are a simulated dialect's options: the vendor's as documented, with
// FlowBot's tokens signed by the simulator's own secret.
func simOptions(dialect string, creds Credentials) adapters.Options {
	if dialect == flowbot.Dialect {
		return flowbot.Options{JWTSecret: []byte(creds.JWTSecret), MaxTokenTTL: simMaxTokenTTL, Clients: []flowbot.Client{{ID: creds.ClientID,
			Account: adapters.Account{Tenant: "sim", ClientID: creds.ClientID, ClientNumber: "sim-client"}, APIKey: creds.ClientAPIKey, HMACSecret: creds.HMACSecret}}}
	}
	return nil
}
