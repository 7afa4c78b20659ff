package callbacks

import (
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// Dead-lettered callbacks are kept in the queue's consumer state under deadPrefix + Key,
// with the body as it was rendered: a replay posts it again to the tenant's URL of now,
// signed with the tenant's secret of now.

const deadPrefix = "cb/dead/"

// ErrNotFound is returned by Replay for an unknown key.
var ErrNotFound = canonical.Errorf(canonical.ErrNotFound, "no such dead callback")

func (w *Worker) deadLetter(d *Delivery) error {
	d.At = time.Now().UTC()
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := w.src.PutState(deadPrefix+d.Key, b, w.opts.DeadRetention); err != nil {
		return err
	}
	deadTotal.Inc()
	if d.Kind == KindReply {
		repliesDead.Inc()
	}
	w.log.Warn("callback dead-lettered", "tenant", d.Tenant, "id", d.MessageID, "kind", d.Kind,
		"key", d.Key, "attempts", d.Attempts, "last_error", d.LastError)
	return nil
}

// Dead lists up to max dead-lettered callbacks after the key after (oldest first).
func (w *Worker) Dead(after string, max int) ([]Delivery, error) {
	if after != "" {
		after = deadPrefix + after
	}
	es, err := w.src.ListState(deadPrefix, after, max)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(es))
	for _, e := range es {
		var d Delivery
		if err := json.Unmarshal(e.Value, &d); err != nil {
			w.log.Error("corrupt dead callback; skipped", "key", e.Key)
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// Replay posts a dead-lettered callback once more, now. Delivered, it leaves the list;
// refused, it stays with one more attempt and the error is returned.
func (w *Worker) Replay(key string) (*Delivery, error) {
	v, err := w.src.GetState(deadPrefix + key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, ErrNotFound
	}
	var d Delivery
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("corrupt dead callback %s: %w", key, err)
	}
	t := w.tenants[d.Tenant]
	if t == nil {
		return &d, canonical.Errorf(canonical.ErrConflict, "tenant %q has no callback URL now", d.Tenant)
	}
	d.Attempts++
	if why := w.post(t, &d); why != "" {
		d.LastError = why
		if err := w.deadLetter(&d); err != nil {
			return &d, err
		}
		return &d, &canonical.Error{Code: canonical.ErrUnavailable, Reason: "the receiver refused the callback: " + why}
	}
	deliveredTotal.Inc()
	if d.Kind == KindReply {
		repliesDelivered.Inc()
	}
	return &d, w.src.DeleteState(deadPrefix + key)
}

// ReplayAll replays up to max dead callbacks, oldest first, and reports how many were
// delivered and how many are still dead.
func (w *Worker) ReplayAll(max int) (delivered, failed int, err error) {
	ds, err := w.Dead("", max)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range ds {
		_, err := w.Replay(d.Key)
		var ce *canonical.Error
		switch {
		case err == nil:
			delivered++
		case errors.As(err, &ce):
			failed++
		default:
			return delivered, failed, err
		}
	}
	return delivered, failed, nil
}
