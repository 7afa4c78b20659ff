package jetstream

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The optional capabilities Feed, UpstreamIndex and Leader (see queue.go), shared by every
// gateway on the cluster:
//
//   - Feed entries are the S_FEED stream's messages (S.feed.<tenant>): the data is the
//     message id (what Changes reads), hdrChange the change, and their Seq is the stream
//     sequence. The tenant's replies are feed entries too, on S.reply.<tenant> (replies.go). An entry is published after the status record that holds its change, with
//     a Nats-Msg-Id of the id and the change's place in the history, so publishing it again
//     (a redelivery of a message whose entry may have been lost) stores it once.
//   - The consumers' state is the bucket B_state; keys with a TTL use JetStream's per-message
//     TTL.
//   - The upstream-id index is u.<upstream>.<upstream id> in B, written when a message is
//     finished.
//   - Leases (one gateway at a time posts callbacks) are keys of B_lead, a bucket whose
//     entries expire after leadTTL unless their holder renews them.

var (
	_ queue.Feed          = (*Queue)(nil)
	_ queue.UpstreamIndex = (*Queue)(nil)
	_ queue.Leader        = (*Queue)(nil)
)

const (
	// hdrChange carries a feed entry's change (canonical.AppendChange, base64).
	hdrChange = "Sb-Change"
	// leadTTL is how long a lease outlives its holder's last renewal: how long callbacks
	// pause when the gateway posting them dies.
	leadTTL = 6 * time.Second
	// leadPoll is how often a gateway without a lease tries to take it.
	leadPoll = time.Second
	// stateMarkerTTL is how long B_state keeps the marker of a key that expired.
	stateMarkerTTL = time.Minute
)

// publishFeed adds the change ch, the n-th of message id's history, to the tenant's feed
// without waiting; nil if it could not be sent.
func (q *Queue) publishFeed(tenant, id string, ch canonical.Change, n int) jetstream.PubAckFuture {
	msg := &nats.Msg{Subject: q.feedPre + token(tenant), Data: []byte(id), Header: nats.Header{}}
	msg.Header.Set(hdrChange, base64.RawStdEncoding.EncodeToString(canonical.AppendChange(nil, ch)))
	msg.Header.Set(jetstream.MsgIDHeader, id+"/"+strconv.Itoa(n))
	f, err := q.js.PublishMsgAsync(msg)
	if err != nil {
		q.log.Warn("cannot write to the change feed", "id", id, "err", err)
		return nil
	}
	return f
}

// ReadFeed returns up to max of the tenant's feed entries after Seq after; see queue.Feed.
func (q *Queue) ReadFeed(tenant string, after uint64, max int) ([]queue.FeedEntry, error) {
	var out []queue.FeedEntry
	err := q.scanFeed("read feed", q.feedFilter(tenant), after, func(m *jetstream.RawStreamMsg) bool {
		if q.isReply(m) {
			if rp := q.decodeReply(m); rp != nil {
				out = append(out, queue.FeedEntry{Seq: m.Sequence, Reply: rp})
			}
			return len(out) < max
		}
		e := queue.FeedEntry{Seq: m.Sequence, ID: string(m.Data)}
		if h := m.Header.Get(hdrChange); h != "" {
			b, err := base64.RawStdEncoding.DecodeString(h)
			var chs []canonical.Change
			if err == nil {
				chs, err = canonical.DecodeChanges(b)
			}
			if err != nil || len(chs) != 1 {
				q.log.Error("corrupt feed entry; skipped", "seq", m.Sequence, "id", e.ID)
				return true
			}
			e.Change = chs[0]
		}
		out = append(out, e)
		return len(out) < max
	}, max > 0)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanFeed hands the messages of S_FEED that match the filter subj, after Seq after, to
// take, oldest first, one request each, for as long as take (and more) asks for the next.
func (q *Queue) scanFeed(op, subj string, after uint64, take func(*jetstream.RawStreamMsg) bool, more bool) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for more {
		m, err := q.feed.GetMsg(ctx, after+1, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return q.unavailable(op, err)
		}
		after = m.Sequence
		more = take(m)
	}
	return nil
}

// FeedSeq is the Seq of the last feed entry.
func (q *Queue) FeedSeq() (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	info, err := q.feed.Info(ctx)
	if err != nil {
		return 0, q.unavailable("read the change feed's end", err)
	}
	return info.State.LastSeq, nil
}

// FeedNotify receives after any gateway added feed entries or replies: every gateway hears
// every entry's publish (subscribed on the first call).
func (q *Queue) FeedNotify() <-chan struct{} {
	q.notifyOnce.Do(func() {
		q.notify = make(chan struct{}, 1)
		for _, subj := range [...]string{q.feedPre + "*", q.replyPre + "*"} {
			sub, err := q.nc.Subscribe(subj, func(*nats.Msg) {
				select {
				case q.notify <- struct{}{}:
				default:
				}
			})
			if err != nil {
				q.log.Warn("cannot listen to the change feed; callbacks poll it", "err", err)
				return
			}
			q.notifySubs = append(q.notifySubs, sub)
		}
	})
	return q.notify
}

// State keys: a key's '/'-separated parts become dot-separated tokens, so that a prefix
// ending in '/' is a subject filter.

func stateKVKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = token(p)
	}
	return strings.Join(parts, ".")
}

