package callbacks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// Callback kinds: one native status callback, Wavy's two (the Wavy row's RenderStatus
// names them), or a reply.
const (
	KindStatus   = "status"                      // native format, to callbacks.url
	KindSent     = wavy.KindSentCallback         // Wavy sent-status callback, to callbacks.url
	KindDelivery = adapters.KindDeliveryCallback // Wavy delivery receipt, to callbacks.delivery_url
	KindReply    = "reply"                       // a recipient's reply, to replies.url
)

// Status is the native callback body: one status change of one message.
type Status struct {
	ID         string           `json:"id"`
	Tenant     string           `json:"tenant"`
	Dialect    string           `json:"dialect,omitempty"`
	ClientRef  string           `json:"client_ref,omitempty"`
	BatchID    string           `json:"batch_id,omitempty"`
	To         string           `json:"to"`
	Status     canonical.Status `json:"status"`
	At         time.Time        `json:"at"`
	Upstream   string           `json:"upstream,omitempty"`
	UpstreamID string           `json:"upstream_id,omitempty"`
	Code       string           `json:"code,omitempty"`
	Reason     string           `json:"reason,omitempty"`
}

// Delivery is one callback to post.
type Delivery struct {
	// Key names it uniquely and stably (across redeliveries): the feed Seq and the kind.
	// It is sent as Idempotency-Key, so a receiver can drop repeats.
	Key       string          `json:"key"`
	Tenant    string          `json:"tenant"`
	MessageID string          `json:"message_id"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Body      json.RawMessage `json:"body"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"last_error,omitempty"`
	// At is when it was dead-lettered (in the dead-letter list).
	At time.Time `json:"at,omitzero"`
}

// render returns the callbacks one status entry calls for, given the message's record:
// none when the change does not move the message's status forward (a repeated "sent", a
// retry), what the dialect's vendor row renders when it has RenderStatus (Wavy's sent-status
// callback and/or delivery receipt), else the native status. An entry whose change is not in
// the history (it cannot happen) gives none.
func (w *Worker) render(e queue.FeedEntry, rec *queue.Record) []Delivery {
	i := indexOf(rec.History, e.Change)
	if i < 0 {
		return nil
	}
	m, hist := rec.Msg, rec.History[:i+1]
	base := Delivery{Tenant: m.Tenant, MessageID: m.ID, Status: string(e.Change.Status)}
	key := fmt.Sprintf("%016x", e.Seq) // sorts in feed order
	if v, ok := adapters.Lookup(w.opts.Vendors, m.Dialect); ok && v.RenderStatus != nil {
		var out []Delivery
		for _, c := range v.RenderStatus(m, hist) {
			d := base
			d.Key, d.Kind, d.Body = key+"-"+c.Kind, c.Kind, c.Body
			out = append(out, d)
		}
		return out
	}
	if !advances(rec.History, i) {
		return nil
	}
	ch := e.Change
	up := ch.Upstream
	if up == "" {
		up = m.Upstream
	}
	body, err := json.Marshal(Status{ID: m.ID, Tenant: m.Tenant, Dialect: m.Dialect, ClientRef: m.ClientRef,
		BatchID: m.BatchID, To: m.To, Status: ch.Status, At: ch.At, Upstream: up, UpstreamID: m.UpstreamID,
		Code: ch.Code, Reason: ch.Reason})
	if err != nil {
		return nil
	}
	d := base
	d.Key, d.Kind, d.Body = key+"-"+KindStatus, KindStatus, body
	return []Delivery{d}
}

// renderReply is the callback of a reply entry: the reply as the vendor row of its dialect
// pushes it (RenderReply: Wavy's MO push), else Switchboard's reply JSON.
func (w *Worker) renderReply(e queue.FeedEntry) Delivery {
	r := e.Reply
	var body []byte
	if v, ok := adapters.Lookup(w.opts.Vendors, r.Dialect); ok && v.RenderReply != nil {
		body = v.RenderReply(nil, r)
	} else {
		body = adapters.AppendGenericReply(nil, r)
	}
	return Delivery{Key: fmt.Sprintf("%016x", e.Seq) + "-" + KindReply, Tenant: r.Tenant, MessageID: r.MessageID,
		Kind: KindReply, Status: KindReply, Body: body}
}

// indexOf finds a change in a history; the last match wins (a change is unique by its
// nanosecond time in practice).
func indexOf(h []canonical.Change, ch canonical.Change) int {
	for i := len(h) - 1; i >= 0; i-- {
		c := h[i]
		if c.Status == ch.Status && c.At.Equal(ch.At) && c.Upstream == ch.Upstream && c.Reason == ch.Reason && c.Code == ch.Code {
			return i
		}
	}
	return -1
}

// advances reports whether change i of a history is one clients hear of: sent, delivered,
// read or a failure, moving the status forward from where the changes before it left it.
// A queued change (a replay of a dead letter, a resend by the receipt watchdog) starts over.
func advances(h []canonical.Change, i int) bool {
	switch h[i].Status {
	case canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead, canonical.StatusFailed,
		canonical.StatusExpired, canonical.StatusRejected, canonical.StatusDead:
	default:
		return false
	}
	cur := canonical.StatusAccepted
	for _, c := range h[:i] {
		if c.Status == canonical.StatusQueued || cur.Advances(c.Status) {
			cur = c.Status
		}
	}
	return cur.Advances(h[i].Status)
}

// SignatureHeader carries the body's HMAC-SHA256 with the tenant's callbacks.secret.
const SignatureHeader = "X-Switchboard-Signature"

// Sign returns the signature header's value for body: "sha256=<hex HMAC-SHA256>".
func Sign(body, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
