package gateway

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/native"
)

// observedSend is the wrapping every send request goes through (accessLog, instrument,
// noteSend) around a handler that does nothing else, with the gateway logging at level.
func observedSend(level slog.Level, log *bytes.Buffer) (fasthttp.RequestHandler, *fasthttp.RequestCtx) {
	s := &Server{core: &core{log: slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: level}))}}
	t := &tenant{id: "observe-tenant"}
	in := native.New()
	h := s.accessLog(s.instrument(in.Dialect(), func(ctx *fasthttp.RequestCtx) {
		s.noteSend(ctx, in, t, 1, false)
		ctx.SetStatusCode(fasthttp.StatusAccepted)
	}))
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	ctx.Request.SetRequestURI("/gateway/v1/messages")
	return h, ctx
}

// TestObservedSendAllocatesNothing: below info, counting and timing a send and noting its
// tenant allocate nothing once the tenant's counter exists, and the counter counts each send;
// at info the access line still names the dialect and the tenant.
func TestObservedSendAllocatesNothing(t *testing.T) {
	var out bytes.Buffer
	h, ctx := observedSend(slog.LevelWarn, &out)
	h(ctx) // creates the tenant's counter and the request counter
	if n := testing.AllocsPerRun(200, func() { h(ctx) }); n != 0 {
		t.Errorf("a send below info allocates %.1f times in the access log, instrument and noteSend, want 0", n)
	}
	if out.Len() != 0 {
		t.Errorf("logged below info: %s", out.String())
	}
	counter := tenantMessages("observe-tenant", native.Dialect)
	before := counter.Get()
	for range 3 {
		h(ctx)
	}
	if got := counter.Get() - before; got != 3 {
		t.Errorf("the tenant's accepted-messages counter rose by %d for 3 sends, want 3", got)
	}

	h, ctx = observedSend(slog.LevelInfo, &out)
	h(ctx)
	line := out.String()
	for _, want := range []string{`"msg":"request"`, `"dialect":"native"`, `"tenant":"observe-tenant"`, `"status":202`} {
		if !strings.Contains(line, want) {
			t.Errorf("access line %s lacks %s", line, want)
		}
	}
}

// BenchmarkObservedSend is what the access log, the ingress metrics and the tenant's
// counter cost a send: at warn (the bench's level) and at info (one JSON line each).
func BenchmarkObservedSend(b *testing.B) {
	for _, c := range []struct {
		name  string
		level slog.Level
	}{{"warn", slog.LevelWarn}, {"info", slog.LevelInfo}} {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			h, ctx := observedSend(c.level, &out)
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				h(ctx)
			}
		})
	}
}
