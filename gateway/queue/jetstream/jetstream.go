// Package jetstream is a queue.Queue on NATS JetStream, so that several gateways share one
// queue: each leases from the same stream, and any of them answers for any message.
//
// Layout, for a stream named S and a bucket named B:
//
//	S         work queue (WorkQueuePolicy). S.msg.<id>: a message ready to send, leased through
//	          one durable pull consumer that every gateway shares ("dispatch"). S.sched.<id>:
//	          a message due later, held by the server's scheduler ("Nats-Schedule: @at"),
//	          which moves it to S.msg.<id> when due. Removed from the stream when acked.
//	S_<n>     shards 1..K-1 of the work queue, each like S (S_<n>.msg.<id>, S_<n>.sched.<id>,
//	          its own "dispatch" consumer); a message's shard is a hash of its id (shards.go).
//	S_DEAD    dead letters, S.dead.<id> (one per id), kept until replayed.
//	S_FEED    status-change feed, S.feed.<tenant> (the id, and the change in a header),
//	          MaxAge = retention; Changes reads it through one durable consumer per tenant,
//	          whose ack floor is the cursor; callbacks read it by sequence (feed.go).
//	          S.reply.<tenant>: the recipients' replies (replies.go), in the same sequence.
//	B         KV, TTL = retention. s.<id>: status record (message + history), written by
//	          Retry, Finish, Record, Replay; i.<ref>.<key>: idempotency key and client-ref
//	          index; t.<tenant>.<to>: when a template was last sent to a recipient;
//	          u.<upstream>.<upstream id>: our id of a message an upstream took.
//	B_seq     KV without TTL: the next free block of message Seqs.
//	B_state   KV: the callbacks' cursors and dead callbacks (a TTL per key).
//	B_lead    KV, TTL = leadTTL: the lease of the gateway posting callbacks.
//
// The durability contract is the stream's: Enqueue returns once JetStream acknowledged the
// publish, that is once a majority of the stream's replicas hold it (fsync'd only if the
// servers are set to sync_interval: always).
//
// Leasing. A lease is a JetStream delivery; the lease is kept alive (InProgress) for as long
// as the dispatcher holds the message, so AckWait only measures how long a dead gateway's
// messages wait before another gateway takes them. A message's state lives in its status
// record, not in the stream: Finish and Retry write the record before they ack or nak, and
// every delivery that may not be the first (redelivered, rescheduled, replayed) reads the
// record first and is acked away when the record says the message is finished. So a lost
// ack or a crash between two steps costs a duplicate delivery at most, never a loss; a
// first delivery (the common case) costs no read.
//
// Waits. A retry due within maxNakDelay is a NakWithDelay (JetStream redelivers it; it
// stays pending in the consumer meanwhile). Longer retries, every release and scheduled
// messages are re-published as a schedule (S.sched.<id>, one per id: a newer one replaces
// it), so that a message waiting for hours (a sending window) holds no consumer state and
// is not counted against MaxDeliver or MaxAckPending. This needs nats-server 2.12 or later.
package jetstream

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// connName names the connection on the servers when Options.Name is empty.
const connName = "switchboard"

// Tuning.
const (
	// opTimeout bounds one request to JetStream.
	opTimeout = 5 * time.Second
	// dedupWindow is how long the stream remembers a Nats-Msg-Id: long enough for a repeated
	// request to meet its original's publish still in flight.
	dedupWindow = 2 * time.Minute
	// maxNakDelay is the longest wait left to JetStream's redelivery; longer waits are
	// re-published as schedules.
	maxNakDelay = time.Minute
	// minScheduleDelay is the shortest wait worth a schedule: a release sooner than this is
	// a plain nak (the scheduler fires at 250ms granularity anyway).
	minScheduleDelay = 100 * time.Millisecond
	// dueSlack is how early a delivery may come (clocks of gateways and servers differ)
	// and still be sent rather than put back.
	dueSlack = 50 * time.Millisecond
	// maxAckPending bounds the messages the consumer has out at once, across gateways:
	// leased, and naked with a delay of up to maxNakDelay. Beyond it JetStream delivers
	// nothing new until some come back: backpressure, not loss.
	maxAckPending = 1 << 16
	// leaseWait is how long one pull waits for a message when none is ready. A pull whose
	// caller went away stays on the server this long, so it is short: Close waits for it.
	leaseWait = time.Second
	// maxLease bounds one Lease, like one pull.
	maxLease = 1024
	// statsInterval is how often Stats' figures are refreshed from the servers.
	statsInterval = time.Second
	// seqBlock is how many Seqs a gateway reserves at once.
	seqBlock = 1024
	// publishAsyncMaxPending bounds the publishes awaiting their ack, across callers.
	publishAsyncMaxPending = 1 << 14
	// consumerName is the durable consumer every gateway leases through.
	consumerName = "dispatch"
	// setupTimeout bounds the creation of the streams, buckets and consumer at Open, and
	// setupAttempt one try: gateways that start together and create the same stream at
	// once may all go unanswered (nats-server 2.15), and a second try finds it made.
	setupTimeout = time.Minute
	setupAttempt = time.Second
)

