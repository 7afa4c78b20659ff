package gateway

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// maxStatusList is how many changed statuses one GET /v1/sms/status/list returns.
const maxStatusList = 1000

// wavyTenant authenticates a Wavy status request from its headers (or query).
func (s *Server) wavyTenant(ctx *fasthttp.RequestCtx, c *adapters.Call) *tenant {
	cred, ok := s.wavy.Credential(c)
	var t *tenant
	if ok {
		t = s.dir.authenticate(cred)
	}
	if t == nil {
		s.writeError(ctx, s.wavy, c, errBadCredentials)
	}
	return t
}

// wavyStatusQuery serves POST /v1/sms/status/search and the legacy GET /v1/sms-status
// from the gateway's own status records.
func (s *Server) wavyStatusQuery(ctx *fasthttp.RequestCtx) {
	c := &adapters.Call{Op: adapters.OpStatusQuery, Req: &ctx.Request, Now: time.Now()}
	t := s.wavyTenant(ctx, c)
	if t == nil {
		return
	}
	ids, refs, err := wavy.ParseStatusSearch(c)
	if err != nil {
		s.writeError(ctx, s.wavy, c, canonical.AsError(err))
		return
	}
	for _, ref := range refs {
		found, err := s.lookups().ByRef(t.id, ref)
		if err != nil {
			s.writeError(ctx, s.wavy, c, canonical.AsError(err))
			return
		}
		ids = append(ids, found...)
	}
	entries := make([]wavy.StatusEntry, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		rec, err := s.q.Get(id)
		if errors.Is(err, queue.ErrNotFound) || (err == nil && rec.Msg.Tenant != t.id) {
			continue // unknown ids are simply absent, as the vendor answers
		}
		if err != nil {
			s.writeError(ctx, s.wavy, c, canonical.AsError(err))
			return
		}
		entries = append(entries, wavy.StatusEntry{Message: rec.Msg, History: rec.History})
	}
	writeJSON(ctx, 200, wavy.AppendStatusAnswer(nil, entries))
}

// wavyStatusList serves GET /v1/sms/status/list: the statuses that changed since the
// tenant's last call.
func (s *Server) wavyStatusList(ctx *fasthttp.RequestCtx) {
	c := &adapters.Call{Op: adapters.OpStatusList, Req: &ctx.Request, Now: time.Now()}
	t := s.wavyTenant(ctx, c)
	if t == nil {
		return
	}
	recs, err := s.lookups().Changes(t.id, maxStatusList)
	if err != nil {
		s.writeError(ctx, s.wavy, c, canonical.AsError(err))
		return
	}
	entries := make([]wavy.StatusEntry, 0, len(recs))
	for _, r := range recs {
		entries = append(entries, wavy.StatusEntry{Message: r.Msg, History: r.History})
	}
	writeJSON(ctx, 200, wavy.AppendStatusAnswer(nil, entries))
}
