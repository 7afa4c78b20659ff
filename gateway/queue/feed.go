package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"switchboard/canonical"
)

// The optional capabilities Feed and UpstreamIndex (see queue.go). Reads go straight to
// Badger; the consumers' state is written with transactions of its own, beside the
// committer's (as Changes writes its cursors), so a consumer never waits for a group commit
// and never slows one.

var (
	_ Feed          = (*Badger)(nil)
	_ UpstreamIndex = (*Badger)(nil)
	_ Watchdog      = (*Badger)(nil)
)

// ReadFeed returns up to max of the tenant's feed entries after Seq after; see Feed.
func (q *Badger) ReadFeed(tenant string, after uint64, max int) ([]FeedEntry, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	if max <= 0 {
		return nil, nil
	}
	prefix := appendLP([]byte{pFeed, '/'}, tenant)
	var out []FeedEntry
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: min(max, 100)})
		defer it.Close()
		for it.Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), after+1)); it.Valid() && len(out) < max; it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			last := binary.BigEndian.Uint64(k[len(prefix):])
			if err := item.Value(func(v []byte) error {
				if rp, ok, err := parseReplyValue(v); ok {
					if err == nil {
						out = append(out, FeedEntry{Seq: last, Reply: rp})
					}
					return err
				}
				return feedItems(v, last, func(fseq uint64, id string, ch *canonical.Change) bool {
					if fseq <= after { // the first run read may begin before after
						return true
					}
					e := FeedEntry{Seq: fseq, ID: id}
					if ch != nil {
						e.Change = *ch
					}
					out = append(out, e)
					return len(out) < max
				})
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, q.storageError("read feed", err)
	}
	return out, nil
}

// FeedSeq is the Seq of the last feed entry committed.
func (q *Badger) FeedSeq() (uint64, error) { return q.feedCommitted.Load(), nil }

// FeedNotify receives after a commit that added feed entries.
func (q *Badger) FeedNotify() <-chan struct{} { return q.feedNotify }

func stateKey(key string) []byte { return appendKey(nil, pState, key) }

// GetState returns the value of a consumer's key, or nil.
func (q *Badger) GetState(key string) ([]byte, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	var v []byte
	err := q.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = getValue(txn, stateKey(key))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, q.storageError("get state", err)
	}
	return v, nil
}

// PutState writes a consumer's key; a ttl of 0 keeps it until deleted.
func (q *Badger) PutState(key string, value []byte, ttl time.Duration) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.exit()
	e := badger.NewEntry(stateKey(key), value)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	if err := q.update(func(w *writer) { w.do(e, false) }); err != nil {
		return q.storageError("put state", err)
	}
	return nil
}

// DeleteState deletes a consumer's key.
func (q *Badger) DeleteState(key string) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.exit()
	if err := q.update(func(w *writer) { w.del(stateKey(key)) }); err != nil {
		return q.storageError("delete state", err)
	}
	return nil
}

// ListState returns up to max of the consumers' keys with the prefix, after the key after.
func (q *Badger) ListState(prefix, after string, max int) ([]StateEntry, error) {
	if err := q.enter(); err != nil {
		return nil, err
	}
	defer q.exit()
	var out []StateEntry
	err := q.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: stateKey(prefix), PrefetchValues: true})
		defer it.Close()
		start := stateKey(prefix)
		if after > prefix {
			start = append(stateKey(after), 0)
		}
		for it.Seek(start); it.Valid() && len(out) < max; it.Next() {
			item := it.Item()
			key := strings.TrimPrefix(string(item.Key()), string([]byte{pState, '/'}))
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, StateEntry{Key: key, Value: v})
		}
		return nil
	})
	if err != nil {
		return nil, q.storageError("list state", err)
	}
	return out, nil
}

// ByUpstreamID returns the id of the message the upstream answered with upstreamID.
func (q *Badger) ByUpstreamID(upstream, upstreamID string) (string, error) {
	if err := q.enter(); err != nil {
		return "", err
	}
	defer q.exit()
	var id []byte
	err := q.db.View(func(txn *badger.Txn) error {
		var err error
		id, err = getValue(txn, append(appendLP([]byte{pUpstream, '/'}, upstream), upstreamID...))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", q.storageError("by upstream id", err)
	}
	return string(id), nil
}
