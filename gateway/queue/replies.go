package queue

import (
	"context"

	"switchboard/canonical"
)

// Replies is the optional capability of a backend that keeps the recipients' replies: each
// is written in one group commit with a change-feed entry of its tenant (FeedEntry.Reply), so
// the callbacks worker posts it with the same cursors, retries and dead letters as status
// callbacks, and with a history entry on the message it answers (StatusReplied, which never
// moves the status). Both backends implement it (replies_badger.go; JetStream's in
// jetstream/replies.go, where a reply and its history entry are two writes, not one
// commit); a backend without it has the gateway refuse replies with ErrUnavailable, so that
// the vendor tries again later.
type Replies interface {
	// AddReplies makes the replies durable (fsync'd, with durability "always") before it
	// returns; it sets each one's ID (when empty) and Seq (its feed Seq). Every reply must
	// have its Tenant set.
	AddReplies(ctx context.Context, rs []*canonical.Reply) error
	// ReadReplies returns up to max of the tenant's replies with Seq > after, oldest
	// first, within the retention.
	ReadReplies(tenant string, after uint64, max int) ([]canonical.Reply, error)
}

// ReplyChange is the history entry a reply adds to the message it answers.
func ReplyChange(r *canonical.Reply) canonical.Change {
	return canonical.Change{Status: canonical.StatusReplied, At: r.ReceivedAt.UTC(), Upstream: r.Upstream,
		Reason: "reply " + string(r.Kind) + " " + r.ID}
}

// CheckReplies is how every backend's AddReplies checks its replies: none may be nil or
// without a tenant.
func CheckReplies(rs []*canonical.Reply) error {
	for _, r := range rs {
		if r == nil || r.Tenant == "" {
			return canonical.Errorf(canonical.ErrInternal, "cannot store a reply without a tenant")
		}
	}
	return nil
}
