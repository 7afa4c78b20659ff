package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The deep-backlog figure (opt-in: -depth N, not part of make bench): with the upstream down,
// the queue is filled through Wavy bulk requests to N messages, and at depth 0 (a warm-up's
// few thousand), N/5, N/2 and N the phase measures the accept rate of probes of the same
// size (depthProbe), the gateway's anonymous memory and the queue's disk; then the gateway is
// killed with SIGKILL and started again with the upstream back, and the phase measures the
// time to /readyz, to the first delivery and the rate at which the backlog drains (until only
// retries waiting out their backoff are left).
//
// A shared machine's load moves more between minutes than the depth moves the rate, so at
// each depth a twin gateway with an empty queue, started fresh for that depth, is probed in
// turn with the deep one (depthRounds each, alternating): the deep gateway's rate is read
// against the twin's of the same minute, as well as against its own at depth 0.

// maxDepthProbe is the most messages whose accept time is measured at each depth: enough
// to span many commit groups and syncs. A small curve probes a twentieth of its depth.
const maxDepthProbe = 50000

// depthProbe is the probe of a curve to depth n.
func depthProbe(n int) int { return min(max(n/20, 1000), maxDepthProbe) }

// depthWarmup is queued before the first probe, so that the first measures the queue, not
// the first connections and Badger's first memtable.
const depthWarmup = 5000

// depthRounds is how many probes each gateway gets at each depth, alternating; the rates
// reported are their medians.
const depthRounds = 3

// depthDrainLimit bounds the wait for the backlog to drain; the rate is measured over what
// was delivered meanwhile.
const depthDrainLimit = 5 * time.Minute

// depthPoint is one depth of the curve.
type depthPoint struct {
	Depth      int64   `json:"depth"`       // queued before the probe
	AcceptRate float64 `json:"accept_rate"` // the probes' messages per second (median)
	TwinRate   float64 `json:"twin_rate"`   // the empty twin's, probed in turn (median)
	TwinRatio  float64 `json:"twin_ratio"`  // median of each round's AcceptRate ÷ TwinRate
	RssAnon    int64   `json:"rss_anon"`    // after the probe, bytes
	Disk       int64   `json:"disk"`        // the data directory's allocated bytes after the probe
}

type depthCurve struct {
	Probe     int          `json:"probe"` // messages a probe sends
	Points    []depthPoint `json:"points"`
	ReadySec  float64      `json:"ready_sec"` // restart after kill -9 -> /readyz 200
	FirstSec  float64      `json:"first_sec"` // restart -> first message at the upstream
	Drained   int64        `json:"drained"`
	DrainSec  float64      `json:"drain_sec"` // first delivery -> backlog empty (or the limit)
	DrainRate float64      `json:"drain_rate"`
	LiveAfter int64        `json:"live_after"` // still queued when the drain was measured, scheduled included
}

func (s *scenario) depthCurve(ctx context.Context, n int) (depthCurve, error) {
	res := depthCurve{Probe: depthProbe(n)}
	// Room for the probes beyond the depth.
	queue := fmt.Sprintf("{ durability: always, max_depth: %d }", n+4*depthRounds*res.Probe+depthWarmup)
	g, up, err := s.startUpstreamDown("depth", queue)
	if err != nil {
		return res, err
	}
	defer g.kill()
	cfg, addr := g.cfg, g.addr
	if _, err := enqueueBulk(ctx, g.addr, depthWarmup); err != nil {
		return res, err
	}
	queued := int64(depthWarmup)
	for i, target := range []int64{0, int64(n) / 5, int64(n) / 2, int64(n)} {
		if fill := target - queued; fill > 0 {
			if _, err := enqueueBulk(ctx, g.addr, int(fill)); err != nil {
				return res, err
			}
			queued = target
		}
		p := depthPoint{Depth: queued}
		twin, _, err := s.startUpstreamDown(fmt.Sprintf("depth-twin-%d", i), queue)
		if err != nil {
			return res, err
		}
		deep, flat, ratios, err := s.depthRounds(ctx, g, twin, res.Probe)
		twin.kill()
		os.RemoveAll(filepath.Dir(twin.cfg)) // after the kill: a Badger whose directory goes never exits
		if err != nil {
			return res, err
		}
		queued += int64(depthRounds * res.Probe)
		p.AcceptRate, p.TwinRate, p.TwinRatio = median(deep), median(flat), median(ratios)
		v, err := procStatus(g.pid(), "RssAnon:")
		if err != nil {
			return res, err
		}
		p.RssAnon, p.Disk = v[0], allocated(g.data)
		res.Points = append(res.Points, p)
		s.logf("  depth %d: accepts %.0f/s, twin %.0f/s (× %.2f), RssAnon %s, disk %s", p.Depth, p.AcceptRate, p.TwinRate,
			p.TwinRatio, mb(float64(p.RssAnon)), mb(float64(p.Disk)))
	}
	q, err := g.queue()
	if err != nil {
		return res, err
	}
	if q.Depth != queued {
		return res, fmt.Errorf("queue depth %d, want %d", q.Depth, queued)
	}
	g.kill()

	rs, err := restartToSink(s.o.bin, cfg, addr, up)
	if err != nil {
		return res, err
	}
	defer rs.close()
	res.ReadySec, res.FirstSec = rs.readySec, rs.firstSec
	first, sk := rs.first, rs.sink
	deadline := first.Add(depthDrainLimit)
	for {
		if q, err = rs.g.queue(); err != nil {
			return res, err
		}
		// Drained when all that is left waits out a retry's backoff (the first sends failed
		// while the upstream was down): the rate is the backlog's, not the backoff's.
		if q.Depth == q.Scheduled || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.DrainSec = time.Since(first).Seconds()
	res.Drained, res.LiveAfter = sk.count.Load(), q.Depth
	res.DrainRate = float64(res.Drained) / res.DrainSec
	return res, ctx.Err()
}

// report is the curve as markdown, each depth against depth 0.
func (c depthCurve) report() string {
	var b strings.Builder
	b.WriteString("| queued before the probes | accepts (Wavy bulk) | × depth 0 | empty twin, same minute | × twin | RssAnon | RssAnon over depth 0, per queued message | disk | disk per queued message |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range c.Points {
		z := c.Points[0]
		held := p.Depth + depthRounds*int64(c.Probe) // queued when memory and disk were read
		perAnon, perDisk := "", ""
		if p.Depth > z.Depth {
			perAnon = fmt.Sprintf("%.0f B", float64(p.RssAnon-z.RssAnon)/float64(p.Depth-z.Depth))
		}
		perDisk = fmt.Sprintf("%.0f B", float64(p.Disk)/float64(held))
		fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %.2f | %s | %s | %s | %s |\n", fmtInt(p.Depth), rate(p.AcceptRate), p.AcceptRate/z.AcceptRate,
			rate(p.TwinRate), p.TwinRatio, mb(float64(p.RssAnon)), perAnon, mb(float64(p.Disk)), perDisk)
	}
	fmt.Fprintf(&b, "\nAfter kill -9 and a restart with the upstream back: /readyz 200 after %.2f s, first delivery after %.2f s; "+
		"%s delivered in %.1f s after the first (%s), %s still queued.\n",
		c.ReadySec, c.FirstSec, fmtInt(c.Drained), c.DrainSec, rate(c.DrainRate), fmtInt(c.LiveAfter))
	return b.String()
}

