package config

import "strconv"

// FlowBotFlow is one FlowBot flow that also accepts one of the vendor's legacy per-flow
// credentials, besides the JWT every flow accepts: its lead endpoint
// (/api/webhook/flow/{id}/lead) and outbound triggers naming it as flowId.
type FlowBotFlow struct {
	// ID is the flow's id, as requests name it.
	ID string `yaml:"id"`
	// Auth is the legacy mode: "api_key" (the X-API-Key header), "basic" (HTTP Basic with
	// Username and Secret as the password) or "bearer" (a fixed verify token,
	// Authorization: Bearer).
	Auth string `yaml:"auth"`
	// Username is Basic's user name.
	Username string `yaml:"username"`
	// Secret is the API key, the Basic password or the verify token.
	Secret string `yaml:"secret"`
}

// flowBotAuthModes are the legacy per-flow modes a flow may accept.
var flowBotAuthModes = []string{"api_key", "basic", "bearer"}

// flowBotTenant checks a tenant's legacy flows: each flow belongs to one tenant, and a
// mode's secret (and Basic's user) must be given.
func (k *checker) flowBotTenant(p string, f *TenantFlowBot, seen credentials) {
	for i, fl := range f.Flows {
		fp := p + ".flowbot.flows[" + strconv.Itoa(i) + "]"
		k.required(fp+".id", fl.ID)
		k.unique(seen, fp+".id", "flowbot.flow", fl.ID)
		k.oneOf(fp+".auth", fl.Auth, flowBotAuthModes...)
		k.required(fp+".secret", fl.Secret)
		if fl.Auth == "basic" {
			k.required(fp+".username", fl.Username)
		}
	}
}
