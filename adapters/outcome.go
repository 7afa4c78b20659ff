package adapters

// UpstreamFault reports whether an HTTP status from an upstream's send endpoint says that
// the upstream, or Switchboard's configuration of it, is wrong, not the message: 401 and 407
// (credentials missing, refused or expired), 403 (the account may not send), 404 and 405 (a
// wrong URL, account id or method). Such an answer is a Retry whatever its body says: it
// counts against the upstream's breaker, the route fails over to its next upstream, and once
// the attempts run out the message is dead-lettered, to be replayed when the upstream is
// fixed. Failing the message at once would drop every message sent while, say, a token is
// expired. Only the vendor's own validation errors say a message is bad.
func UpstreamFault(status int) bool {
	switch status {
	case 401, 403, 404, 405, 407:
		return true
	}
	return false
}
