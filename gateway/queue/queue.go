// Package queue is Switchboard's durable write-ahead queue.
//
// The contract, which every backend keeps: when Enqueue returns nil, the messages are on disk
// (fsync'd, with durability "always") and each will be leased for sending until it is
// finished (sent, failed, expired) or dead-lettered, across crashes and restarts.
// Delivery toward upstreams is at-least-once: a message leased before a crash is due again
// at startup.
package queue

import (
	"context"
	"time"

	"switchboard/canonical"
)

// Item is one message to enqueue.
type Item struct {
	Msg *canonical.Message
	// IdemKey, when set, makes the enqueue idempotent: the caller scopes it (tenant, dialect,
	// client ref, and for content-scoped refs a content hash). Kept for the retention period.
	IdemKey string
	// IdemHash is a hash of the message's content. The same IdemKey with the same hash is a
	// repeat; with a different hash it is a conflict.
	IdemHash uint64
}

// Record is a message with its status history.
type Record struct {
	Msg     *canonical.Message `json:"message"`
	History []canonical.Change `json:"history"`
}

// Stats is the queue's size, for the admin API and metrics.
type Stats struct {
	// Depth is every live message: scheduled, ready and in flight.
	Depth     int64 `json:"depth"`
	Ready     int64 `json:"ready"`
	Scheduled int64 `json:"scheduled"`
	InFlight  int64 `json:"in_flight"`
	Dead      int64 `json:"dead"`
}

// Queue is implemented by every backend (Badger is the embedded default).
type Queue interface {
	// Enqueue makes the items durable and schedules them. It sets each message's ID (when
	// empty), Seq, CreatedAt and Status (queued, or scheduled when NotBefore is ahead).
	// An item that repeats an earlier IdemKey with the same IdemHash is not stored: its
	// message gets the original ID, Seq, CreatedAt and Status, and dup[i] is true.
	// Errors are *canonical.Error: ErrConflict (an IdemKey with a different IdemHash;
	// nothing stored), ErrUnavailable with RetryAfter (over max depth, or closing).
	Enqueue(ctx context.Context, items []Item) (dup []bool, err error)

	// Lease takes up to max messages that are due, marks them in flight (status sending)
	// and returns them. It waits until one is due or ctx is done.
	Lease(ctx context.Context, max int) ([]*canonical.Message, error)
	// Finish ends a leased message with a final status (sent, delivered, failed, expired,
	// rejected, dead), removing it from the live set and recording the change. A dead message
	// goes to the dead-letter list.
	Finish(m *canonical.Message, ch canonical.Change) error
	// Retry returns a leased message to the schedule, due at at, recording the change
	// (m.Attempts and m.LastError as the caller set them).
	Retry(m *canonical.Message, at time.Time, ch canonical.Change) error
	// Release returns a leased message to the schedule without an attempt (every upstream's
	// breaker open, or shutting down).
	Release(m *canonical.Message, at time.Time) error

	// Record adds a status change to a message that may no longer be live (a delivery
	// receipt). A change that would move the status backwards is kept in the history only.
	Record(id string, ch canonical.Change) error
	// Get returns a message and its history while it is live or within retention.
	Get(id string) (*Record, error)

	// DeadLetters lists up to max dead messages, oldest first.
	DeadLetters(max int) ([]*Record, error)
	// Replay moves a dead message back to the schedule, due now, with attempts reset.
	Replay(id string) error

	Stats() Stats
	// Close stops the committer, returns in-flight messages to the schedule and closes storage.
	Close() error
}

// ErrNotFound is returned by Get, Record and Replay for an unknown (or expired) id.
var ErrNotFound = canonical.Errorf(canonical.ErrNotFound, "message not found")

// closingRetryAfter and fullRetryAfter are the waits a caller is told when the queue is
// closing, or over its MaxDepth.
const (
	closingRetryAfter = time.Second
	fullRetryAfter    = time.Second
)

// ErrClosing is returned by every backend's methods once Close has begun, and ErrFull by
// Enqueue over MaxDepth: both are ErrUnavailable with a RetryAfter, so that the client tries
// again (another gateway, or this one restarted or drained).
var (
	ErrClosing = &canonical.Error{Code: canonical.ErrUnavailable, Reason: "queue is closing", RetryAfter: closingRetryAfter}
	ErrFull    = &canonical.Error{Code: canonical.ErrUnavailable, Reason: "queue full", RetryAfter: fullRetryAfter}
)

// The interfaces below are optional capabilities. A backend may implement them; the gateway
// type-asserts and, without them, answers the vendors' status queries with ErrUnavailable
// (Lookups), posts no client callbacks (Feed), matches receipts by our own message id only
// (UpstreamIndex) and runs no receipt watchdog (Watchdog). The Badger backend implements all
// of them but Leader; the JetStream backend all but Watchdog. They are separate from Queue
// so that a backend can be written without them.

// FeedEntry is one status change in a tenant's change feed.
type FeedEntry struct {
	// Seq orders the feed: it grows with every change committed (across tenants, so a
	// tenant's Seqs have gaps). A consumer's cursor is the last Seq it is done with.
	Seq    uint64
	ID     string
	Change canonical.Change
	// Reply, when set, makes the entry a recipient's reply (see Replies), not a status
	// change: ID and Change are then empty.
	Reply *canonical.Reply
}

