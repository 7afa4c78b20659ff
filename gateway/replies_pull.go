package gateway

import (
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// Replies pulled: native clients page through their replies with GET /gateway/v1/replies
// and a cursor of their own; a dialect's operations (Wavy's receive/list and receive/search)
// read them through adapters.Env.Replies, whose Unlisted keeps a durable cursor per tenant
// in the queue's consumer state.

// Pull bounds.
const (
	// pullLimit and maxPullLimit are the replies one GET /gateway/v1/replies returns when
	// the client gives no limit, and at most.
	pullLimit    = 100
	maxPullLimit = 1000
	// pullPage is how many replies one read of the queue takes while Between filters them.
	pullPage = 1000
	// maxBetweenScan bounds the replies Between reads for one answer.
	maxBetweenScan = 100000
)

func (s *Server) replyRoutes(r *router.Router) {
	r.GET("/gateway/v1/replies", s.instrument(native.Dialect, s.pullReplies))
}

// pullReplies serves GET /gateway/v1/replies?after=<cursor>&limit=<n>: the tenant's replies
// after the cursor (from the oldest retained without one), oldest first, as Switchboard's
// reply JSON, and the cursor to pass next: {"replies":[...],"next":"<cursor>"}.
func (s *Server) pullReplies(ctx *fasthttp.RequestCtx) {
	t := s.nativeTenant(ctx)
	if t == nil {
		return
	}
	ctx.SetUserValue(tenantValue, t.id)
	args := ctx.QueryArgs()
	var after uint64
	if v := args.Peek("after"); len(v) > 0 {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			s.writeNativeError(ctx, canonical.Invalid("after", "must be a cursor this endpoint returned as next"))
			return
		}
		after = n
	}
	limit := pullLimit
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxPullLimit {
			s.writeNativeError(ctx, canonical.Invalid("limit", "must be a number from 1 to %d", maxPullLimit))
			return
		}
		limit = n
	}
	rq, ok := s.q.(queue.Replies)
	if !ok {
		s.writeNativeError(ctx, errNoReplies)
		return
	}
	rs, err := rq.ReadReplies(t.id, after, limit)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	body := append(make([]byte, 0, 256*len(rs)+32), `{"replies":[`...)
	for i := range rs {
		if i > 0 {
			body = append(body, ',')
		}
		body = adapters.AppendGenericReply(body, &rs[i])
		after = rs[i].Seq
	}
	body = strconv.AppendUint(append(body, `],"next":"`...), after, 10)
	writeJSON(ctx, 200, append(body, `"}`...))
}

// replyStore lends the dialects' operations the tenants' replies (adapters.ReplyStore).
type replyStore struct {
	q     queue.Replies
	state queue.State
}

// replyStoreOf is the queue's replies for Env, or nil when the backend keeps none.
func replyStoreOf(q queue.Queue) adapters.ReplyStore {
	rq, ok := q.(queue.Replies)
	st, ok2 := q.(queue.State)
	if !ok || !ok2 {
		return nil
	}
	return replyStore{rq, st}
}

// unlistedMu makes Unlisted's read and cursor move one step: two clients listing at once
// never get the same replies.
var unlistedMu sync.Mutex

func unlistedKey(tenant string) string { return "rp/unlisted/" + tenant }

// Unlisted returns up to max of the tenant's replies no earlier call returned, and moves
// the tenant's cursor past them. A tenant's first call starts with the retained replies.
func (r replyStore) Unlisted(tenant string, max int) ([]canonical.Reply, error) {
	unlistedMu.Lock()
	defer unlistedMu.Unlock()
	v, err := r.state.GetState(unlistedKey(tenant))
	if err != nil {
		return nil, err
	}
	var after uint64
	if len(v) == 8 {
		after = binary.BigEndian.Uint64(v)
	}
	rs, err := r.q.ReadReplies(tenant, after, max)
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	if err := r.state.PutState(unlistedKey(tenant), binary.BigEndian.AppendUint64(nil, rs[len(rs)-1].Seq), 0); err != nil {
		return nil, err
	}
	return rs, nil
}

// Between returns up to max of the tenant's replies received in [start, end), reading at
// most maxBetweenScan of them.
func (r replyStore) Between(tenant string, start, end time.Time, max int) ([]canonical.Reply, error) {
	var out []canonical.Reply
	var after uint64
	for read := 0; len(out) < max && read < maxBetweenScan; {
		rs, err := r.q.ReadReplies(tenant, after, pullPage)
		if err != nil {
			return nil, err
		}
		for _, rp := range rs {
			if !rp.ReceivedAt.Before(start) && rp.ReceivedAt.Before(end) && len(out) < max {
				out = append(out, rp)
			}
		}
		if len(rs) < pullPage {
			break
		}
		read += len(rs)
		after = rs[len(rs)-1].Seq
	}
	return out, nil
}
