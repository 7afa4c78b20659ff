package loadgen

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/internal/testutil"
)

// serve starts h on a loopback port and returns its base URL.
func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln := testutil.Listen(t)
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// stallServer answers 200 after delay; its stallAt-th request freezes the
// whole server for stallFor, as a GC pause or a slow fsync would: every
// request arriving meanwhile waits for the end of the stall.
type stallServer struct {
	delay    time.Duration
	stallAt  int64
	stallFor time.Duration
	n        atomic.Int64
	until    atomic.Int64 // unix nanoseconds
	arrivals chan time.Time
}

func (s *stallServer) handle(ctx *fasthttp.RequestCtx) {
	now := time.Now()
	if s.arrivals != nil {
		select {
		case s.arrivals <- now:
		default:
		}
	}
	if k := s.n.Add(1); k == s.stallAt {
		s.until.Store(now.Add(s.stallFor).UnixNano())
	}
	if d := time.Duration(s.until.Load() - now.UnixNano()); d > 0 {
		time.Sleep(d)
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	ctx.SetBodyString(`{"success":true}`)
}

func within(got, want, tol float64) bool { return got >= want*(1-tol) && got <= want*(1+tol) }
