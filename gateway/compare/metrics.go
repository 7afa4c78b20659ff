package compare

import (
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// The metrics of the comparison, each labelled route, upstream and arm. Their HELP text is
// in Help, for the exposition.
const (
	MetricAccepted          = "switchboard_upstream_accepted_total"
	MetricRefused           = "switchboard_upstream_refused_total"
	MetricRetries           = "switchboard_upstream_retries_total"
	MetricFailovers         = "switchboard_upstream_failovers_total"
	MetricDeadLetters       = "switchboard_upstream_dead_letters_total"
	MetricReceipts          = "switchboard_upstream_receipts_total"
	MetricUndelivered       = "switchboard_upstream_undelivered_total"
	MetricAcceptanceSeconds = "switchboard_upstream_acceptance_seconds"
	MetricDeliverySeconds   = "switchboard_upstream_delivery_seconds"
	MetricReadSeconds       = "switchboard_upstream_read_seconds"
)

// Help describes each metric of this package.
var Help = map[string]string{
	MetricAccepted:          "Messages the upstream accepted, by route and arm (primary, split, failover, mirror).",
	MetricRefused:           "Messages the upstream refused for good, by the vendor's code.",
	MetricRetries:           "Attempts the upstream answered with a retry (5xx, 429, timeout, transport error).",
	MetricFailovers:         "Messages the upstream passed on to the next upstream of the route.",
	MetricDeadLetters:       "Messages dead-lettered after the upstream's last answer.",
	MetricReceipts:          "Receipts of accepted messages by final status (delivered, read, failed), each counted once per message.",
	MetricUndelivered:       "Accepted messages a receipt reported failed, by the vendor's code.",
	MetricAcceptanceSeconds: "Time from enqueue (mirror copies: from being queued for the mirror) to the upstream's acceptance.",
	MetricDeliverySeconds:   "Time from the upstream's acceptance to the delivery receipt's arrival.",
	MetricReadSeconds:       "Time from the upstream's acceptance to the read receipt's arrival.",
}

// TimeBuckets are the le bounds of the time histograms, in seconds: 5 ms to 1 h.
var TimeBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}

// maxCodes bounds the distinct vendor codes labelled per series and metric; the rest are
// labelled "other", so that a vendor's free-form codes cannot grow the exposition unbounded.
const maxCodes = 32

// codeCounters caches the counters by code of every series.
var codeCounters = struct {
	sync.Mutex
	m    map[codeKey]*metrics.Counter
	seen map[seriesMetric]int
}{m: map[codeKey]*metrics.Counter{}, seen: map[seriesMetric]int{}}

type seriesMetric struct {
	metric string
	key    Key
}

type codeKey struct {
	seriesMetric
	code string
}

func codeCounter(metric string, k Key, code string) *metrics.Counter {
	if code == "" {
		code = "none"
	}
	cc := &codeCounters
	cc.Lock()
	defer cc.Unlock()
	ck := codeKey{seriesMetric{metric, k}, code}
	if c := cc.m[ck]; c != nil {
		return c
	}
	if cc.seen[ck.seriesMetric] >= maxCodes {
		ck.code = "other"
		if c := cc.m[ck]; c != nil {
			return c
		}
	}
	cc.seen[ck.seriesMetric]++
	c := metrics.GetOrCreateCounter(fmt.Sprintf(`%s{%s,code=%q}`, metric, k.labels(), ck.code))
	cc.m[ck] = c
	return c
}

func refusedCounter(k Key, code string) *metrics.Counter { return codeCounter(MetricRefused, k, code) }

func failedCounter(k Key, code string) *metrics.Counter {
	return codeCounter(MetricUndelivered, k, code)
}