// Options configures Open.
type Options struct {
	// Servers are the NATS URLs; the client reconnects to another when one goes.
	Servers []string
	// CredentialsFile, User and Password, or Token authenticate (at most one).
	CredentialsFile string
	User, Password  string
	Token           string
	// CAFile, CertFile and KeyFile set up TLS with a CA of one's own and a client certificate.
	CAFile, CertFile, KeyFile string
	// Stream and Bucket name the work stream (and S_DEAD, S_FEED) and the KV bucket (and B_seq).
	Stream, Bucket string
	// Zero Stream, Bucket, Replicas, Shards, AckWait, MaxDeliver, MaxDepth and Retention take
	// config's defaults (queue.Defaults).

	// Shards is how many work streams new messages are spread over (shards.go): with
	// sync_interval: always, each stream's fsyncs are serial, several streams' are not.
	Shards int

	// Replicas of every stream and bucket.
	Replicas int
	// AckWait is how long a message leased by a gateway that died waits for another.
	AckWait time.Duration
	// MaxDeliver is how many deliveries before a message is dead-lettered (-1: no limit).
	MaxDeliver int
	// MaxDepth is the most live messages; Enqueue beyond it fails with ErrUnavailable.
	MaxDepth int64
	// Retention is how long status records, idempotency keys and the feed are kept.
	Retention time.Duration
	// Name names the connection on the servers (default "switchboard").
	Name string
	// Logger receives the queue's warnings and errors (default slog.Default()).
	Logger *slog.Logger
}

// Queue is the JetStream backend. It is safe for concurrent use.
type Queue struct {
	opts Options
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream
	dead jetstream.Stream
	feed jetstream.Stream
	// shards are the work streams (shards.go): 0..Shards-1, then any left by a larger K.
	shards    []*shard
	shardNext atomic.Uint32 // the shard a Lease asks first
	kv        jetstream.KeyValue
	seqs      seqAllocator

	// Feed consumers' state, leases (feed.go).
	state, lead jetstream.KeyValue
	instance    string
	notifyOnce  sync.Once
	notify      chan struct{}
	notifySubs  []*nats.Subscription

	// Subject prefixes and the KV subject prefix (the work streams' are the shards').
	deadPre, feedPre, replyPre, kvPre string

	leases leaseTable
	feeds  sync.Map // tenant -> jetstream.Consumer of its feed

	stats   atomic.Pointer[queue.Stats]
	added   atomic.Int64 // messages enqueued here since the last stats refresh
	pending atomic.Int64 // messages being enqueued now

	advisories []*nats.Subscription // one per shard
	pulls      sync.WaitGroup       // abandoned pulls still open on the server
	pullsMu    sync.Mutex
	pullsDone  bool // Close is waiting for pulls: later ones are not waited for
	closed     atomic.Bool
	closing    chan struct{}
	life       context.Context // cancelled by Close: ends the background requests
	endLife    context.CancelFunc
	wg         sync.WaitGroup
	once       sync.Once
	closeErr   error
}

var (
	_ queue.Queue   = (*Queue)(nil)
	_ queue.Lookups = (*Queue)(nil) // status.go, dead.go
)

