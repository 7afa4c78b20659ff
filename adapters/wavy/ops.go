package wavy

import (
	"errors"

	"switchboard/adapters"
	"switchboard/canonical"
)

// maxStatusList is how many changed statuses one GET /v1/sms/status/list returns.
const maxStatusList = 1000

// Serve answers the status endpoints from the gateway's records: the status search and the
// legacy single-id query (OpStatusQuery) by ids and correlation ids, and the list of the
// statuses that changed since the tenant's last call (OpStatusList).
func (in *Inbound) Serve(c *adapters.Call, env adapters.Env, dst []byte) (int, []byte, error) {
	if c.Account == nil {
		return 0, dst, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "invalid credentials"}
	}
	tenant := c.Account.Tenant
	if c.Op == adapters.OpReplyList || c.Op == adapters.OpReplySearch {
		return serveReceive(c, env, dst)
	}
	var entries []StatusEntry
	switch c.Op {
	case adapters.OpStatusQuery:
		ids, refs, err := ParseStatusSearch(c)
		if err != nil {
			return 0, dst, err
		}
		for _, ref := range refs {
			found, err := env.Store.ByRef(tenant, ref)
			if err != nil {
				return 0, dst, err
			}
			ids = append(ids, found...)
		}
		entries = make([]StatusEntry, 0, len(ids))
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			rec, err := env.Store.Get(id)
			if notFound(err) || (err == nil && rec.Msg.Tenant != tenant) {
				continue // unknown ids are simply absent, as the vendor answers
			}
			if err != nil {
				return 0, dst, err
			}
			entries = append(entries, StatusEntry{Message: rec.Msg, History: rec.History})
		}
	case adapters.OpStatusList:
		recs, err := env.Store.Changes(tenant, maxStatusList)
		if err != nil {
			return 0, dst, err
		}
		entries = make([]StatusEntry, 0, len(recs))
		for _, r := range recs {
			entries = append(entries, StatusEntry{Message: r.Msg, History: r.History})
		}
	default:
		return 0, dst, canonical.Errorf(canonical.ErrNotFound, "no such endpoint")
	}
	return 200, AppendStatusAnswer(dst, entries), nil
}

func notFound(err error) bool {
	var e *canonical.Error
	return errors.As(err, &e) && e.Code == canonical.ErrNotFound
}

var _ adapters.Operator = (*Inbound)(nil)
