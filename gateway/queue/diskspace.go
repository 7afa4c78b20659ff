package queue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
)

// A full disk. Badger writes its value log and memtable WALs through shared mmaps of sparse
// files: a page it writes into on a full filesystem cannot be allocated, and the kernel kills
// the process with SIGBUS, which Go cannot recover from (and Badger's writes run on Badger's
// own goroutines). So the queue never lets the disk fill: below a reserve of free space it
// refuses new messages (ErrDiskLow, "try later" in every dialect), and everything else goes
// on: leases, sends, retries, receipts, status queries, replays and the consumers' state.
// Those write less than enqueueing did (a delivered message's finished record is slim, and
// its body becomes garbage that value-log GC reclaims once the file holding it is mostly
// garbage), and the reserve is sized so that Badger's own writes fit (see config's
// queue.disk_reserve_bytes). Should delivery still eat half the reserve before GC frees
// anything (a small disk, GC behind), leasing pauses too, until a reading finds space again:
// the gateway stays up, answers status queries and admin, and loses nothing.
//
// The check costs Enqueue an atomic load. Free space is read (statfs) on a timer and, between
// two readings, estimated: each commit group subtracts what it wrote, so that a burst cannot
// run the disk past the reserve within one interval.

const (
	// diskSampleInterval is how often free space is read from the filesystem.
	diskSampleInterval = time.Second
	// diskRetryAfter is the wait a client is told while the disk is below the reserve: space
	// comes back as messages are delivered and value-log GC (gc_interval) removes files, or
	// when an operator frees or adds some; a second would only bring the same answer.
	diskRetryAfter = 30 * time.Second
	// entryOverhead is what Badger adds to each entry a commit writes, beyond its value: the
	// key, its header and checksum, and the pointer the WAL keeps to a value in the value
	// log. Overestimated, so that the estimate errs toward the reserve.
	entryOverhead = 128
	// floorShare puts the floor at which leasing pauses at 1/floorShare of the reserve.
	floorShare = 2
	// dirMode is how the queue's directory is created when missing: as Badger creates it.
	dirMode = 0o700
)

// ErrDiskLow is returned by Enqueue while the free space of the queue's filesystem is below
// the reserve.
var ErrDiskLow = &canonical.Error{Code: canonical.ErrUnavailable,
	Reason: "the gateway's disk is nearly full; try later", RetryAfter: diskRetryAfter}

// Degraded is implemented by backends that can be up but refusing new messages. The gateway's
// /readyz reports the reason.
type Degraded interface {
	// Degraded says why new messages are refused, or "" when they are not.
	Degraded() string
}

// diskGuard watches the free space of the queue's filesystem.
type diskGuard struct {
	dir            string
	reserveBytes   int64
	reservePercent float64
	log            *slog.Logger

	known   bool         // statDisk works here (Linux)
	free    atomic.Int64 // bytes free: the last reading, less what was written since
	reserve atomic.Int64 // bytes: the larger of reserveBytes and reservePercent of the disk
	low     atomic.Bool  // free < reserve: Enqueue refuses
	floor   atomic.Bool  // free < reserve/floorShare: Lease waits too

	mu          sync.Mutex // serialises readings and their log lines
	loggedLow   bool       // the states the log last reported
	loggedFloor bool
}

// newDiskGuard reads the free space of dir once.
func newDiskGuard(dir string, reserveBytes int64, reservePercent float64, log *slog.Logger) *diskGuard {
	g := &diskGuard{dir: dir, reserveBytes: max(reserveBytes, 0), reservePercent: max(reservePercent, 0), log: log}
	_, _, g.known = statDisk(dir)
	if !g.known {
		log.Warn("queue cannot read its disk's free space here; the disk reserve is not checked", "dir", dir)
	}
	g.sample()
	return g
}

