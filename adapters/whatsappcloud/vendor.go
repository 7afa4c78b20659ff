package whatsappcloud

import (
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Vendor is the Cloud API's row in the vendor table. Clients do not speak it to the gateway:
// its Inbound serves the simulator.
func Vendor() adapters.Vendor {
	return adapters.Vendor{
		Name:       Dialect,
		NewInbound: adapters.InboundOf(func(adapters.NoOptions) *Inbound { return New() }),
		Credentials: adapters.CredentialSchema{Required: []string{"token", "phone_number_id"},
			Optional: []string{"version", "language", "app_secret", "verify_token"}},
		NewOutbound:   NewOutbound,
		ParseReceipts: ParseReceipts,
		ParseReplies:  ParseReplies,
		Webhook:       &adapters.Webhook{Handshake: handshake, Signed: signed},
	}
}

// handshake answers Meta's subscription check: hub.mode=subscribe, hub.verify_token (the
// upstream's verify_token) and hub.challenge, echoed.
func handshake(query func(string) string, creds map[string]string) (string, bool) {
	return VerifyChallenge(query("hub.mode"), query("hub.verify_token"), query("hub.challenge"), creds["verify_token"])
}

// signed checks X-Hub-Signature-256 with the upstream's app_secret.
func signed(body []byte, header func(string) string, creds map[string]string) bool {
	return CheckSignature(body, header("X-Hub-Signature-256"), []byte(creds["app_secret"]))
}

// ParseReceipts reads a status webhook as receipts. Its signature is checked before, with
// CheckSignature.
func ParseReceipts(body []byte, _ time.Time) ([]adapters.Receipt, error) {
	sts, err := ParseStatusWebhook(body)
	if err != nil {
		return nil, err
	}
	rs := make([]adapters.Receipt, len(sts))
	for i, st := range sts {
		rs[i] = adapters.Receipt{ID: st.CallbackData, UpstreamID: st.MessageID, Change: canonical.Change{Status: st.Status, At: st.At, Code: st.Code, Reason: st.Reason}}
	}
	return rs, nil
}
