package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/callbacks"
	"switchboard/gateway/queue"
)

// Receipts in: each upstream posts the statuses of what it was sent to /receipts/{name}, in
// its own format, read by its vendor's row (adapters.Vendor): ParseReceipts (Wavy's callbacks,
// Meta's status webhooks), else Switchboard's own format (adapters.ParseGenericReceipts); a
// vendor with a Webhook (Meta) signs what it posts instead of presenting the receipt_token
// (receiptauth.go: one authentication step for everything posted there).
// Each receipt is recorded on its message (queue.Record), found by our id when the vendor
// echoes it, else by the vendor's id. Vendors get the answers they expect: a webhook vendor a
// quick 200 even for what is ignored, the others 200 with counts.
//
// Callbacks out, and their admin API, are in gateway/callbacks; this file wires them.

// receiptsCounter counts receipts by upstream and result (recorded, mirror, unknown, invalid,
// unauthorized, error).
func receiptsCounter(upstream, result string) *metrics.Counter {
	return metrics.GetOrCreateCounter(fmt.Sprintf(`switchboard_receipts_total{upstream=%q,result=%q}`, upstream, result))
}

func (s *Server) receiptRoutes(r *router.Router) {
	r.GET("/receipts/{upstream}", s.instrument("receipts", s.receiptVerify))
	r.POST("/receipts/{upstream}", s.instrument("receipts", s.receipt))
	r.GET("/admin/v1/callbacks/dead", s.admin(s.callbacksDead))
	r.POST("/admin/v1/callbacks/dead/replay", s.admin(s.callbacksReplayAll))
	r.POST("/admin/v1/callbacks/dead/{key}/replay", s.admin(s.callbacksReplay))
}

// receiptUpstream finds the upstream a receipt path names, or answers 404.
func (s *Server) receiptUpstream(ctx *fasthttp.RequestCtx) *config.Upstream {
	name, _ := ctx.UserValue("upstream").(string)
	for i := range s.cfg.Upstreams {
		if u := &s.cfg.Upstreams[i]; u.Name == name {
			// An upstream that delivers in-process posts no receipts.
			if v, ok := adapters.Lookup(s.vendors, u.Dialect); ok && v.NewLocal == nil {
				return u
			}
		}
	}
	s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrNotFound, Reason: "no upstream " + strconv.Quote(name) + " takes receipts"})
	return nil
}

// receiptVerify answers a webhook vendor's subscription handshake (Meta's hub.challenge),
// echoed in plain text.
func (s *Server) receiptVerify(ctx *fasthttp.RequestCtx) {
	u := s.receiptUpstream(ctx)
	if u == nil {
		return
	}
	var challenge string
	ok := false
	if wh := s.webhook(u); wh != nil {
		args := ctx.QueryArgs()
		challenge, ok = wh.Handshake(func(k string) string { return string(args.Peek(k)) }, u.Credentials)
	}
	if !ok {
		s.log.Warn("receipt subscription refused", "upstream", u.Name)
		s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrForbidden, Reason: "verification failed"})
		return
	}
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(challenge)
}

