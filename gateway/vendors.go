package gateway

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// ingressDialect is one dialect the listener serves, built from its vendor's row.
type ingressDialect struct {
	name string
	in   adapters.Inbound
}

// newIngress builds every ingress dialect of the table with its options as its vendor read
// them from config (d). A dialect that holds state (an adapters.Heir) inherits it from the
// one in old it replaces.
func newIngress(d *dialects, vendors []adapters.Vendor, old []ingressDialect) ([]ingressDialect, error) {
	var out []ingressDialect
	for _, v := range vendors {
		if !v.Ingress || v.NewInbound == nil {
			continue
		}
		in, err := v.NewInbound(d.options[v.Name])
		if err != nil {
			return nil, fmt.Errorf("cannot build dialect %s: %w", v.Name, err)
		}
		if h, ok := in.(adapters.Heir); ok {
			for _, o := range old {
				if o.name == v.Name {
					h.Inherit(o.in)
				}
			}
		}
		out = append(out, ingressDialect{name: v.Name, in: in})
	}
	return out, nil
}

// opHandler serves one non-send route of a dialect: the gateway authenticates what the
// dialect's Credential reads, then the dialect answers from the records it may read.
func (s *Server) opHandler(op adapters.Operator, rt adapters.Route) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c := &adapters.Call{Op: rt.Op, Req: &ctx.Request, Now: time.Now(), RemoteIP: ctx.RemoteIP()}
		if cred, ok := op.Credential(c); ok {
			if t := s.authenticate(op, c, cred); t != nil {
				c.Account = &t.account
			}
		}
		status, body, err := op.Serve(c, adapters.Env{Store: recordStore{s.q, s.lookups()}, Replies: replyStoreOf(s.q)}, nil)
		if err != nil {
			e := canonical.AsError(err)
			if e.Code == canonical.ErrInternal {
				s.log.Error("cannot serve "+string(rt.Op), "dialect", op.Dialect(), "err", err)
			}
			s.writeError(ctx, op, c, e)
			return
		}
		writeJSON(ctx, status, body)
	}
}

// recordStore lends a dialect's operations the queue's records and its lookups.
type recordStore struct {
	q queue.Queue
	l queue.Lookups
}

func (r recordStore) Get(id string) (*adapters.Record, error) {
	rec, err := r.q.Get(id)
	if err != nil {
		return nil, err
	}
	return &adapters.Record{Msg: rec.Msg, History: rec.History}, nil
}

func (r recordStore) ByRef(tenant, ref string) ([]string, error) { return r.l.ByRef(tenant, ref) }

func (r recordStore) TemplateSentSince(tenant string, to []string, template string, since time.Time) (map[string]time.Time, error) {
	return r.l.TemplateSentSince(tenant, to, template, since)
}

func (r recordStore) Changes(tenant string, max int) ([]*adapters.Record, error) {
	recs, err := r.l.Changes(tenant, max)
	if err != nil {
		return nil, err
	}
	out := make([]*adapters.Record, len(recs))
	for i, rec := range recs {
		out[i] = &adapters.Record{Msg: rec.Msg, History: rec.History}
	}
	return out, nil
}