// sample reads the free space and moves in or out of low mode, logging the change.
func (g *diskGuard) sample() {
	if !g.known {
		return
	}
	free, size, ok := statDisk(g.dir)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	reserve := max(g.reserveBytes, int64(float64(size)*g.reservePercent/100))
	g.reserve.Store(reserve)
	g.free.Store(free)
	low := free < reserve
	g.low.Store(low)
	floor := free < reserve/floorShare
	g.floor.Store(floor)
	g.logChange(&g.loggedLow, low, free, reserve,
		"queue disk below its reserve: new messages are refused (try later) until space is freed; delivery, status queries, receipts and admin go on",
		"queue disk above its reserve again: new messages are accepted")
	g.logChange(&g.loggedFloor, floor, free, reserve,
		"queue disk below half its reserve: sending pauses too until space is freed; status queries, receipts and admin go on",
		"queue disk above half its reserve again: sending resumes")
}

// logChange logs a move into (below, at WARN) or out of (above) a state, once per move;
// logged is the state last logged. g.mu is held.
func (g *diskGuard) logChange(logged *bool, now bool, free, reserve int64, below, above string) {
	if now == *logged {
		return
	}
	*logged = now
	level, msg := slog.LevelInfo, above
	if now {
		level, msg = slog.LevelWarn, below
	}
	g.log.Log(context.Background(), level, msg, "dir", g.dir, "free_bytes", free, "reserve_bytes", reserve)
}

// wrote takes n bytes just committed off the estimate, entering low mode if it crosses the
// reserve; the next reading confirms it (and logs it) or corrects it.
func (g *diskGuard) wrote(n int64) {
	if !g.known || n <= 0 {
		return
	}
	free, reserve := g.free.Add(-n), g.reserve.Load()
	if free < reserve {
		g.low.Store(true)
	}
	if free < reserve/floorShare {
		g.floor.Store(true)
	}
}

// room says whether n more bytes may be taken without going below the reserve: for what
// can wait, such as the journal's spare segment.
func (g *diskGuard) room(n int64) bool {
	return !g.known || g.free.Load()-n >= g.reserve.Load()
}

// paused tells Lease to wait: the disk is below its floor.
func (g *diskGuard) paused() bool { return g.floor.Load() }

// reason is Degraded's answer.
func (g *diskGuard) reason() string {
	if !g.low.Load() {
		return ""
	}
	delivery := "delivery goes on"
	if g.floor.Load() {
		delivery = "sending is paused too, below half the reserve"
	}
	return fmt.Sprintf("disk nearly full: %d bytes free in %s, below the reserve of %d; new messages are refused until space is freed, %s",
		max(g.free.Load(), 0), g.dir, g.reserve.Load(), delivery)
}

// Degraded says why new messages are refused: the disk is below its reserve.
func (q *Badger) Degraded() string { return q.disk.reason() }

// checkOpenSpace refuses to open Badger on a disk with less free space than Badger writes
// while opening (a new memtable WAL and, after a crash, the L0 table that flushing the
// replayed memtable writes): it would die of SIGBUS instead of saying so.
func (g *diskGuard) checkOpenSpace(need int64) error {
	if !g.known {
		return nil
	}
	if free := g.free.Load(); free < need {
		return fmt.Errorf("only %d bytes free, and opening the queue needs %d: free some space", free, need)
	}
	return nil
}

// reserveSetting reads a reserve option: zero takes the default, a negative value is none.
func reserveSetting[T int64 | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return max(v, 0)
}

func currentDisk() *diskGuard {
	if q := current.Load(); q != nil {
		return q.disk
	}
	return nil
}

var (
	rejectedDiskTotal = metrics.NewCounter(`switchboard_queue_rejected_total{reason="disk"}`)

	_ = metrics.NewGauge(`switchboard_queue_disk_free_bytes`, func() float64 {
		if g := currentDisk(); g != nil {
			return float64(max(g.free.Load(), 0))
		}
		return 0
	})
	_ = metrics.NewGauge(`switchboard_queue_disk_reserve_bytes`, func() float64 {
		if g := currentDisk(); g != nil {
			return float64(g.reserve.Load())
		}
		return 0
	})
	_ = metrics.NewGauge(`switchboard_queue_disk_low`, func() float64 {
		if g := currentDisk(); g != nil && g.low.Load() {
			return 1
		}
		return 0
	})
)
