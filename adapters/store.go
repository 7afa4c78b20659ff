package adapters

import (
	"time"

	"switchboard/canonical"
)

// Record is a message and its status history, as the gateway keeps them.
type Record struct {
	Msg     *canonical.Message `json:"message"`
	History []canonical.Change `json:"history"`
}

// Store is what a vendor's non-send operations may read of the gateway's records. The
// methods keep the queue's names and meanings; every answer is the tenant's own.
type Store interface {
	// Get returns a message and its history while it is live or within retention; an
	// unknown id is a *canonical.Error with canonical.ErrNotFound.
	Get(id string) (*Record, error)
	// ByRef returns the ids of a tenant's messages with that client ref, within retention.
	ByRef(tenant, ref string) ([]string, error)
	// TemplateSentSince returns, of the given recipients, those a template message was sent
	// to (for the tenant) since the time given; template "" means any template.
	TemplateSentSince(tenant string, to []string, template string, since time.Time) (map[string]time.Time, error)
	// Changes returns up to max of the tenant's messages whose status changed since the last
	// call, and advances the tenant's cursor.
	Changes(tenant string, max int) ([]*Record, error)
}

// Env is what the gateway lends an operation for one request.
type Env struct {
	Store Store
	// Replies reads the tenants' stored replies; nil when the queue backend keeps none.
	Replies ReplyStore
}

// ReplyStore is what a vendor's operations may read of the replies recipients sent (Wavy's
// receive/list and receive/search); every answer is the tenant's own, oldest first.
type ReplyStore interface {
	// Unlisted returns up to max of the tenant's replies that no earlier call returned, and
	// advances the tenant's cursor past them.
	Unlisted(tenant string, max int) ([]canonical.Reply, error)
	// Between returns up to max of the tenant's replies received in [start, end).
	Between(tenant string, start, end time.Time, max int) ([]canonical.Reply, error)
}

// Operator is an Inbound with endpoints that are not sends (Wavy's status queries, FlowBot's
// tokens and check-sent). The gateway calls Serve for every route whose Op is not a send,
// after setting c.Account when Credential read a credential that authenticates. Serve
// renders the answer into dst; an error is answered in the dialect's shape by the gateway.
type Operator interface {
	Inbound
	Serve(c *Call, env Env, dst []byte) (status int, body []byte, err error)
}

// Receipt is one status an upstream reports for a message it was sent.
type Receipt struct {
	// ID is our message id when the vendor echoes it (Wavy's correlationId, the Cloud API's
	// biz_opaque_callback_data, the http format's id); UpstreamID is the vendor's own.
	ID, UpstreamID string
	Change         canonical.Change
}

// Equal reports whether two receipts say the same, times compared as instants.
func (r Receipt) Equal(o Receipt) bool {
	return r.ID == o.ID && r.UpstreamID == o.UpstreamID && r.Change.Status == o.Change.Status &&
		r.Change.At.Equal(o.Change.At) && r.Change.Code == o.Change.Code && r.Change.Reason == o.Change.Reason
}
