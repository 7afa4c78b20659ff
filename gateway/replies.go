package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// Replies in: what recipients send back arrives on the same /receipts/{upstream} URL as the
// upstream's receipts (Meta posts both to one webhook), after the same authentication.
// takeReplies reads the body with the vendor row's ParseReplies (nil: Switchboard's reply
// JSON) beside ParseReceipts, gives each reply a tenant by the upstream and the line it
// arrived on (upstreams[].replies), matches it to the message it answers (matchReply), and
// stores them in the queue (queue.Replies: on Badger fsync'd and group-committed, on
// JetStream acknowledged by the stream) before the receipt handler answers the vendor: the
// callbacks worker then posts each to its tenant at least once, in the client's dialect. A reply on a line no tenant owns is counted and dropped.

// replyRecipientScan bounds the status records read to find the last message sent to a
// recipient, for a reply that names none: beyond it the reply goes unmatched (to the tenant
// of its line) rather than slowing intake.
const replyRecipientScan = 20000

// recipientHits is how many of a recipient's newest messages are weighed for the last one
// sent through the reply's upstream.
const recipientHits = 16

// errNoReplies answers replies on a queue backend that cannot keep them: the vendor tries
// again later (or after a move to a backend that can).
var errNoReplies = canonical.Errorf(canonical.ErrUnavailable, "this queue backend keeps no replies")

// ReplyHook is told of each reply once it is stored for its tenant (the opt-out words hook
// in here: optout.go). An error answers the vendor 500, so that it posts the body again: the
// hook then sees the reply twice, and so does the client.
type ReplyHook func(r *canonical.Reply) error

// OnReply adds a hook every stored reply goes through; call it before Serve.
func (c *core) OnReply(h ReplyHook) { c.replyHooks = append(c.replyHooks, h) }

func repliesInCounter(upstream string, kind canonical.ReplyKind) *metrics.Counter {
	return metrics.GetOrCreateCounter(fmt.Sprintf(`switchboard_replies_in_total{upstream=%q,kind=%q}`, upstream, kind))
}

// repliesCounter counts replies by what intake did with them: matched (to a message),
// unmatched (to the tenant of the line only), refused (no tenant owns the line), invalid
// (the body could not be read), error (storage failed).
func repliesCounter(upstream, result string) *metrics.Counter {
	return metrics.GetOrCreateCounter(fmt.Sprintf(`switchboard_replies_total{upstream=%q,result=%q}`, upstream, result))
}

// takeReplies stores the replies of a receipt body that passed authentication. It reports
// whether the receipt handler goes on; when it does not, it has answered. A webhook vendor
// (webhook true) is answered 200 for a body it cannot read, like its receipts.
func (s *Server) takeReplies(ctx *fasthttp.RequestCtx, u *config.Upstream, webhook bool) bool {
	parse := adapters.ParseGenericReplies
	if v, ok := adapters.Lookup(s.vendors, u.Dialect); ok && v.ParseReplies != nil {
		parse = v.ParseReplies
	}
	now := time.Now()
	rs, err := parse(ctx.PostBody(), now)
	if err != nil {
		repliesCounter(u.Name, "invalid").Inc()
		s.log.Warn("replies refused: malformed", "upstream", u.Name, "err", err)
		if webhook {
			return true
		}
		s.writeNativeError(ctx, canonical.AsError(err))
		return false
	}
	if len(rs) == 0 {
		return true
	}
	kept := make([]*canonical.Reply, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		r.Upstream = u.Name
		repliesInCounter(u.Name, r.Kind).Inc()
		t := s.replyTenant(u, r.Line)
		if t == nil {
			repliesCounter(u.Name, "refused").Inc()
			s.log.Warn("reply refused: no tenant owns its line", "upstream", u.Name, "line", r.Line)
			continue
		}
		r.Tenant = t.id
		if err := s.matchReply(r, now); err != nil {
			repliesCounter(u.Name, "error").Inc()
			s.log.Error("cannot match a reply", "upstream", u.Name, "err", err)
			s.answerStorage(ctx, webhook, canonical.AsError(err))
			return false
		}
		if r.Dialect == "" {
			r.Dialect = native.Dialect
			if d := t.cfg.Replies.Dialect; d != "" {
				r.Dialect = d
			}
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		return true
	}
	rq, ok := s.q.(queue.Replies)
	if !ok {
		repliesCounter(u.Name, "error").Add(len(kept))
		s.log.Error("replies refused: the queue backend keeps none", "upstream", u.Name)
		s.answerStorage(ctx, webhook, errNoReplies)
		return false
	}
	if err := rq.AddReplies(context.Background(), kept); err != nil {
		repliesCounter(u.Name, "error").Add(len(kept))
		s.log.Error("cannot store replies", "upstream", u.Name, "err", err)
		s.answerStorage(ctx, webhook, canonical.AsError(err))
		return false
	}
	for _, r := range kept {
		result := "unmatched"
		if r.MessageID != "" {
			result = "matched"
		}
		repliesCounter(u.Name, result).Inc()
		s.log.Debug("reply stored", "upstream", u.Name, "tenant", r.Tenant, "reply", r.ID, "kind", r.Kind, "message", r.MessageID)
		for _, h := range s.replyHooks {
			if err := h(r); err != nil {
				s.log.Error("a reply hook failed; the vendor is asked to post again", "tenant", r.Tenant, "reply", r.ID, "err", err)
				ctx.SetStatusCode(500)
				return false
			}
		}
	}
	return true
}

// answerStorage answers a reply that could not be stored: in the native error shape, with
// the error's status (503 and Retry-After when it says when); a webhook vendor gets a bare
// 500 (it retries anything but a 200).
func (s *Server) answerStorage(ctx *fasthttp.RequestCtx, webhook bool, e *canonical.Error) {
	if webhook {
		ctx.SetStatusCode(500)
		return
	}
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", fmt.Sprint(int(e.RetryAfter.Seconds()+0.5)))
	}
	s.writeNativeError(ctx, e)
}

