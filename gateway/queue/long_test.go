package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"switchboard/canonical"
)

// Long measurements, run only with SWITCHBOARD_LONG=1 (they take about a minute):
//
//	SWITCHBOARD_LONG=1 go test -run Million -v ./gateway/queue/
const (
	longEnv        = "SWITCHBOARD_LONG"
	millionDirEnv  = "SWITCHBOARD_QUEUE_MILLION_DIR"
	millionQueued  = 1_000_000
	millionRate    = 20_000 // messages per second enqueued, and leased and finished, under load
	millionLoadFor = 10 * time.Second
	maxOpenTime    = 5 * time.Second
	// maxAnonRSSKiB bounds the process's anonymous memory (Go heap, Badger's caches and
	// memtables). Badger also maps its value-log and table files: the pages it touches count
	// in VmRSS as clean page cache the kernel reclaims under a memory limit; they are logged.
	maxAnonRSSKiB = 256 << 10
	// rssSampleEvery is how often the load samples the process's resident memory.
	rssSampleEvery = 200 * time.Millisecond
)

// TestOpenMillion fills a queue with a million messages, then, in a fresh process, opens it
// (the time to serve again after a restart) and runs 20k msg/s through it while the million
// wait, sampling the process's resident memory.
func TestOpenMillion(t *testing.T) {
	if dir := os.Getenv(millionDirEnv); dir != "" {
		millionChild(dir)
		return
	}
	if os.Getenv(longEnv) != "1" {
		t.Skip("set " + longEnv + "=1 to run")
	}
	dir := t.TempDir()
	start := time.Now()
	q, err := Open(Options{Dir: dir, Logger: quiet, Durability: DurabilityInterval, MaxDepth: 2 * millionQueued})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const workers, batch = 16, 500
	for w := range workers {
		wg.Go(func() {
			for i := w * batch; i < millionQueued; i += workers * batch {
				items := make([]Item, batch)
				for j := range items {
					items[j] = Item{Msg: benchMsg()}
				}
				if _, err := q.Enqueue(context.Background(), items); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("filled %d messages in %v", millionQueued, time.Since(start).Round(time.Millisecond))

	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenMillion$")
	cmd.Env = append(os.Environ(), millionDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]int64)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			got[k] = n
			t.Logf("%s = %d", k, n)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if got["depth_at_open"] != millionQueued {
		t.Errorf("depth at open %d, want %d", got["depth_at_open"], millionQueued)
	}
	if open := time.Duration(got["open_ms"]) * time.Millisecond; open > maxOpenTime {
		t.Errorf("open took %v, want under %v", open, maxOpenTime)
	}
	if got["max_rss_anon_kib"] > maxAnonRSSKiB {
		t.Errorf("peak anonymous RSS %d KiB, want at most %d KiB", got["max_rss_anon_kib"], maxAnonRSSKiB)
	}
	for _, k := range []string{"enqueued", "finished"} {
		if got[k] < int64(millionRate*millionLoadFor.Seconds()*0.9) {
			t.Errorf("%s only %d messages under load", k, got[k])
		}
	}
}

// millionChild opens the queue, runs the load and prints key=value lines.
func millionChild(dir string) {
	start := time.Now()
	q, err := Open(Options{Dir: dir, Logger: quiet, MaxDepth: 2 * millionQueued})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	openTime := time.Since(start)
	fmt.Printf("open_ms=%d\ndepth_at_open=%d\nrss_after_open_kib=%d\n", openTime.Milliseconds(), q.Stats().Depth, procStatus("VmRSS"))
	printMem("open")

	if p := os.Getenv("SWITCHBOARD_CPU_PROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), millionLoadFor)
	defer cancel()
	var enqueued, finished atomic.Int64
	var wg sync.WaitGroup
	// pace runs f every period until ctx is done, catching up on the runs it fell behind.
	pace := func(period time.Duration, f func() error) {
		defer wg.Done()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for next := time.Now(); ctx.Err() == nil; next = next.Add(period) {
			timer.Reset(time.Until(next))
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			if err := f(); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
	const producers, consumers, leaseBatch = 64, 16, 20
	for range producers {
		wg.Add(1)
		go pace(time.Second*producers/millionRate, func() error {
			_, err := q.Enqueue(ctx, []Item{{Msg: benchMsg()}})
			if err == nil {
				enqueued.Add(1)
			}
			return err
		})
	}
	for range consumers {
		wg.Add(1)
		go pace(time.Second*consumers*leaseBatch/millionRate, func() error {
			ms, err := q.Lease(ctx, leaseBatch)
			for _, m := range ms {
				if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
					return err
				}
				finished.Add(1)
			}
			return err
		})
	}
	var maxRSS, maxAnon int64
	byFile := make(map[string]int64)
	sample := time.NewTicker(rssSampleEvery)
	defer sample.Stop()
	for ctx.Err() == nil {
		maxRSS = max(maxRSS, procStatus("VmRSS"))
		maxAnon = max(maxAnon, procStatus("RssAnon"))
		for ext, kib := range mappedRSS() {
			byFile[ext] = max(byFile[ext], kib)
		}
		select {
		case <-sample.C:
		case <-ctx.Done():
		}
	}
	for ext, kib := range byFile {
		fmt.Printf("max_rss_mapped_%s_kib=%d\n", ext, kib)
	}
	wg.Wait()
	fmt.Printf("enqueued=%d\nfinished=%d\nmax_rss_kib=%d\nmax_rss_anon_kib=%d\nvmhwm_kib=%d\ndepth_at_end=%d\n",
		enqueued.Load(), finished.Load(), maxRSS, maxAnon, procStatus("VmHWM"), q.Stats().Depth)
	printMem("load")
	var mb strings.Builder
	metrics.WritePrometheus(&mb, false)
	for _, l := range strings.Split(mb.String(), "\n") {
		if strings.HasPrefix(l, "switchboard_queue_") && (strings.Contains(l, "_sum ") || strings.Contains(l, "_count ")) {
			k, v, _ := strings.Cut(l, " ")
			f, _ := strconv.ParseFloat(v, 64)
			fmt.Printf("%s=%d\n", k, int64(f*1000)) // milli-units
		}
	}
	if p := os.Getenv("SWITCHBOARD_HEAP_PROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	start = time.Now()
	if err := q.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("close_ms=%d\n", time.Since(start).Milliseconds())
	pprof.StopCPUProfile()
	os.Exit(0)
}

func printMem(when string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%s_heap_inuse_kib=%d\n%s_heap_sys_kib=%d\n%s_go_sys_kib=%d\n", when, ms.HeapInuse>>10, when, ms.HeapSys>>10, when, ms.Sys>>10)
}

// mappedRSS sums the resident pages of Badger's mapped files by kind (vlog, sst, mem).
func mappedRSS() map[string]int64 {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return nil
	}
	out := make(map[string]int64)
	ext := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.Contains(f[0], "-") { // a mapping's header line
			ext = ""
			if len(f) >= 6 {
				for _, e := range []string{"vlog", "sst", "mem"} {
					if strings.HasSuffix(f[5], "."+e) {
						ext = e
					}
				}
			}
		} else if ext != "" && len(f) == 3 && f[0] == "Rss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			out[ext] += n
		}
	}
	return out
}

// procStatus returns a field of /proc/self/status in KiB (0 if unknown).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