func stateKeyOf(kvKey string) (string, bool) {
	parts := strings.Split(kvKey, ".")
	for i, p := range parts {
		if strings.HasPrefix(p, "=") {
			b, err := base64.RawURLEncoding.DecodeString(p[1:])
			if err != nil {
				return "", false
			}
			p = string(b)
		}
		parts[i] = p
	}
	return strings.Join(parts, "/"), true
}

// GetState returns a consumer's key, or nil.
func (q *Queue) GetState(key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	e, err := q.state.Get(ctx, stateKVKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, q.unavailable("read state", err)
	}
	return e.Value(), nil
}

// PutState writes a consumer's key; a ttl > 0 makes it expire.
func (q *Queue) PutState(key string, value []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var err error
	if ttl > 0 {
		_, err = q.js.Publish(ctx, "$KV."+q.opts.Bucket+"_state."+stateKVKey(key), value, jetstream.WithMsgTTL(ttl))
	} else {
		_, err = q.state.Put(ctx, stateKVKey(key), value)
	}
	if err != nil {
		return q.unavailable("write state", err)
	}
	return nil
}

// DeleteState removes a consumer's key.
func (q *Queue) DeleteState(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := q.state.Delete(ctx, stateKVKey(key)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return q.unavailable("delete state", err)
	}
	return nil
}

// ListState returns up to max keys with the prefix after the key after, in key order. The
// prefix must end at a '/' (or be a whole key).
func (q *Queue) ListState(prefix, after string, max int) ([]queue.StateEntry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	filter := stateKVKey(strings.TrimSuffix(prefix, "/"))
	if strings.HasSuffix(prefix, "/") {
		filter += ".>"
	}
	kl, err := q.state.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, q.unavailable("list state", err)
	}
	var keys []string
	for k := range kl.Keys() {
		if key, ok := stateKeyOf(k); ok && strings.HasPrefix(key, prefix) && key > after {
			keys = append(keys, key)
		}
	}
	kl.Stop()
	slices.Sort(keys)
	var out []queue.StateEntry
	for _, k := range keys {
		if len(out) == max {
			break
		}
		e, err := q.state.Get(ctx, stateKVKey(k))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, q.unavailable("list state", err)
		}
		out = append(out, queue.StateEntry{Key: k, Value: e.Value()})
	}
	return out, nil
}

func upstreamKey(upstream, upstreamID string) string {
	return "u." + token(upstream) + "." + token(upstreamID)
}

// ByUpstreamID returns our id of the message an upstream answered with upstreamID.
func (q *Queue) ByUpstreamID(upstream, upstreamID string) (string, error) {
	if q.closed.Load() {
		return "", queue.ErrClosing
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	e, err := q.kv.Get(ctx, upstreamKey(upstream, upstreamID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", queue.ErrNotFound
	}
	if err != nil {
		return "", q.unavailable("by upstream id", err)
	}
	return string(e.Value()), nil
}

// Lead waits until this gateway holds the lease name; see queue.Leader.
func (q *Queue) Lead(name string, stop <-chan struct{}) (queue.Lease, error) {
	key := token(name)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		rev, err := q.lead.Create(ctx, key, []byte(q.instance))
		cancel()
		if err == nil {
			l := &leadLease{q: q, key: key, lost: make(chan struct{}), release: make(chan struct{})}
			q.wg.Add(1)
			go l.hold(rev)
			return l, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			q.log.Warn("cannot take a lease", "lease", name, "err", err)
		}
		select {
		case <-time.After(leadPoll):
		case <-stop:
			return nil, nil
		case <-q.closing:
			return nil, queue.ErrClosing
		}
	}
}

// leadLease is a held key of B_lead.
type leadLease struct {
	q       *Queue
	key     string
	lost    chan struct{}
	release chan struct{}
	once    sync.Once
}

func (l *leadLease) Lost() <-chan struct{} { return l.lost }

// Release gives the lease up and waits until it is.
func (l *leadLease) Release() {
	l.once.Do(func() { close(l.release) })
	<-l.lost
}

// hold renews the lease until it is lost (someone else holds it, or no renewal succeeded
// for half of leadTTL) or released (Release, Close: the key is deleted, so that another
// gateway takes it at once), and then closes lost.
func (l *leadLease) hold(rev uint64) {
	q := l.q
	defer q.wg.Done()
	defer close(l.lost)
	t := time.NewTicker(leadTTL / 4)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-t.C:
		case <-l.release:
			l.delete(rev)
			return
		case <-q.closing:
			l.delete(rev)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), leadTTL/4)
		r, err := q.lead.Update(ctx, l.key, []byte(q.instance), rev)
		cancel()
		switch {
		case err == nil:
			rev, renewed = r, time.Now()
		case errors.Is(err, jetstream.ErrKeyExists) || wrongLastSeq(err):
			q.log.Warn("lease taken by another gateway", "lease", l.key)
			return
		case time.Since(renewed) > leadTTL/2:
			q.log.Warn("lease given up: cannot renew it", "lease", l.key, "err", err)
			return
		}
	}
}

func (l *leadLease) delete(rev uint64) {
	if !l.q.nc.IsConnected() {
		return // it expires
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := l.q.lead.Delete(ctx, l.key, jetstream.LastRevision(rev)); err != nil {
		l.q.log.Debug("cannot hand a lease back; it expires", "lease", l.key, "err", err)
	}
}

// instanceName names this gateway in the leases it holds.
func instanceName() string {
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
