package queue

import (
	"bufio"
	"context"
	"fmt"
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
)

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
	first := make(chan struct{})
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
				if len(acked) == 0 {
					close(first)
				}
				acked[id] = true
			case "F":
				finished[id] = true
			}
			mu.Unlock()
		}
	}()
	select {
	case <-first:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child acknowledged nothing")
	}
	time.Sleep(time.Second)
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
// returns normally (it is killed, or gives up after a while).
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
	time.Sleep(60 * time.Second)
	os.Exit(3)
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
	time.Sleep(time.Minute)
	os.Exit(3)
}