// Open connects, creates or updates the streams, buckets and consumer, and starts the
// stats refresher and the lease keeper.
func Open(opts Options) (*Queue, error) {
	if len(opts.Servers) == 0 {
		return nil, errors.New("cannot open queue: no NATS servers")
	}
	d := queue.Defaults
	opts.Stream = cmp.Or(opts.Stream, d.Nats.Stream)
	opts.Bucket = cmp.Or(opts.Bucket, d.Nats.Bucket)
	opts.Name = cmp.Or(opts.Name, connName)
	opts.Replicas = queue.OrDefault(opts.Replicas, d.Nats.Replicas)
	opts.Shards = queue.OrDefault(opts.Shards, d.Nats.Shards)
	opts.AckWait = queue.OrDefault(opts.AckWait, time.Duration(d.Nats.AckWait))
	if opts.MaxDeliver == 0 { // -1 is no limit
		opts.MaxDeliver = d.Nats.MaxDeliver
	}
	opts.MaxDepth = queue.OrDefault(opts.MaxDepth, d.MaxDepth)
	opts.Retention = queue.OrDefault(opts.Retention, time.Duration(d.Retention))
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	q := &Queue{opts: opts, log: opts.Logger, closing: make(chan struct{}), instance: instanceName()}
	q.life, q.endLife = context.WithCancel(context.Background())
	s := opts.Stream
	q.deadPre, q.feedPre, q.replyPre = s+".dead.", s+".feed.", s+".reply."
	q.kvPre = "$KV." + opts.Bucket + "."
	q.leases.init()

	opened := false
	defer func() {
		if !opened {
			q.endLife()
			if q.nc != nil {
				q.nc.Close()
			}
		}
	}()
	no, err := q.connectOptions()
	if err != nil {
		return nil, fmt.Errorf("cannot open queue: %w", err)
	}
	if q.nc, err = nats.Connect(strings.Join(opts.Servers, ","), no...); err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w", strings.Join(opts.Servers, ","), err)
	}
	if err := checkServerVersion(q.nc.ConnectedServerVersion()); err != nil {
		return nil, fmt.Errorf("cannot open queue on JetStream at %s: %w", q.nc.ConnectedUrlRedacted(), err)
	}
	// The async timeout also frees the publishes whose caller stopped waiting.
	if q.js, err = jetstream.New(q.nc, jetstream.WithPublishAsyncMaxPending(publishAsyncMaxPending),
		jetstream.WithPublishAsyncTimeout(opTimeout), jetstream.WithDefaultTimeout(opTimeout)); err != nil {
		return nil, fmt.Errorf("cannot open queue: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := q.setup(ctx); err != nil {
		return nil, fmt.Errorf("cannot open queue on JetStream: %w", err)
	}
	if err := q.refreshStats(ctx); err != nil {
		return nil, fmt.Errorf("cannot open queue on JetStream: %w", err)
	}
	if err := q.watchMaxDeliveries(); err != nil {
		return nil, fmt.Errorf("cannot open queue on JetStream: %w", err)
	}
	opened = true
	st := q.Stats()
	q.log.Info("queue opened on JetStream", "servers", q.nc.ConnectedUrlRedacted(), "stream", s,
		"replicas", opts.Replicas, "shards", len(q.shards), "depth", st.Depth, "dead", st.Dead)
	q.wg.Add(2)
	go q.statsLoop()
	go q.keepLeases()
	return q, nil
}

func (q *Queue) connectOptions() ([]nats.Option, error) {
	o := q.opts
	no := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(opTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				q.log.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			q.log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			q.log.Warn("NATS error", "err", err)
		}),
	}
	switch {
	case o.CredentialsFile != "":
		no = append(no, nats.UserCredentials(o.CredentialsFile))
	case o.User != "":
		no = append(no, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		no = append(no, nats.Token(o.Token))
	}
	if o.CAFile != "" || o.CertFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read NATS CA: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cannot read NATS CA %s: no PEM certificates", o.CAFile)
			}
		}
		if o.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read NATS client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		no = append(no, nats.Secure(tc))
	}
	return no, nil
}