// replyTenant is the tenant that owns an upstream's replies on line, or nil.
func (s *Server) replyTenant(u *config.Upstream, line string) *tenant {
	if u.Replies == nil {
		return nil
	}
	id, ok := u.Replies.Lines[line]
	if !ok {
		id = u.Replies.Tenant
	}
	return s.dir.byID[id]
}

// matchReply finds the message r answers, of r's tenant: by our id when the vendor echoes
// it, else by the vendor's id of it (queue.UpstreamIndex), else the last message sent to
// the sender through the same upstream within the retention (queue.RecipientLookup). A
// match gives r the message's id, client ref, dialect and flow, and a pick its index among
// the message's buttons or options. No match is no error: the reply goes to the tenant.
func (s *Server) matchReply(r *canonical.Reply, now time.Time) error {
	m, err := s.answered(r, now)
	if err != nil || m == nil {
		return err
	}
	r.MessageID, r.MessageSeq, r.ClientRef, r.Dialect, r.FlowID = m.ID, m.Seq, m.ClientRef, m.Dialect, m.FlowID
	r.MessageChannel = m.Channel
	adapters.FillPickIndex(r, m)
	return nil
}

func (s *Server) answered(r *canonical.Reply, now time.Time) (*canonical.Message, error) {
	byID := func(id string) (*canonical.Message, error) {
		rec, err := s.q.Get(id)
		if errors.Is(err, queue.ErrNotFound) || (err == nil && rec.Msg.Tenant != r.Tenant) {
			return nil, nil // not ours, or another tenant's: never linked
		}
		if err != nil {
			return nil, err
		}
		return rec.Msg, nil
	}
	if r.InReplyTo != "" {
		if m, err := byID(r.InReplyTo); m != nil || err != nil {
			return m, err
		}
	}
	if ix, ok := s.q.(queue.UpstreamIndex); ok && r.InReplyToUpstreamID != "" {
		id, err := ix.ByUpstreamID(r.Upstream, r.InReplyToUpstreamID)
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return nil, err
		}
		if id != "" {
			if m, err := byID(id); m != nil || err != nil {
				return m, err
			}
		}
	}
	rl, ok := s.q.(queue.RecipientLookup)
	if !ok {
		return nil, nil
	}
	page, err := rl.ByRecipient(queue.RecipientQuery{Tenant: r.Tenant, To: r.From,
		Since: now.Add(-time.Duration(s.cfg.Queue.Retention)), Until: now.Add(time.Millisecond),
		Limit: recipientHits, Scan: replyRecipientScan})
	if err != nil {
		return nil, err
	}
	for _, rec := range page.Records { // newest first
		if rec.Msg.Upstream == r.Upstream {
			return rec.Msg, nil
		}
	}
	return nil, nil
}
