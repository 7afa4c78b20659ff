package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/gateway/compare"
)

// requestCounters caches one counter per dialect and status code, so the request path
// formats no metric names.
var requestCounters sync.Map // key -> *metrics.Counter

type counterKey struct {
	dialect string
	code    int
}

func requestCounter(dialect string, code int) *metrics.Counter {
	k := counterKey{dialect, code}
	if c, ok := requestCounters.Load(k); ok {
		return c.(*metrics.Counter)
	}
	c := metrics.GetOrCreateCounter(fmt.Sprintf(`switchboard_ingress_requests_total{dialect=%q,code="%d"}`, dialect, code))
	requestCounters.Store(k, c)
	return c
}

// ingressBuckets are the le bounds of the ingress histogram, in seconds: 100 µs to 10 s.
var ingressBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// User values the access log reads, set by the handlers that know them.
const (
	dialectValue = "switchboard.dialect"
	tenantValue  = "switchboard.tenant"
)

// instrument counts requests and times them per dialect.
func (s *Server) instrument(dialect string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	hist := metrics.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`switchboard_ingress_duration_seconds{dialect=%q}`, dialect), ingressBuckets)
	// Boxed once: a string put into an interface on every request is an allocation.
	boxed := any(dialect)
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		ctx.SetUserValue(dialectValue, boxed)
		h(ctx)
		hist.Update(time.Since(start).Seconds())
		requestCounter(dialect, ctx.Response.StatusCode()).Inc()
	}
}

// accessLog logs one line per request at info: never the query string (MessageFlow clients
// put the text there), a header or a body. Below info (the usual level under load) it only
// calls h: the line's arguments, built even when slog drops the line, cost four
// allocations a request (bench/RESULTS.md, the seventh session's accepts).
func (s *Server) accessLog(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !s.log.Enabled(context.Background(), slog.LevelInfo) {
			h(ctx)
			return
		}
		start := time.Now()
		h(ctx)
		dialect, _ := ctx.UserValue(dialectValue).(string)
		tenant, _ := ctx.UserValue(tenantValue).(string)
		s.log.Info("request", "method", string(ctx.Method()), "path", string(ctx.Path()), "dialect", dialect,
			"tenant", tenant, "status", ctx.Response.StatusCode(), "duration_ms", millis(time.Since(start)),
			"bytes_in", len(ctx.Request.Body()), "bytes", len(ctx.Response.Body()))
	}
}

// millis is a duration in milliseconds, to the microsecond, for logs.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// noteSend records who sent a request to a send endpoint: the tenant for the access log and
// the per-tenant count, or the refused credential.
func (s *Server) noteSend(ctx *fasthttp.RequestCtx, in adapters.Inbound, t *tenant, accepted int, refused bool) {
	if refused {
		s.log.Warn("credential refused", "dialect", in.Dialect(), "path", string(ctx.Path()), "remote", ctx.RemoteIP().String())
	}
	if t == nil {
		return
	}
	n := sendNoteOf(t.id, in.Dialect())
	ctx.SetUserValue(tenantValue, n.tenant)
	if accepted > 0 {
		n.messages.Add(accepted)
	}
}

// sendNotes caches what noteSend needs per tenant and dialect, so that a send formats no
// metric name and boxes no string: fmt.Sprintf and the metric set's lookup cost about 2 µs
// a request in the accept profiles (bench/RESULTS.md, the seventh session's accepts).
// Tenants come from config, so the entries are bounded.
var sendNotes sync.Map // sendKey -> *sendNote

type sendKey struct{ tenant, dialect string }

type sendNote struct {
	messages *metrics.Counter
	tenant   any // the tenant id, boxed once, for the access log
}

func sendNoteOf(tenant, dialect string) *sendNote {
	k := sendKey{tenant, dialect}
	if n, ok := sendNotes.Load(k); ok {
		return n.(*sendNote)
	}
	n, _ := sendNotes.LoadOrStore(k, &sendNote{messages: tenantMessages(tenant, dialect), tenant: any(tenant)})
	return n.(*sendNote)
}

// tenantMessages counts a tenant's accepted messages per dialect; tenants come from config,
// so the label is bounded.
func tenantMessages(tenant, dialect string) *metrics.Counter {
	return metrics.GetOrCreateCounter(fmt.Sprintf(`switchboard_ingress_messages_total{tenant=%q,dialect=%q}`, tenant, dialect))
}

