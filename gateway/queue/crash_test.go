package queue

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/canonical"
)

// crashDirEnv makes the test binary a child that enqueues into that directory until killed;
// fillDirEnv one that fills a memtable there and waits to be killed.
const (
	crashDirEnv = "SWITCHBOARD_QUEUE_CRASH_DIR"
	fillDirEnv  = "SWITCHBOARD_QUEUE_FILL_DIR"
	fillCount   = 25_000 // messages: about 7 MB of an 8 MB memtable
	// crashAcked and crashFinished are how much the crash child must have acknowledged and
	// finished before it is killed: it is then enqueueing, leasing and finishing at once.
	crashAcked    = 5000
	crashFinished = 1000
	// childStart bounds the wait for a child to get there.
	childStart = 30 * time.Second
)

// keepChild gives cmd a stdin that stays open until the test ends, for the child's
// awaitKill: a child left behind by a test that died ends with it.
func keepChild(t *testing.T, cmd *exec.Cmd) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	t.Cleanup(func() { r.Close(); w.Close() })
}

// awaitKill is the end of a child: it waits to be killed, and exits when its parent has
// gone instead (its stdin, from keepChild, is closed).
func awaitKill() {
	io.Copy(io.Discard, os.Stdin)
	os.Exit(3)
}

// TestCrashKeepsAcknowledged kills (SIGKILL) a process that is enqueueing and checks that
// every message it acknowledged is in the queue after reopening.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsAcknowledged$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	keepChild(t, cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(map[string]bool)    // enqueued: Enqueue returned nil
	finished := make(map[string]bool) // Finish returned nil
	var mu sync.Mutex
	busy := make(chan struct{}) // closed at crashAcked acknowledged and crashFinished finished
	isBusy := false
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, id, _ := strings.Cut(sc.Text(), " ")
			if len(id) != 36 { // a UUID; anything else is the test framework's
				continue
			}
			mu.Lock()
			switch kind {
			case "A":
				acked[id] = true
			case "F":
				finished[id] = true
			}
			if !isBusy && len(acked) >= crashAcked && len(finished) >= crashFinished {
				isBusy = true
				close(busy)
			}
			mu.Unlock()
		}
	}()
	select {
	case <-busy:
	case <-time.After(childStart):
		cmd.Process.Kill()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the child acknowledged %d and finished %d within %v", len(acked), len(finished), childStart)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-read // everything the child wrote before dying
	cmd.Wait()

	q := openQueue(t, dir, nil)
	depth := q.Stats().Depth
	seen := make(map[string]int)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ms, _ := q.Lease(ctx, 1000)
		cancel()
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			seen[m.ID]++
		}
	}
	missing, dups, resent := 0, 0, 0
	for id := range acked {
		if finished[id] {
			if rec, err := q.Get(id); err != nil || rec.Msg.Status != canonical.StatusSent {
				t.Errorf("finished message %s: %+v, %v", id, rec, err)
			}
			if seen[id] > 0 {
				resent++
			}
		} else if seen[id] == 0 {
			// Finished just before the kill, before the child could say so?
			if rec, err := q.Get(id); err != nil || rec.Msg.Status != canonical.StatusSent {
				t.Errorf("acknowledged message %s is lost: %+v, %v", id, rec, err)
				missing++
			}
		}
	}
	unacked := 0
	for id, n := range seen {
		if n > 1 {
			dups++
		}
		if !acked[id] {
			unacked++ // stored, but the child was killed before it heard so: allowed
		}
	}
	t.Logf("acknowledged %d (%d finished), live after reopening %d, leased %d (%d never acknowledged), "+
		"missing %d, finished but leased again %d, leased twice %d",
		len(acked), len(finished), depth, len(seen), unacked, missing, resent, dups)
	if missing > 0 || resent > 0 || dups > 0 || int64(len(seen)) != depth {
		t.Fatalf("%d acknowledged messages lost, %d finished ones leased again, %d leased twice, %d leased of %d live",
			missing, resent, dups, len(seen), depth)
	}
}

// crashChild enqueues from several goroutines and prints each acknowledged id ("A id"),
// leases and finishes some ("F id") and leaves others in flight; it never
// returns normally (it is killed, or its parent has gone).
func crashChild(dir string) {
	q, err := Open(Options{Dir: dir, Logger: quiet})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				items := make([]Item, 1+i%4)
				for j := range items {
					items[j] = Item{Msg: newMsg(fmt.Sprintf("5511%03d%06d", w, i))}
				}
				if _, err := q.Enqueue(context.Background(), items); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				var b strings.Builder
				for _, it := range items {
					b.WriteString("A " + it.Msg.ID + "\n")
				}
				mu.Lock()
				os.Stdout.WriteString(b.String()) // at most 4 lines: one atomic pipe write
				mu.Unlock()
			}
		}()
	}
	// Consumers: lease, finish every other message and leave the rest in flight.
	for range 2 {
		go func() {
			for {
				ms, err := q.Lease(context.Background(), 50)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				for i, m := range ms {
					if i%2 == 1 {
						continue
					}
					if err := q.Finish(m, canonical.Change{Status: canonical.StatusSent}); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(2)
					}
					mu.Lock()
					os.Stdout.WriteString("F " + m.ID + "\n")
					mu.Unlock()
				}
			}
		}()
	}
	awaitKill()
}

// TestReopenAfterCrashWithLessMemory: a process with large memtables is killed with one
// nearly full; the queue is reopened with less memory. Badger replays the memtable's WAL
// into a memtable of the new size and exits the process if it does not fit, unless Open
// keeps the old size.
func TestReopenAfterCrashWithLessMemory(t *testing.T) {
	if dir := os.Getenv(fillDirEnv); dir != "" {
		fillChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReopenAfterCrashWithLessMemory$")
	cmd.Env = append(os.Environ(), fillDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	keepChild(t, cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "filled" {
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	q := openQueue(t, dir, nil, func(o *Options) { o.MemoryMB = 1 })
	if got := q.Stats().Depth; got != fillCount {
		t.Fatalf("depth after reopening %d, want %d", got, fillCount)
	}
}

func fillChild(dir string) {
	q, err := Open(Options{Dir: dir, Logger: quiet, MemoryMB: 64, Durability: DurabilityInterval})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; i < fillCount; i += 500 {
		items := make([]Item, 500)
		for j := range items {
			m := newMsg(fmt.Sprintf("5511%04d%05d", i, j))
			items[j] = Item{Msg: m, IdemKey: m.To}
		}
		if _, err := q.Enqueue(context.Background(), items); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	fmt.Println("filled")
	awaitKill()
}
