package gateway

import (
	"time"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/config"
)

// flowbotOptions are the FlowBot dialect's options: the flowbot section and each tenant's
// FlowBot credentials, which the dialect checks itself.
func flowbotOptions(cfg *config.Config) flowbot.Options {
	f := cfg.FlowBot
	o := flowbot.Options{JWTSecret: []byte(f.JWTSecret), MaxTokenTTL: time.Duration(f.MaxTokenTTL),
		TokenRequests: f.TokenRequestsPerWindow, TokenWindow: time.Duration(f.TokenWindow)}
	for _, t := range cfg.Tenants {
		tf := t.FlowBot
		if tf == nil {
			continue
		}
		cl := flowbot.Client{ID: tf.ClientID,
			Account: adapters.Account{Tenant: t.ID, ClientID: tf.ClientID, ClientNumber: tf.ClientNumber, CountryCode: t.DefaultCountryCode},
			APIKey:  tf.APIKey, HMACSecret: tf.HMACSecret, VendorLimits: tf.VendorLimits,
		}
		for _, fl := range tf.Flows {
			cl.Flows = append(cl.Flows, flowbot.Flow{ID: fl.ID, Mode: fl.Auth, Username: fl.Username, Secret: fl.Secret})
		}
		o.Clients = append(o.Clients, cl)
	}
	return o
}
