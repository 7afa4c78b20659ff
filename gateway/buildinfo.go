package gateway

// userAgent names this build in the User-Agent of every upstream request.
func userAgent() string { return "switchboard/" + Version() }
