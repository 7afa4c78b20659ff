package jetstream

import (
	"context"
	"errors"
	"strings"

	"github.com/goccy/go-json"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The recipients' replies (queue.Replies), in the change feed's stream S_FEED beside the
// status changes, on a subject of their own per tenant:
//
//	S.reply.<tenant>   the reply as JSON (without its Seq: that is the stream sequence).
//
// So one sequence orders a tenant's status changes and replies: ReadFeed reads both with
// the filter S.*.<tenant> and returns the replies as FeedEntry.Reply, for the callbacks
// worker; ReadReplies (the pulls) reads S.reply.<tenant> alone, without stepping over the
// status changes; Changes (Wavy's status list) reads S.feed.<tenant> alone, so it never
// sees a reply. A reply is published with the Nats-Msg-Id r/<reply id>, so a publish tried
// again stores it once, and AddReplies returns once JetStream acknowledged every one
// (stored per the stream's replicas and the servers' sync settings, as Enqueue). A reply
// that answers a message then adds queue.ReplyChange to that message's history through
// Record's path, without a feed entry: it posts no status callback.

var _ queue.Replies = (*Queue)(nil)

// replyIDPrefix starts a reply's Nats-Msg-Id (a message's feed entries use its id).
const replyIDPrefix = "r/"

// feedFilter matches a tenant's feed entries and replies.
func (q *Queue) feedFilter(tenant string) string { return q.opts.Stream + ".*." + token(tenant) }

// AddReplies makes the replies durable in their tenants' feeds; see queue.Replies.
func (q *Queue) AddReplies(ctx context.Context, rs []*canonical.Reply) error {
	if err := queue.CheckReplies(rs); err != nil {
		return err
	}
	if q.closed.Load() {
		return queue.ErrClosing
	}
	if len(rs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(rs))
	for i, rp := range rs {
		if rp.ID == "" {
			rp.ID = canonical.NewID()
		}
		seq := rp.Seq
		rp.Seq = 0 // the stream sequence is the Seq
		b, err := json.Marshal(rp)
		rp.Seq = seq
		if err != nil {
			return canonical.Errorf(canonical.ErrInternal, "cannot encode a reply: %v", err)
		}
		msg := &nats.Msg{Subject: q.replyPre + token(rp.Tenant), Data: b, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, replyIDPrefix+rp.ID)
		if futures[i], err = q.js.PublishMsgAsync(msg); err != nil {
			return q.unavailable("add replies", err)
		}
	}
	for i, f := range futures {
		ack, err := waitAck(ctx, f)
		if err != nil {
			return q.unavailable("add replies", err)
		}
		rs[i].Seq = ack.Sequence // a duplicate's ack gives the sequence stored first
	}
	for _, rp := range rs {
		if rp.MessageID == "" {
			continue
		}
		// The message may be past retention: the reply is kept all the same.
		if _, _, err := q.addChange(ctx, rp.MessageID, queue.ReplyChange(rp)); err != nil && !errors.Is(err, queue.ErrNotFound) {
			return err
		}
	}
	return nil
}

// ReadReplies returns up to max of the tenant's replies after Seq after; see queue.Replies.
func (q *Queue) ReadReplies(tenant string, after uint64, max int) ([]canonical.Reply, error) {
	var out []canonical.Reply
	err := q.scanFeed("read replies", q.replyPre+token(tenant), after, func(m *jetstream.RawStreamMsg) bool {
		if rp := q.decodeReply(m); rp != nil {
			out = append(out, *rp)
		}
		return len(out) < max
	}, max > 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// isReply reports whether a message of S_FEED is a reply.
func (q *Queue) isReply(m *jetstream.RawStreamMsg) bool {
	return strings.HasPrefix(m.Subject, q.replyPre)
}

// decodeReply reads a reply's message of S_FEED; nil (logged) when it is corrupt.
func (q *Queue) decodeReply(m *jetstream.RawStreamMsg) *canonical.Reply {
	rp := new(canonical.Reply)
	if err := json.Unmarshal(m.Data, rp); err != nil {
		q.log.Error("corrupt reply in the feed; skipped", "seq", m.Sequence, "err", err)
		return nil
	}
	rp.Seq = m.Sequence
	return rp
}
