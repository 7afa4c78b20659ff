package gateway

import (
	"context"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// enqueueTimeout bounds how long a request waits for the group committer.
const enqueueTimeout = 10 * time.Second

// enqueueRenew is how long one enqueue deadline is shared by the requests that start within
// it, so each waits between enqueueTimeout-enqueueRenew and enqueueTimeout. A context with
// its own timer per request cost four allocations and two trips through the runtime's timer
// heap on every send; profiles showed it as the largest allocation site of the send path
// outside Badger.
const enqueueRenew = time.Second

// sharedDeadline is one enqueue deadline and until when new requests may take it.
type sharedDeadline struct {
	ctx   context.Context
	until int64 // UnixNano
	// cancel is never called: requests may still hold ctx, and its deadline releases it.
	cancel context.CancelFunc
}

var enqueueDeadline atomic.Pointer[sharedDeadline]

// enqueueContext returns a context that expires at most enqueueTimeout after now.
func enqueueContext(now time.Time) context.Context {
	d := enqueueDeadline.Load()
	if d != nil && now.UnixNano() < d.until {
		return d.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(enqueueTimeout))
	enqueueDeadline.CompareAndSwap(d, &sharedDeadline{ctx: ctx, until: now.Add(enqueueRenew).UnixNano(), cancel: cancel})
	return ctx
}

// sendState is the per-request scratch of the send path, pooled.
type sendState struct {
	call  adapters.Call
	batch adapters.Batch
	items []queue.Item
	body  []byte
}

var sendStates = sync.Pool{New: func() any { return new(sendState) }}

func (st *sendState) reset() {
	st.call = adapters.Call{}
	st.batch.Reset()
	clear(st.items)
	st.items = st.items[:0]
	st.body = st.body[:0]
}

// sendHandler serves one send route of a dialect: authenticate, decode, rate-limit, make
// durable, answer. Nothing is queued unless every message of the request is valid.
func (s *Server) sendHandler(in adapters.Inbound, r adapters.Route, param string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		st := sendStates.Get().(*sendState)
		defer func() { st.reset(); sendStates.Put(st) }()
		c := &st.call
		c.Op, c.Req, c.Now = r.Op, &ctx.Request, time.Now()
		if param != "" {
			c.Param, _ = ctx.UserValue(param).(string)
		}
		t, cerr := s.serveSend(ctx, in, st)
		s.noteSend(ctx, in, t, accepted(cerr != nil, &st.batch), cerr == errBadCredentials)
		if cerr != nil {
			s.writeError(ctx, in, c, cerr)
			return
		}
		c.Account = &t.account
		status, body := in.Accepted(c, &st.batch, st.body)
		st.body = body
		writeJSON(ctx, status, body)
	}
}

func (s *Server) serveSend(ctx *fasthttp.RequestCtx, in adapters.Inbound, st *sendState) (*tenant, *canonical.Error) {
	c, b := &st.call, &st.batch
	var t *tenant
	if cred, ok := in.Credential(c); ok {
		if t = s.authenticate(in, c, cred); t == nil {
			return nil, errBadCredentials
		}
		c.Account = &t.account
		if e := admit(in, c); e != nil {
			return t, e
		}
	}
	err := in.Decode(c, b)
	if t == nil {
		if b.Cred.Scheme == adapters.SchemeNone || b.Cred.Secret == "" {
			if err != nil {
				return nil, canonical.AsError(err)
			}
			return nil, errBadCredentials
		}
		if t = s.authenticate(in, c, b.Cred); t == nil {
			return nil, errBadCredentials
		}
		c.Account = &t.account
		if e := admit(in, c); e != nil {
			return t, e
		}
	}
	if err != nil {
		return t, canonical.AsError(err)
	}
	if e := t.allow(c.Now); e != nil {
		return t, e
	}
	for _, m := range b.Messages {
		m.Tenant = t.id
		if b.ID != "" {
			m.BatchID = b.ID
		}
		if m.Window == nil && t.window != nil {
			m.Window = t.window
		}
		it := queue.Item{Msg: m}
		if m.ClientRef != "" {
			it.IdemHash = contentHash(m)
			it.IdemKey = t.id + "\x00" + m.Dialect + "\x00" + m.ClientRef
			if b.RefScope == adapters.RefContent {
				it.IdemKey += "\x00" + strconv.FormatUint(it.IdemHash, 16)
			}
		}
		st.items = append(st.items, it)
	}
	dup, err := s.q.Enqueue(enqueueContext(c.Now), st.items)
	if err != nil {
		e := canonical.AsError(err)
		if e.Code == canonical.ErrInternal {
			s.log.Error("cannot enqueue", "tenant", t.id, "err", err)
		}
		return t, e
	}
	b.Dup = append(b.Dup[:0], dup...)
	return t, nil
}

// authenticate checks a credential of dialect in: a dialect that checks its own (an
// adapters.Guard) names the account, else the tenant directory finds it.
func (s *Server) authenticate(in adapters.Inbound, c *adapters.Call, cred adapters.Credential) *tenant {
	if g, ok := in.(adapters.Guard); ok {
		if acct := g.Authenticate(c, cred); acct != nil {
			return s.dir.byID[acct.Tenant]
		}
		return nil
	}
	return s.dir.authenticate(in.Dialect(), cred)
}

// admit applies a dialect's emulation of its vendor's own limits to a send of c.Account.
func admit(in adapters.Inbound, c *adapters.Call) *canonical.Error {
	if g, ok := in.(adapters.Guard); ok {
		if err := g.Admit(c); err != nil {
			return canonical.AsError(err)
		}
	}
	return nil
}

// contentHash identifies what a message says and to whom, leaving out when it was asked
// for: a repeated request must match its original even if relative times moved.
func contentHash(m *canonical.Message) uint64 {
	h := fnv.New64a()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(m.To)
	w(m.From)
	w(string(m.Channel))
	w(string(m.Kind))
	w(m.Text)
	w(m.FlowID)
	for _, md := range m.Media {
		w(md.URL)
		w(md.Caption)
		w(md.Filename)
	}
	for _, s := range m.Buttons {
		w(s)
	}
	w("\x01")
	for _, s := range m.Options {
		w(s)
	}
	if t := m.Template; t != nil {
		w(t.Name)
		w(t.ID)
		w(t.GroupID)
		w(t.Language)
		for _, p := range t.Params {
			w(p)
		}
	}
	if m.Flash {
		w("flash")
	}
	enc := (&canonical.Message{Vars: m.Vars}).AppendBinary(nil) // sorted, so map order does not matter
	h.Write(enc)
	return h.Sum64()
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(body)
}

// writeError answers e in the dialect's shape, with Retry-After when it says when.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, in adapters.Inbound, c *adapters.Call, e *canonical.Error) {
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	status, body := in.Error(c, e, nil)
	writeJSON(ctx, status, body)
}
