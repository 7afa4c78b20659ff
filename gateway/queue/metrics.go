package queue

import (
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
)

var (
	enqueuedTotal   = metrics.NewCounter(`switchboard_queue_enqueued_total`)
	duplicatesTotal = metrics.NewCounter(`switchboard_queue_duplicates_total`)
	rejectedTotal   = metrics.NewCounter(`switchboard_queue_rejected_total{reason="full"}`)
	leasedTotal     = metrics.NewCounter(`switchboard_queue_leased_total`)
	finishedTotal   = metrics.NewCounter(`switchboard_queue_finished_total`)
	retriedTotal    = metrics.NewCounter(`switchboard_queue_retried_total`)
	deadTotal       = metrics.NewCounter(`switchboard_queue_dead_total`)
	gcRewrites      = metrics.NewCounter(`switchboard_queue_vlog_gc_rewrites_total`)
	rotatedSyncs    = metrics.NewCounter(`switchboard_queue_rotated_file_syncs_total`)
	// checkpoints counts the syncs of Badger's logs that released journal segments (redo.go).
	checkpoints = metrics.NewCounter(`switchboard_queue_journal_checkpoints_total`)
	// staleTotal counts live messages found already finished when leased (lease.go stillLive).
	staleTotal = metrics.NewCounter(`switchboard_queue_stale_live_total`)
	// entriesTotal counts the Badger entries the committer writes (sets and deletes): over
	// enqueued_total it is the entries a message costs.
	entriesTotal = metrics.NewCounter(`switchboard_queue_entries_written_total`)

	commitBatchSize = metrics.NewPrometheusHistogramExt(`switchboard_queue_commit_batch_size`, batchBuckets)
	commitSeconds   = metrics.NewPrometheusHistogramExt(`switchboard_queue_commit_seconds`, diskBuckets)
	syncSeconds     = metrics.NewPrometheusHistogramExt(`switchboard_queue_sync_seconds`, diskBuckets)
	// enqueueQueued is how long an Enqueue waited for its group to start (behind the group
	// being committed); enqueueCommit, how long its group then took until it was released.
	// Their sum is an accept's time in the queue.
	enqueueQueued = metrics.NewPrometheusHistogramExt(`switchboard_queue_enqueue_seconds{phase="queued"}`, diskBuckets)
	enqueueCommit = metrics.NewPrometheusHistogramExt(`switchboard_queue_enqueue_seconds{phase="commit"}`, diskBuckets)
)

// The queue's histograms have Prometheus le buckets, so histogram_quantile works on them.
var (
	// batchBuckets bound a commit group's size in messages, up to the committer's largest.
	batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096}
	// diskBuckets bound a commit's or a sync's time, in seconds: 50 µs to 1 s, since a sync
	// on a good disk takes a few hundred microseconds and one over a second is an outage.
	diskBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

// current is the queue most recently opened and not closed. The gauges read it, so they
// are registered once per process however many queues are opened (tests open many).
var current atomic.Pointer[Badger]

func currentStats() Stats {
	if q := current.Load(); q != nil {
		return q.Stats()
	}
	return Stats{}
}

var (
	_ = metrics.NewGauge(`switchboard_queue_depth`, func() float64 { return float64(currentStats().Depth) })
	_ = metrics.NewGauge(`switchboard_queue_ready`, func() float64 { return float64(currentStats().Ready) })
	_ = metrics.NewGauge(`switchboard_queue_scheduled`, func() float64 { return float64(currentStats().Scheduled) })
	_ = metrics.NewGauge(`switchboard_queue_in_flight`, func() float64 { return float64(currentStats().InFlight) })
	_ = metrics.NewGauge(`switchboard_queue_dead`, func() float64 { return float64(currentStats().Dead) })
)
