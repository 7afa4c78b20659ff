package jetstream

import (
	"context"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/gateway/queue"
)

var (
	leasedTotal      = metrics.NewCounter(`switchboard_jetstream_leased_total`)
	finishedTotal    = metrics.NewCounter(`switchboard_jetstream_finished_total`)
	retriedTotal     = metrics.NewCounter(`switchboard_jetstream_retried_total`)
	rescheduledTotal = metrics.NewCounter(`switchboard_jetstream_rescheduled_total`)
	// staleTotal counts deliveries turned away because the message was already settled:
	// each is a duplicate that did not reach an upstream.
	staleTotal           = metrics.NewCounter(`switchboard_jetstream_stale_deliveries_total`)
	maxDeliveredTotal    = metrics.NewCounter(`switchboard_jetstream_max_delivered_total`)
	feedConsumersCreated = metrics.NewCounter(`switchboard_jetstream_feed_consumer_creations_total`)
)

// statsLoop refreshes Stats' figures, so that Stats and Enqueue's depth check ask nothing
// of the servers.
func (q *Queue) statsLoop() {
	defer q.wg.Done()
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		select {
		case <-q.closing:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(q.life, opTimeout)
			if err := q.refreshStats(ctx); err != nil && ctx.Err() != context.Canceled {
				q.log.Warn("cannot read queue stats from JetStream", "err", err)
			}
			cancel()
		}
	}
}

func (q *Queue) refreshStats(ctx context.Context) error {
	added := q.added.Load()
	var depth, ready, out int64
	for _, sh := range q.shards {
		wi, err := sh.stream.Info(ctx)
		if err != nil {
			return err
		}
		ci, err := sh.cons.Info(ctx)
		if err != nil {
			return err
		}
		depth += int64(wi.State.Msgs)
		ready, out = ready+int64(ci.NumPending), out+int64(ci.NumAckPending)
	}
	di, err := q.dead.Info(ctx)
	if err != nil {
		return err
	}
	q.added.Add(-added)
	q.stats.Store(&queue.Stats{
		Depth:     depth,
		Ready:     ready,
		InFlight:  out,
		Scheduled: max(depth-ready-out, 0),
		Dead:      int64(di.State.Msgs),
	})
	return nil
}

// Stats returns the figures of the last refresh (at most statsInterval old), for the
// whole cluster: InFlight counts messages leased by any gateway and retries waiting for
// their redelivery; Scheduled counts the messages held by the scheduler.
func (q *Queue) Stats() queue.Stats {
	if s := q.stats.Load(); s != nil {
		return *s
	}
	return queue.Stats{}
}
