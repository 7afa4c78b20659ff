package gateway

import (
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
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

// instrument counts requests and times them per dialect.
func (s *Server) instrument(dialect string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	hist := metrics.GetOrCreateHistogram(fmt.Sprintf(`switchboard_ingress_duration_seconds{dialect=%q}`, dialect))
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h(ctx)
		hist.UpdateDuration(start)
		requestCounter(dialect, ctx.Response.StatusCode()).Inc()
	}
}

// metrics serves /metrics in the Prometheus text format, with Go and process metrics.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	metrics.WritePrometheus(ctx, true)
}

// adaptersBearer wraps a token as a native Bearer credential.
func adaptersBearer(tok string) adapters.Credential {
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: tok}
}
