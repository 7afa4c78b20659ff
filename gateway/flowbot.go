package gateway

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/config"
)

// maxCachedTokens bounds the cache of verified FlowBot tokens; when full it is emptied
// (clients keep one token for its lifetime, so the working set is small).
const maxCachedTokens = 10_000

// maxTrackedIPs bounds the memory of the per-IP token limit; past it, expired windows are
// dropped, and if none has expired the oldest are.
const maxTrackedIPs = 100_000

// flowbotState is what the FlowBot dialect needs beyond translation: the verification of
// its JWTs (cached) and the per-IP limit on /api/auth/api-token. Issuing tokens is the
// dialect's (flowbot.Inbound.Serve).
type flowbotState struct {
	secret []byte
	limit  int
	window time.Duration

	mu  sync.Mutex
	ips map[string]ipWindow

	// verified caches tokens whose signature was checked: token -> verifiedToken.
	verified     sync.Map
	verifiedSize atomic.Int64
}

type verifiedToken struct {
	clientID string
	expires  time.Time
}

type ipWindow struct {
	start time.Time
	count int
}

func newFlowbotState(cfg *config.Config) *flowbotState {
	return &flowbotState{
		secret: []byte(cfg.FlowBot.JWTSecret),
		limit:  cfg.FlowBot.TokenRequestsPerWindow, window: time.Duration(cfg.FlowBot.TokenWindow),
		ips: map[string]ipWindow{},
	}
}

// allowIP counts a token request from ip in a fixed window, as the vendor documents
// ("10 requests / 15 min per IP").
func (f *flowbotState) allowIP(ip string, now time.Time) bool {
	if f.limit <= 0 {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.ips[ip]
	if !ok || now.Sub(w.start) >= f.window {
		if !ok && len(f.ips) >= maxTrackedIPs {
			f.evict(now)
		}
		w = ipWindow{start: now}
	}
	w.count++
	f.ips[ip] = w
	return w.count <= f.limit
}

func (f *flowbotState) evict(now time.Time) {
	for ip, w := range f.ips {
		if now.Sub(w.start) >= f.window || len(f.ips) >= maxTrackedIPs {
			delete(f.ips, ip)
		}
		if len(f.ips) < maxTrackedIPs*9/10 {
			return
		}
	}
}

// verify checks a FlowBot JWT, remembering good ones until they expire: verifying the
// signature costs far more than the rest of a request.
func (f *flowbotState) verify(token string, now time.Time) (string, bool) {
	if v, ok := f.verified.Load(token); ok {
		vt := v.(verifiedToken)
		if now.Before(vt.expires) {
			return vt.clientID, true
		}
		f.verified.Delete(token)
	}
	clientID, exp, err := flowbot.VerifyTokenExpiry(f.secret, token, now)
	if err != nil {
		return "", false
	}
	if f.verifiedSize.Add(1) > maxCachedTokens {
		f.verified.Clear()
		f.verifiedSize.Store(1)
	}
	f.verified.Store(token, verifiedToken{clientID: clientID, expires: exp})
	return clientID, true
}

// flowbotRoute reports whether a Bearer credential is FlowBot's JWT rather than a native token.
func (s *Server) flowbotRoute(c *adapters.Call) bool {
	return bytes.HasPrefix(c.Req.URI().Path(), []byte("/api/"))
}

// authenticateFlowBot checks a FlowBot JWT, or an HMAC signature of the raw body against
// every tenant's secret (each compared in constant time).
func (s *Server) authenticateFlowBot(c *adapters.Call, cred adapters.Credential) *tenant {
	switch cred.Scheme {
	case adapters.SchemeBearer:
		clientID, ok := s.fb.verify(cred.Secret, c.Now)
		if !ok {
			return nil
		}
		return s.dir.byClient[clientID]
	case adapters.SchemeHMAC:
		var found *tenant
		for _, t := range s.dir.tenants {
			if fc := t.cfg.FlowBot; fc != nil && fc.HMACSecret != "" &&
				flowbot.CheckSignature(c.Req.Body(), cred.Secret, []byte(fc.HMACSecret)) && found == nil {
				found = t
			}
		}
		return found
	}
	return nil
}
