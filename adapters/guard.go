package adapters

// Guard is an Inbound that checks its own credentials rather than leaving them to the
// gateway's tenant directory, because checking them is the vendor's knowledge (FlowBot:
// the JWTs it issues, HMAC signatures, the api-token exchange, legacy per-flow modes), and
// that may emulate the vendor's own request limits. The gateway hands Authenticate every
// credential a request of the dialect presents, and calls Admit for every authenticated
// send before queueing it.
type Guard interface {
	Inbound
	// Authenticate returns the account cred belongs to, or nil. Secrets are compared in
	// constant time. c.Req holds the request (a signature covers its body).
	Authenticate(c *Call, cred Credential) *Account
	// Admit applies the vendor's own limits to a send of c.Account; a refusal is a
	// *canonical.Error, answered in the dialect's shape (with Retry-After when it says when).
	Admit(c *Call) error
}

// Heir is an Inbound that holds state worth keeping across a reload (verified tokens, rate
// windows). The gateway hands the dialect it builds on reload the one it replaces; Inherit
// takes what is still valid under the new options.
type Heir interface {
	Inherit(old Inbound)
}