// depthRounds probes the deep gateway and its empty twin in turn, depthRounds times each,
// and returns each one's rates and each round's ratio.
func (s *scenario) depthRounds(ctx context.Context, deep, twin *gateway, probe int) (deepRates, twinRates, ratios []float64, err error) {
	if _, err := enqueueBulk(ctx, twin.addr, depthWarmup); err != nil {
		return nil, nil, nil, err
	}
	timed := func(g *gateway) (float64, error) {
		start := time.Now()
		if _, err := enqueueBulk(ctx, g.addr, probe); err != nil {
			return 0, err
		}
		return float64(probe) / time.Since(start).Seconds(), nil
	}
	for round := range depthRounds {
		// Which goes first alternates, so that neither always follows the other's probe.
		order := []*gateway{deep, twin}
		if round%2 == 1 {
			order = []*gateway{twin, deep}
		}
		var r [2]float64
		for _, g := range order {
			v, err := timed(g)
			if err != nil {
				return nil, nil, nil, err
			}
			if g == deep {
				r[0] = v
			} else {
				r[1] = v
			}
		}
		deepRates, twinRates, ratios = append(deepRates, r[0]), append(twinRates, r[1]), append(ratios, r[0]/r[1])
	}
	return deepRates, twinRates, ratios, nil
}

// allocated is the disk space the files under dir take (their allocated blocks: Badger's
// logs are created sparse at their full size).
func allocated(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					n += int64(st.Blocks) * 512
				}
			}
		}
		return nil
	})
	return n
}

// restarted is a gateway started again after a kill, with its upstream back.
type restarted struct {
	g                  *gateway
	sink               *countSink
	first              time.Time // the first delivery
	readySec, firstSec float64   // from the gateway's start to /readyz 200 and to first
}

// restartToSink starts the sink at up, then the gateway of cfg again, and waits for the
// first message to reach the sink.
func restartToSink(bin, cfg, addr, up string) (*restarted, error) {
	sk, err := startCountSink(up)
	if err != nil {
		return nil, err
	}
	g, err := startGateway(bin, cfg, addr)
	if err != nil {
		sk.close()
		return nil, err
	}
	r := &restarted{g: g, sink: sk, readySec: g.ready.Sub(g.started).Seconds()}
	if r.first, err = sk.waitFirst(time.Minute); err != nil {
		r.close()
		return nil, err
	}
	r.firstSec = r.first.Sub(g.started).Seconds()
	return r, nil
}

// close stops the gateway, then the sink.
func (r *restarted) close() {
	r.g.stop(30 * time.Second)
	r.sink.close()
}

// startUpstreamDown starts a gateway in the work directory's dir, with the queue block
// queue, whose upstream (at the address returned) is not listening yet.
func (s *scenario) startUpstreamDown(dir, queue string) (*gateway, string, error) {
	up, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg, addr, err := newGatewayConfig(filepath.Join(s.work, dir), up, queue, s.o.upstreamConns)
	if err != nil {
		return nil, "", err
	}
	g, err := startGateway(s.o.bin, cfg, addr)
	return g, up, err
}