// receipt serves POST /receipts/{upstream}: the upstream is authenticated first
// (receiptauth.go), for everything it posts here.
func (s *Server) receipt(ctx *fasthttp.RequestCtx) {
	u := s.receiptUpstream(ctx)
	if u == nil || !s.authenticateReceipt(ctx, u) {
		return
	}
	if s.webhook(u) != nil {
		s.webhookReceipt(ctx, u)
		return
	}
	if !s.takeReplies(ctx, u, false) {
		return
	}
	parse := adapters.ParseGenericReceipts
	if v, ok := adapters.Lookup(s.vendors, u.Dialect); ok && v.ParseReceipts != nil {
		parse = v.ParseReceipts
	}
	rs, err := parse(ctx.PostBody(), time.Now())
	if err != nil {
		receiptsCounter(u.Name, "invalid").Inc()
		s.log.Warn("receipt refused: malformed", "upstream", u.Name, "err", err)
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	recorded, unknown, err := s.recordReceipts(u, rs)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	writeJSON(ctx, 200, fmt.Appendf(nil, `{"recorded":%d,"unknown":%d}`, recorded, unknown))
}

// webhook is the upstream's vendor's own receipt authentication, or nil.
func (s *Server) webhook(u *config.Upstream) *adapters.Webhook {
	if v, ok := adapters.Lookup(s.vendors, u.Dialect); ok {
		return v.Webhook
	}
	return nil
}

// webhookReceipt takes a status webhook whose signature checked (Meta's), and the replies in
// it: answered 200 even when nothing in it is ours or it cannot be read (the vendor retries
// anything else for days), 500 only when storage fails (worth the vendor's retry).
func (s *Server) webhookReceipt(ctx *fasthttp.RequestCtx, u *config.Upstream) {
	if !s.takeReplies(ctx, u, true) {
		return
	}
	parse := adapters.ParseGenericReceipts
	if v, ok := adapters.Lookup(s.vendors, u.Dialect); ok && v.ParseReceipts != nil {
		parse = v.ParseReceipts
	}
	rs, err := parse(ctx.PostBody(), time.Now())
	if err != nil {
		receiptsCounter(u.Name, "invalid").Inc()
		s.log.Warn("status webhook ignored: malformed", "upstream", u.Name, "err", err)
		writeJSON(ctx, 200, []byte(`{"recorded":0,"unknown":0}`))
		return
	}
	recorded, unknown, err := s.recordReceipts(u, rs)
	if err != nil {
		ctx.SetStatusCode(500)
		return
	}
	writeJSON(ctx, 200, fmt.Appendf(nil, `{"recorded":%d,"unknown":%d}`, recorded, unknown))
}

// recordReceipts records each receipt on its message. A receipt whose message is not found
// (not ours, or past retention) is counted and logged, not an error.
func (s *Server) recordReceipts(u *config.Upstream, rs []adapters.Receipt) (recorded, unknown int, err error) {
	for _, r := range rs {
		ch := r.Change
		ch.Upstream = u.Name
		// A mirror copy's receipt is counted for the mirror and goes no further: the
		// message's status is its primary's.
		if _, mirror := s.disp.Recorder().Receipt(u.Name, r.ID, r.UpstreamID, ch.Status, ch.Code, ch.Reason); mirror {
			recorded++
			receiptsCounter(u.Name, "mirror").Inc()
			continue
		}
		found, err := s.recordReceipt(u.Name, r.ID, r.UpstreamID, ch)
		if err != nil {
			receiptsCounter(u.Name, "error").Inc()
			s.log.Error("cannot record a receipt", "upstream", u.Name, "id", r.ID, "upstream_id", r.UpstreamID, "err", err)
			return recorded, unknown, err
		}
		if !found {
			unknown++
			receiptsCounter(u.Name, "unknown").Inc()
			s.log.Debug("receipt for an unknown message", "upstream", u.Name, "id", r.ID, "upstream_id", r.UpstreamID, "status", ch.Status)
			continue
		}
		recorded++
		receiptsCounter(u.Name, "recorded").Inc()
	}
	return recorded, unknown, nil
}

// recordReceipt records ch on the message upstream was sent under our id id, else under its
// own upstreamID. A message that upstream was never sent is not found, exactly as an id
// that does not exist: an upstream must not move another's messages, nor learn which ids
// exist.
func (s *Server) recordReceipt(upstream, id, upstreamID string, ch canonical.Change) (bool, error) {
	if id != "" {
		ok, err := s.sentThrough(upstream, id)
		if err != nil {
			return false, err
		}
		if ok {
			err = s.q.Record(id, ch)
			if !errors.Is(err, queue.ErrNotFound) {
				return err == nil, err
			}
		}
	}
	// The index is kept per upstream: what it finds, that upstream was sent.
	ix, ok := s.q.(queue.UpstreamIndex)
	if upstreamID == "" || !ok {
		return false, nil
	}
	ourID, err := ix.ByUpstreamID(upstream, upstreamID)
	if err == nil {
		err = s.q.Record(ourID, ch)
	}
	if errors.Is(err, queue.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// sentThrough reports whether message id was sent through upstream: remembered as accepted
// there lately, else on record as sent or attempted there (its Upstream, or a change of its
// history from that upstream: a timed-out attempt may have reached the vendor, and a message
// the receipt watchdog resent keeps its first upstream's changes). A mirror copy goes out
// under an id of its own, matched before this (compare.Recorder.Receipt).
func (s *Server) sentThrough(upstream, id string) (bool, error) {
	if s.disp.Recorder().SentThrough(upstream, id) {
		return true, nil
	}
	rec, err := s.q.Get(id)
	if errors.Is(err, queue.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rec.Msg.Upstream == upstream {
		return true, nil
	}
	for _, ch := range rec.History {
		if ch.Upstream == upstream {
			return true, nil
		}
	}
	return false, nil
}

// The admin API of dead-lettered callbacks.

// callbacksOn is the running callbacks worker; when there is none it answers 404 and
// returns nil.
func (s *Server) callbacksOn(ctx *fasthttp.RequestCtx) *callbacks.Worker {
	cb := s.cb.Load()
	if cb == nil {
		s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrNotFound, Reason: "no tenant has callbacks"})
	}
	return cb
}

// callbacksDead serves GET /admin/v1/callbacks/dead?limit=100&after=<key>.
func (s *Server) callbacksDead(ctx *fasthttp.RequestCtx) {
	cb := s.callbacksOn(ctx)
	if cb == nil {
		return
	}
	limit, ok := s.adminLimit(ctx)
	if !ok {
		return
	}
	ds, err := cb.Dead(string(ctx.QueryArgs().Peek("after")), limit)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	s.writeValue(ctx, 200, map[string]any{"dead": ds})
}

// callbacksReplay serves POST /admin/v1/callbacks/dead/{key}/replay: posted again now.
func (s *Server) callbacksReplay(ctx *fasthttp.RequestCtx) {
	cb := s.callbacksOn(ctx)
	if cb == nil {
		return
	}
	key, _ := ctx.UserValue("key").(string)
	d, err := cb.Replay(key)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	s.log.Info("callback replayed", "key", d.Key)
	s.writeValue(ctx, 200, map[string]any{"key": d.Key, "status": "delivered"})
}

// callbacksReplayAll serves POST /admin/v1/callbacks/dead/replay?limit=100.
func (s *Server) callbacksReplayAll(ctx *fasthttp.RequestCtx) {
	cb := s.callbacksOn(ctx)
	if cb == nil {
		return
	}
	limit, ok := s.adminLimit(ctx)
	if !ok {
		return
	}
	delivered, failed, err := cb.ReplayAll(limit)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	s.log.Info("callbacks replayed", "delivered", delivered, "failed", failed)
	s.writeValue(ctx, 200, map[string]int{"delivered": delivered, "failed": failed})
}

func (s *Server) adminLimit(ctx *fasthttp.RequestCtx) (int, bool) {
	limit := 100
	if v := ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n <= 0 || n > 10000 {
			s.writeNativeError(ctx, canonical.Invalid("limit", "must be a number from 1 to 10000"))
			return 0, false
		}
		limit = n
	}
	return limit, true
}

// newCallbacks builds the callbacks worker when a tenant has a callback URL and the queue
// has a change feed; nil otherwise.
func newCallbacks(cfg *config.Config, q queue.Queue, log *slog.Logger) (*callbacks.Worker, error) {
	tenants := callbackTenants(cfg)
	if len(tenants) == 0 {
		return nil, nil
	}
	src, ok := q.(callbacks.Source)
	if !ok {
		log.Warn("the queue backend has no change feed: status callbacks are off")
		return nil, nil
	}
	return callbacks.New(src, tenants, callbacksOptions(cfg, log))
}