// StateEntry is one key of the feed consumers' state.
type StateEntry struct {
	Key   string
	Value []byte
}

// Feed reads the change feed, written in the same commit as every status change after
// enqueue (Finish, Retry, Record, Replay, and the Watchdog's), with cursors of the
// consumer's own (its State): Changes' cursor is not moved. Entries are kept for the
// retention period.
type Feed interface {
	// ReadFeed returns up to max of the tenant's entries with Seq > after, oldest first.
	ReadFeed(tenant string, after uint64, max int) ([]FeedEntry, error)
	// FeedSeq is the Seq of the last entry committed (for any tenant).
	FeedSeq() (uint64, error)
	// FeedNotify receives (coalesced) after a commit that added entries. For one consumer.
	FeedNotify() <-chan struct{}
	State
}

// State is a small durable key-value store beside the queue, for the feed's consumers
// (cursors, dead letters), in a key space of its own.
type State interface {
	// GetState returns nil and no error for a missing key. A ttl of 0 keeps the key until
	// it is deleted. Writes survive a crash of the process (not always a power loss).
	GetState(key string) ([]byte, error)
	PutState(key string, value []byte, ttl time.Duration) error
	DeleteState(key string) error
	// ListState returns up to max keys with the prefix, in key order, after the key after.
	ListState(prefix, after string, max int) ([]StateEntry, error)
}

// UpstreamIndex finds a message by the id an upstream answered it with (Message.UpstreamID),
// recorded when the message is finished, for receipts that name only the vendor's id.
type UpstreamIndex interface {
	// ByUpstreamID returns our message id, or ErrNotFound.
	ByUpstreamID(upstream, upstreamID string) (string, error)
}

// Watchdog holds a sent message until its delivery receipt arrives, so that it can be sent
// again through another upstream when none does in time.
type Watchdog interface {
	// FinishWatch is Finish for a message that was sent, keeping it (body included) until
	// a receipt moves its status past sent, or until deadline, when Overdue returns it.
	FinishWatch(m *canonical.Message, ch canonical.Change, deadline time.Time) error
	// Overdue returns up to max watched messages whose deadline is at or before now and
	// that are still sent, each once: the caller then calls Resend or Unwatch for each (a
	// restart returns those it did not).
	Overdue(now time.Time, max int) ([]*Record, error)
	// Resend makes an overdue message live again, due now, as m (its body, Extra and
	// Attempts as the caller set them), recording ch. ErrNotFound when it is no longer
	// watched (a receipt came meanwhile).
	Resend(m *canonical.Message, ch canonical.Change) error
	// Unwatch ends the watch of a message, recording ch when its Status is set.
	Unwatch(id string, ch canonical.Change) error
}

// DeadPager is implemented by backends that list dead letters from a point on, so that the
// admin API can page through a dead list of any length, not only its oldest letters.
type DeadPager interface {
	// DeadLettersAfter lists up to max dead messages that died after the dead message after
	// ("" from the oldest), oldest first. ErrNotFound when after is not a dead letter (it
	// was replayed, or never died).
	DeadLettersAfter(after string, max int) ([]*Record, error)
}

// ReadyAge is implemented by backends that know how long their oldest ready message (due and
// not leased) has waited, for the operator's gauge of a stalled or falling-behind queue.
type ReadyAge interface {
	// OldestReadyAge is that wait, 0 when no message is ready.
	OldestReadyAge() time.Duration
}

// Leader is implemented by backends that several gateways share. Work that must run on one
// gateway at a time (posting client callbacks) runs while that gateway holds a lease.
type Leader interface {
	// Lead waits until this gateway holds the lease name, or until stop is closed (it then
	// returns a nil Lease and no error).
	Lead(name string, stop <-chan struct{}) (Lease, error)
}

// Lease is held until it is lost or released.
type Lease interface {
	// Lost is closed when the lease is no longer held: another gateway took it, it could
	// not be renewed in time, or it was released. The work must stop.
	Lost() <-chan struct{}
	// Release gives the lease up at once, for another gateway to take.
	Release()
}

// CheckItems is how every backend's Enqueue checks its items: none may be nil.
func CheckItems(items []Item) error {
	for _, it := range items {
		if it.Msg == nil {
			return canonical.Errorf(canonical.ErrInternal, "cannot enqueue a nil message")
		}
	}
	return nil
}

// DueAt is when a message given back for at is due, at now: at, or now when at is past; and
// the status it waits in: queued when due now, scheduled when later.
func DueAt(at, now time.Time) (time.Time, canonical.Status) {
	if !at.After(now) {
		return now, canonical.StatusQueued
	}
	return at, canonical.StatusScheduled
}

// PrepareRetry is how every backend's Retry reads its arguments: a due time in the past is
// now; the message becomes queued, or scheduled when it is due later; the change's status
// and time default to that status and now.
func PrepareRetry(m *canonical.Message, at, now time.Time, ch canonical.Change) (time.Time, canonical.Change) {
	now = now.UTC()
	at, m.Status = DueAt(at, now)
	if ch.Status == "" {
		ch.Status = m.Status
	}
	if ch.At.IsZero() {
		ch.At = now
	}
	return at, ch
}
