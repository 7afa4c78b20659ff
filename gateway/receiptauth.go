package gateway

import (
	"log/slog"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/canonical"
	"switchboard/config"
)

// Authentication of what upstreams post to /receipts/{name}: receipts and, on the same
// endpoint, recipients' replies. It is one step, before the body is read for either: the
// vendor's own signature where it signs (adapters.Webhook: Meta's X-Hub-Signature-256 with
// the upstream's app_secret), else the upstream's receipt_token as a Bearer token or
// ?token= (the way every other vendor's callback URL can carry it: none of their documents
// defines a signature). An upstream with neither is refused by check, unless its config
// says `receipts: open`. What authentication proves is only which upstream is posting:
// recordReceipts still records a receipt only on a message that upstream sent.

// receiptTokenKey is the credential holding the upstream's receipt token.
const receiptTokenKey = "receipt_token"

// authenticateReceipt is that step. It answers 401 itself, and returns false, when the
// request is refused.
func (s *Server) authenticateReceipt(ctx *fasthttp.RequestCtx, u *config.Upstream) bool {
	if wh := s.webhook(u); wh != nil {
		if wh.Signed(ctx.PostBody(), func(h string) string { return string(ctx.Request.Header.Peek(h)) }, u.Credentials) {
			return true
		}
		receiptsCounter(u.Name, "unauthorized").Inc()
		s.log.Warn("status webhook refused: bad signature, or no secret to check it with", "upstream", u.Name)
		s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "invalid signature"})
		return false
	}
	tok := u.Credentials[receiptTokenKey]
	if tok == "" && u.Receipts == config.ReceiptsOpen {
		return true
	}
	got, _ := native.BearerToken(ctx.Request.Header.Peek("Authorization"))
	if got == "" {
		got = string(ctx.QueryArgs().Peek("token"))
	}
	// An empty token (an upstream check would have refused) matches nothing.
	if tok != "" && equalSecret(got, tok) {
		return true
	}
	receiptsCounter(u.Name, "unauthorized").Inc()
	s.log.Warn("receipt refused: bad receipt token", "upstream", u.Name)
	s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "a valid receipt token is required"})
	return false
}

// checkReceipts reports an upstream whose receipts endpoint would take anything from anyone:
// one that posts receipts, with no signature of its vendor's to check and no receipt_token,
// unless `receipts: open` says so. `receipts: open` is refused where it means nothing.
func checkReceipts(cfg *config.Config, probs *config.Problems, path string, u *config.Upstream, v *adapters.Vendor) {
	open := u.Receipts == config.ReceiptsOpen
	switch {
	case v.NewLocal != nil:
		if open {
			*probs = append(*probs, cfg.Problem(path+".receipts", "%s delivers in-process and posts no receipts", u.Dialect))
		}
	case v.Webhook != nil:
		if open {
			*probs = append(*probs, cfg.Problem(path+".receipts", "%s signs what it posts: its receipts are always verified, never open", u.Dialect))
		}
	case u.Credentials[receiptTokenKey] != "":
		if open {
			*probs = append(*probs, cfg.Problem(path+".receipts", "is open but credentials.receipt_token is set (and required): leave one out"))
		}
	case !open:
		*probs = append(*probs, cfg.Problem(path+".credentials."+receiptTokenKey,
			"is required: without it anyone who can reach the gateway could post receipts to /receipts/%s; "+
				"give the vendor the token (as a Bearer token or ?token=), or set receipts: open to take them unauthenticated", u.Name))
	}
}

// warnOpenReceipts logs, at start, each upstream whose receipts are taken unauthenticated.
func warnOpenReceipts(cfg *config.Config, log *slog.Logger) {
	for _, u := range cfg.Upstreams {
		if u.Receipts == config.ReceiptsOpen {
			log.Warn("receipts are taken unauthenticated, from anyone who can reach the gateway (receipts: open): set a receipt_token",
				"upstream", u.Name, "path", "/receipts/"+u.Name)
		}
	}
}
