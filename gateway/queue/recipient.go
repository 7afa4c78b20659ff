package queue

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// RecipientLookup is implemented by backends that can find the messages sent to one
// recipient within a time window without an index: the admin API's lookup by recipient.
// No write is added on the enqueue path for it; the backend scans what it stores anyway.
type RecipientLookup interface {
	// ByRecipient returns the messages to q.To (of q.Tenant, when set) created in
	// [q.Since, q.Until), newest first, reading at most q.Scan records.
	ByRecipient(q RecipientQuery) (RecipientPage, error)
}

// RecipientQuery selects messages by recipient; see RecipientLookup.
type RecipientQuery struct {
	Tenant, To   string // To as canonical.NormalizePhone writes it
	Since, Until time.Time
	// Before, when set, is a message id (a page's Next): only messages older than it.
	Before string
	Limit  int // most records returned
	Scan   int // most records read
}

// RecipientPage is one answer of ByRecipient.
type RecipientPage struct {
	Records []*Record
	// Since is the window's start as used: the asked one, or the retention's start if later.
	Since time.Time
	// Truncated says that Limit or Scan stopped the scan before the window's start; Next is
	// then the id to pass as Before to go on, and ScanBound says the scan bound was hit.
	Truncated, ScanBound bool
	Next                 string
	Examined             int
}

// idTimePrefix is the start of the string form of a UUIDv7 minted in millisecond ms: its
// first 48 bits are the Unix time in milliseconds, so ids sort by the time they were minted.
func idTimePrefix(ms int64) string {
	return fmt.Sprintf("%08x-%04x", uint64(ms)>>16, uint64(ms)&0xffff)
}

// ByRecipient scans the status records s/<id> of the window from its end backwards: ids are
// UUIDv7s (canonical.NewID), so the window is a bounded range of those keys. A message whose
// id its client chose (not a UUIDv7 of its time) is not found.
func (q *Badger) ByRecipient(rq RecipientQuery) (RecipientPage, error) {
	page := RecipientPage{Since: rq.Since, Records: []*Record{}}
	if oldest := q.now().Add(-q.opts.Retention); page.Since.Before(oldest) {
		page.Since = oldest
	}
	if err := q.enter(); err != nil {
		return page, err
	}
	defer q.exit()
	statusPrefix := []byte{pStatus, '/'}
	low := appendKey(nil, pStatus, idTimePrefix(page.Since.UnixMilli()))
	// Ids minted in the window's last millisecond sort before this key; later ones after.
	high := append(appendKey(nil, pStatus, idTimePrefix(rq.Until.UnixMilli())), 0xff)
	if rq.Before != "" {
		if b := appendKey(nil, pStatus, rq.Before); bytes.Compare(b, high) < 0 {
			high = b
		}
	}
	type found struct {
		rec  *Record
		kind byte
		seq  uint64
	}
	var hits []found
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: statusPrefix, Reverse: true, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(high); it.Valid(); it.Next() {
			key := it.Item().Key()
			if bytes.Compare(key, low) < 0 {
				return nil
			}
			if bytes.Equal(key, high) {
				continue // Before itself
			}
			id := string(key[len(statusPrefix):])
			if len(hits) == rq.Limit || page.Examined == rq.Scan {
				page.Truncated, page.ScanBound = true, len(hits) < rq.Limit
				return nil
			}
			page.Examined++
			page.Next = id
			sv, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			b, kind, seq, err := resolveStatus(txn, id, sv)
			if err != nil {
				return err
			}
			r, err := decodeRecord(b)
			if err != nil {
				return err
			}
			m := r.Msg
			if m.To != rq.To || (rq.Tenant != "" && m.Tenant != rq.Tenant) ||
				m.CreatedAt.Before(page.Since) || !m.CreatedAt.Before(rq.Until) {
				continue
			}
			hits = append(hits, found{r, kind, seq})
		}
		return nil
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return page, q.storageError("by recipient", err)
	}
	if !page.Truncated {
		page.Next = ""
	}
	for _, h := range hits {
		q.showLease(h.rec, h.kind, h.seq)
		page.Records = append(page.Records, h.rec)
	}
	return page, nil
}

// showLease shows a leased live message as sending, as its record does not say so (a lease
// costs no write).
func (q *Badger) showLease(rec *Record, kind byte, seq uint64) {
	if kind != stLive {
		return
	}
	if at, ok := q.sched.leasedAt(seq); ok {
		rec.Msg.Status = canonical.StatusSending
		rec.History = append(rec.History, canonical.Change{Status: canonical.StatusSending, At: time.Unix(0, at).UTC()})
	}
}