// declareMetrics creates, at zero, the series a dashboard queries before traffic comes.
func (s *Server) declareMetrics() {
	buildInfo.Do(func() {
		metrics.ExposeMetadata(true)
		metrics.NewGauge(fmt.Sprintf(`switchboard_build_info{version=%q,go=%q}`, Version(), GoVersion()), func() float64 { return 1 })
	})
	for _, t := range s.cfg.Tenants {
		for _, d := range s.ingress {
			tenantMessages(t.ID, d.name)
		}
	}
}

var buildInfo sync.Once

// help describes the gateway's own metrics; compare.Help has the comparison's.
var help = map[string]string{
	"switchboard_build_info":                        "Always 1: the gateway's version and the Go it was built with, as labels.",
	"switchboard_ingress_requests_total":            "Requests answered, by dialect and HTTP status.",
	"switchboard_ingress_duration_seconds":          "Time to answer a request, by dialect.",
	"switchboard_ingress_messages_total":            "Messages accepted from clients, by tenant and dialect.",
	"switchboard_upstream_requests_total":           "Attempts per upstream by outcome: sent, retry, permanent, or turned away by an open breaker.",
	"switchboard_upstream_mirror_requests_total":    "Mirror copies per upstream by outcome, plus dropped.",
	"switchboard_upstream_request_duration_seconds": "Time an upstream took to answer an attempt.",
	"switchboard_upstream_breaker_state":            "Circuit breaker per upstream: 0 closed, 1 half-open, 2 open.",
	"switchboard_dispatch_messages_total":           "Messages by what dispatch did with them: sent, failed, expired, dead, retry, released, opted_out (also failed).",
	"switchboard_opt_outs_total":                    "Numbers put on (added) or taken off (removed) the tenants' opt-out lists.",
	"switchboard_dispatch_not_carried_total":        "Messages failed because no upstream of their route could carry what they hold.",
	"switchboard_dispatch_flows_left_out_total":     "Requests sent without the message's flow, another vendor's, as its text alone (route foreign_flow: text).",
	"switchboard_queue_depth":                       "Live messages: scheduled, ready and in flight.",
	"switchboard_queue_ready":                       "Messages due and waiting to be sent.",
	"switchboard_queue_oldest_ready_age_seconds":    "Age of the oldest message due and not yet sent (to 100 ms with Badger; estimated from the last message leased with JetStream); 0 when none is ready.",
	"switchboard_queue_disk_free_bytes":             "Bytes free on data_dir's filesystem: the last reading, less what the queue wrote since.",
	"switchboard_queue_disk_reserve_bytes":          "Free space below which new messages are refused (queue.disk_reserve_bytes or _percent).",
	"switchboard_queue_disk_low":                    "1 while data_dir's free space is below the reserve and new messages are refused; delivery goes on.",
	"switchboard_receipts_total":                    "Receipts posted to /receipts/{upstream}, by result: recorded, mirror, unknown, invalid, unauthorized, error.",
	"switchboard_replies_in_total":                  "Recipients' replies posted to /receipts/{upstream}, by upstream and kind.",
	"switchboard_replies_total":                     "Replies by what intake did with them: matched (to a message), unmatched (to the tenant of the line only), refused (no tenant owns the line), invalid, error (not stored; the vendor posts again).",
	"switchboard_replies_out_total":                 "Replies posted to the tenants' replies.url, by result: delivered, dead (dead-lettered after callbacks.max_attempts).",
}

// metrics serves /metrics in the Prometheus text format, with HELP and TYPE for every
// metric, and Go and process metrics.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, true)
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	ctx.SetBody(withHelp(buf.Bytes()))
}

// withHelp fills in the bare "# HELP name" lines the metrics library writes.
func withHelp(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		if name, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\n")), []byte("# HELP ")); ok && bytes.IndexByte(name, ' ') < 0 {
			text := help[string(name)]
			if text == "" {
				text = compare.Help[string(name)]
			}
			if text != "" {
				out = fmt.Appendf(out, "# HELP %s %s\n", name, text)
				continue
			}
		}
		out = append(out, line...)
	}
	return out
}

// adaptersBearer wraps a token as a native Bearer credential.
func adaptersBearer(tok string) adapters.Credential {
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: tok}
}

// accepted is how many new messages a send request queued.
func accepted(failed bool, b *adapters.Batch) int {
	if failed {
		return 0
	}
	n := 0
	for i := range b.Messages {
		if i >= len(b.Dup) || !b.Dup[i] {
			n++
		}
	}
	return n
}

// MillisAttr is a slog ReplaceAttr that writes every duration in milliseconds, its key
// suffixed _ms: operators read milliseconds, and JSON would otherwise print nanoseconds.
func MillisAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key+"_ms", millis(a.Value.Duration()))
	}
	return a
}
