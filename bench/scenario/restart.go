package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// restart is the recovery figure: a queue of Messages waiting for a dead upstream, the
// gateway killed with SIGKILL, then started again with the upstream back.
type restart struct {
	Messages    int     `json:"messages"`
	EnqueueSec  float64 `json:"enqueue_sec"`
	EnqueueRate float64 `json:"enqueue_per_sec"` // Wavy bulk requests of bulkSize
	DepthAtKill int64   `json:"depth_at_kill"`
	ReadySec    float64 `json:"ready_sec"`    // process start -> /readyz 200
	FirstSec    float64 `json:"first_sec"`    // process start -> first message at the upstream
	After5s     int64   `json:"after_5s"`     // delivered in the 5 s after the first
	PeakRSS     int64   `json:"peak_rss"`     // of the restarted gateway, after those 5 s
	StartRSSMax int64   `json:"enqueue_rss"`  // of the first gateway, at the kill
	QueueBytes  int64   `json:"queue_bytes"`  // the data directory at the kill
	Delivered   int64   `json:"delivered"`    // by the end of the measurement
	LiveAfter   int64   `json:"live_after"`   // still queued then: Delivered + LiveAfter >= Messages
	Unavailable int64   `json:"backpressure"` // 429/503 answers retried while enqueuing
}

// afterFirstWindow is the window after the restarted gateway's first delivery whose
// deliveries the phase counts (After5s).
const afterFirstWindow = 5 * time.Second

const (
	bulkSize    = 500 // messages per Wavy send-bulk-sms request (the vendor allows 1000)
	bulkWorkers = 8
)

func (s *scenario) restart(ctx context.Context) (restart, error) {
	res := restart{Messages: s.o.restartMessages}
	g, up, err := s.startUpstreamDown("restart", badgerQueue("always"))
	if err != nil {
		return res, err
	}
	defer g.kill()
	cfg, addr := g.cfg, g.addr

	s.logf("restart: queueing %d messages (upstream down)", res.Messages)
	start := time.Now()
	if res.Unavailable, err = enqueueBulk(ctx, g.addr, res.Messages); err != nil {
		return res, err
	}
	res.EnqueueSec = time.Since(start).Seconds()
	res.EnqueueRate = float64(res.Messages) / res.EnqueueSec
	q, err := g.queue()
	if err != nil {
		return res, err
	}
	res.DepthAtKill = q.Depth
	res.StartRSSMax, _ = peakRSS(g.pid())
	res.QueueBytes = dirSize(g.data)
	g.kill()

	// The upstream is back before the gateway starts again.
	rs, err := restartToSink(s.o.bin, cfg, addr, up)
	if err != nil {
		return res, err
	}
	defer rs.close()
	g2, sk := rs.g, rs.sink
	res.ReadySec, res.FirstSec = rs.readySec, rs.firstSec
	// A measurement, not a wait: the deliveries in a fixed window after the first.
	base := sk.count.Load()
	select {
	case <-time.After(afterFirstWindow):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.After5s = sk.count.Load() - base
	res.PeakRSS, _ = peakRSS(g2.pid())
	q, err = g2.queue()
	res.Delivered, res.LiveAfter = sk.count.Load(), q.Depth
	return res, err
}

// enqueueBulk sends n messages to the gateway's Wavy bulk endpoint from bulkWorkers
// connections, retrying answers that mean "try later", and returns how many there were.
func enqueueBulk(ctx context.Context, addr string, n int) (int64, error) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: bulkWorkers, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	var next, retried atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, bulkWorkers)
	for range bulkWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + "/v1/send-bulk-sms")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("username", "acme")
			req.Header.Set("authenticationtoken", "wavy-demo-token")
			var body []byte
			for ctx.Err() == nil {
				first := next.Add(bulkSize) - bulkSize
				if first >= int64(n) {
					return
				}
				body = appendBulk(body[:0], first, min(int64(n), first+bulkSize))
				req.SetBody(body)
				for {
					if err := hc.DoTimeout(req, resp, time.Minute); err != nil {
						errs <- fmt.Errorf("cannot queue messages: %w", err)
						return
					}
					if c := resp.StatusCode(); c == 429 || c == 503 {
						retried.Add(1)
						time.Sleep(100 * time.Millisecond)
						continue
					}
					break
				}
				if c := resp.StatusCode(); c != 200 {
					errs <- fmt.Errorf("cannot queue messages: status %d: %.200s", c, resp.Body())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(<-errs, ctx.Err()); err != nil {
		return retried.Load(), err
	}
	return retried.Load(), nil
}

// appendBulk writes a Wavy bulk request for messages [from, to): Brazilian mobile numbers,
// a short text naming the message.
func appendBulk(b []byte, from, to int64) []byte {
	b = append(b, `{"messages":[`...)
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ',')
		}
		b = append(b, `{"destination":"55119`...)
		b = strconv.AppendInt(b, 60000000+i%40000000, 10)
		b = append(b, `","messageText":"restart bench message `...)
		b = strconv.AppendInt(b, i, 10)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

// countSink is an upstream that answers success to everything (in Kannel's words on
// /kannel) and counts requests, remembering when the first arrived.
type countSink struct {
	ln    net.Listener
	srv   *fasthttp.Server
	count atomic.Int64
	first chan time.Time
}

func startCountSink(addr string) (*countSink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the sink: %w", err)
	}
	s := &countSink{ln: ln, first: make(chan time.Time, 1)}
	s.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if s.count.Add(1) == 1 {
			s.first <- time.Now()
		}
		if bytes.HasPrefix(ctx.Path(), []byte("/kannel")) {
			// What Kannel's HTTP SMSC of system-type kannel takes for success.
			ctx.SetStatusCode(fasthttp.StatusAccepted)
			ctx.SetBodyString("0: Accepted for delivery")
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"success":true}`)
	}}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *countSink) waitFirst(limit time.Duration) (time.Time, error) {
	select {
	case t := <-s.first:
		return t, nil
	case <-time.After(limit):
		return time.Time{}, fmt.Errorf("no message reached the upstream within %s", limit)
	}
}

func (s *countSink) close() { s.srv.Shutdown() }

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