// setup creates (or updates to this configuration) everything the queue uses.
func (q *Queue) setup(ctx context.Context) error {
	o, s := q.opts, q.opts.Stream
	var err error
	if err := q.setupShards(ctx); err != nil {
		return err
	}
	if q.dead, err = retry(ctx, q, func(ctx context.Context) (jetstream.Stream, error) {
		return q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:              s + "_DEAD",
			Description:       "Switchboard dead letters",
			Subjects:          []string{q.deadPre + "*"},
			Storage:           jetstream.FileStorage,
			Replicas:          o.Replicas,
			MaxMsgsPerSubject: 1,
			AllowDirect:       true,
		})
	}); err != nil {
		return fmt.Errorf("stream %s_DEAD: %w", s, err)
	}
	if q.feed, err = retry(ctx, q, func(ctx context.Context) (jetstream.Stream, error) {
		return q.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        s + "_FEED",
			Description: "Switchboard status changes and replies, per tenant",
			Subjects:    []string{q.feedPre + "*", q.replyPre + "*"},
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
			MaxAge:      o.Retention,
			Duplicates:  dedupWindow,
			AllowDirect: true,
		})
	}); err != nil {
		return fmt.Errorf("stream %s_FEED: %w", s, err)
	}
	if q.kv, err = retry(ctx, q, func(ctx context.Context) (jetstream.KeyValue, error) {
		return q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      o.Bucket,
			Description: "Switchboard status records and idempotency keys",
			TTL:         o.Retention,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
		})
	}); err != nil {
		return fmt.Errorf("bucket %s: %w", o.Bucket, err)
	}
	seqKV, err := retry(ctx, q, func(ctx context.Context) (jetstream.KeyValue, error) {
		return q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      o.Bucket + "_seq",
			Description: "Switchboard message Seqs",
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
		})
	})
	if err != nil {
		return fmt.Errorf("bucket %s_seq: %w", o.Bucket, err)
	}
	q.seqs.kv = seqKV
	if q.state, err = retry(ctx, q, func(ctx context.Context) (jetstream.KeyValue, error) {
		return q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:         o.Bucket + "_state",
			Description:    "Switchboard callback cursors and dead callbacks",
			Storage:        jetstream.FileStorage,
			Replicas:       o.Replicas,
			LimitMarkerTTL: stateMarkerTTL, // allows a TTL per key
		})
	}); err != nil {
		return fmt.Errorf("bucket %s_state (needs nats-server %s or later): %w", o.Bucket, minServerVersion, err)
	}
	if q.lead, err = retry(ctx, q, func(ctx context.Context) (jetstream.KeyValue, error) {
		return q.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      o.Bucket + "_lead",
			Description: "Switchboard leases: which gateway posts callbacks",
			TTL:         leadTTL,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
		})
	}); err != nil {
		return fmt.Errorf("bucket %s_lead: %w", o.Bucket, err)
	}
	return nil
}

// retry calls create until it succeeds, fails otherwise than by a timeout, or ctx ends.
func retry[T any](ctx context.Context, q *Queue, create func(context.Context) (T, error)) (T, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, setupAttempt)
		v, err := create(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return v, err
		}
		q.log.Warn("JetStream did not answer a setup request in time; trying again", "err", err)
	}
}

func (q *Queue) createConsumer(ctx context.Context, s *shard) (jetstream.Consumer, error) {
	return q.js.CreateOrUpdateConsumer(ctx, s.name, jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "Switchboard dispatch, shared by every gateway",
		FilterSubject: s.msgPre + "*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.opts.AckWait,
		MaxDeliver:    q.opts.MaxDeliver,
		MaxAckPending: maxAckPending,
		Replicas:      q.opts.Replicas,
	})
}

// ensureConsumer creates a shard's consumer again when someone deleted it.
func (q *Queue) ensureConsumer(s *shard) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := q.createConsumer(ctx, s); err != nil {
		q.log.Error("cannot create the dispatch consumer again", "stream", s.name, "err", err)
	}
}

// Close stops leasing, returns the messages leased here to the stream at once (so another
// gateway takes them without waiting for AckWait) and closes the connection.
func (q *Queue) Close() error {
	q.once.Do(func() {
		q.closed.Store(true)
		close(q.closing)
		q.endLife()
		q.wg.Wait()
		for _, sub := range q.advisories {
			sub.Unsubscribe()
		}
		for _, sub := range q.notifySubs {
			sub.Unsubscribe()
		}
		leased := q.leases.takeAll()
		for _, l := range leased {
			l.jm.Nak()
		}
		q.abandonPulls(0)
		q.pullsMu.Lock()
		q.pullsDone = true
		q.pullsMu.Unlock()
		q.pulls.Wait()
		if !q.nc.IsConnected() {
			if len(leased) > 0 {
				q.closeErr = errors.New("not connected to NATS: the messages leased here return after ack_wait")
			}
		} else if err := q.nc.FlushTimeout(opTimeout); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			q.closeErr = fmt.Errorf("cannot hand leased messages back to NATS (they return after ack_wait): %w", err)
		}
		q.nc.Close()
	})
	return q.closeErr
}

// unavailable maps a NATS failure to what callers see: try later.
func (q *Queue) unavailable(op string, err error) error {
	if q.closed.Load() {
		return queue.ErrClosing
	}
	q.log.Error("queue operation on JetStream failed", "op", op, "err", err)
	return &canonical.Error{Code: canonical.ErrUnavailable, Reason: "queue unavailable", RetryAfter: time.Second}
}
