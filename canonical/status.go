package canonical

import "time"

// Status is where a message stands. The normal path is
// accepted -> queued|scheduled -> sending -> sent -> delivered -> read;
// it may end instead as failed, expired, rejected or dead (retries exhausted).
type Status string

const (
	StatusAccepted  Status = "accepted"
	StatusQueued    Status = "queued"
	StatusScheduled Status = "scheduled"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDelivered Status = "delivered"
	StatusRead      Status = "read"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusRejected  Status = "rejected"
	StatusDead      Status = "dead"
	// StatusReplied is a history entry only: the recipient replied to the message. It
	// never moves a message's status (Advances is false for it).
	StatusReplied Status = "replied"
)

// Final reports whether no further sending attempt will be made.
// A sent message is final for the queue; receipts may still move it to delivered or read.
func (s Status) Final() bool {
	switch s {
	case StatusSent, StatusDelivered, StatusRead, StatusFailed, StatusExpired, StatusRejected, StatusDead:
		return true
	}
	return false
}

// rank orders the forward path so that a late receipt never moves a status backwards.
func (s Status) rank() int {
	switch s {
	case StatusReplied:
		return -1
	case StatusAccepted:
		return 0
	case StatusQueued, StatusScheduled:
		return 1
	case StatusSending:
		return 2
	case StatusSent:
		return 3
	case StatusDelivered:
		return 4
	case StatusRead:
		return 5
	}
	return 6 // terminal failures
}

// Advances reports whether moving from s to next is progress (or a failure), not a step back.
func (s Status) Advances(next Status) bool {
	if next == StatusReplied {
		return false
	}
	return next.rank() > s.rank() || (next.rank() == 6 && s.rank() < 4)
}

// Change is one entry of a message's status history.
type Change struct {
	Status   Status    `json:"status"`
	At       time.Time `json:"at"`
	Upstream string    `json:"upstream,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	// Code is the upstream's own error or status code, when it gave one.
	Code string `json:"code,omitempty"`
}

// CodeOptedOut is the Change.Code of a message the gateway failed because its recipient is on
// the tenant's opt-out list: it never reached an upstream. Dialects map it to their own code
// (Wavy's 204 DESTINATION_BLOCKED_BY_OPTOUT).
const CodeOptedOut = "opted_out"
