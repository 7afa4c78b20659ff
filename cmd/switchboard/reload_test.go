package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-json"
)

// reloadConfig is a split between upstreams a and b; {{SPLIT}} and {{EXTRA}} change it.
const reloadConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
shutdown: { drain: {{DRAIN}}, timeout: 20s }
retry: { max_attempts: 10, initial_backoff: 50ms, max_backoff: 200ms }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - name: a
    dialect: http
    receipts: open
    url: "http://{{A}}/messages"
    max_conns: 32
  - name: b
    dialect: http
    receipts: open
    url: "http://{{B}}/messages"
    max_conns: 32
{{EXTRA}}
routes:
  - name: default
    match: {}
    split: [{ upstream: a, weight: {{WA}} }, { upstream: b, weight: {{WB}} }]
{{FAILOVER}}`

// answered is one answered request of the load.
type answered struct {
	at   time.Time
	code int
	id   string
}

// steadyLoad sends native messages at a steady rate from a bounded pool until stop is closed or
// limit requests were sent, each to its own recipient.
type steadyLoad struct {
	mu    sync.Mutex
	sends []answered
	done  chan struct{}
}

func startSteadyLoad(addr string, perSecond, limit int, stop <-chan struct{}) *steadyLoad {
	l := &steadyLoad{done: make(chan struct{})}
	jobs := make(chan int, perSecond)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range jobs {
				code, body := sendNative(addr, fmt.Sprintf(`{"to":"+97250%07d","text":"load %d"}`, i, i))
				s := answered{at: time.Now(), code: code}
				var a struct{ ID string }
				if code == 202 && json.Unmarshal([]byte(body), &a) == nil {
					s.id = a.ID
				}
				l.mu.Lock()
				l.sends = append(l.sends, s)
				l.mu.Unlock()
			}
		})
	}
	go func() {
		defer close(l.done)
		defer wg.Wait()
		defer close(jobs)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for i := range limit {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			select {
			case jobs <- i:
			default: // the pool is saturated: the request is skipped, not queued up
			}
		}
	}()
	return l
}

func (l *steadyLoad) snapshot() []answered {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]answered(nil), l.sends...)
}

// TestReloadAndDrainUnderLoad: under a steady 500 req/s, a SIGHUP moves a split from 0/100
// to 50/50 and adds an upstream; a SIGHUP with a broken config is refused with its lines
// and changes nothing; a SIGTERM drains (/readyz 503 while requests are still served) and
// stops cleanly. No request gets a non-2xx answer while the listener is open, and every
// acknowledged message reaches an upstream exactly once.
func TestReloadAndDrainUnderLoad(t *testing.T) {
	a, b, c := startSink(t), startSink(t), startSink(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	write := func(wa, wb int, extra, failover string) string {
		return writeConfig(t, dir, fillConfig(reloadConfig, "ADDR", addr, "DATA", dir+"/data", "DRAIN", "2s",
			"A", a.addr, "B", b.addr, "WA", fmt.Sprint(wa), "WB", fmt.Sprint(wb), "EXTRA", extra, "FAILOVER", failover))
	}
	cfgPath := write(0, 100, "", "")
	p := startProc(t, addr, "serve", "-config", cfgPath)

	stop := make(chan struct{})
	l := startSteadyLoad(addr, 500, 10*500, stop) // at most 10 s of load
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-l.done
	}()
	eventually(t, 5*time.Second, "the load to reach upstream b", func() bool { return b.total.Load() >= 300 })
	if n := a.total.Load(); n != 0 {
		t.Fatalf("upstream a, weight 0, got %d messages", n)
	}

	// 0/100 -> 50/50, and a third upstream c as the route's failover.
	write(50, 50, "  - name: c\n    dialect: http\n    receipts: open\n    url: \"http://"+c.addr+"/messages\"\n", "    upstreams: [c]\n")
	hup, bAtHup := time.Now(), b.total.Load()
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, time.Second, "upstream a to take messages within a second of the SIGHUP", func() bool { return a.total.Load() > 0 })
	t.Logf("the new split reached upstream a %v after the SIGHUP", time.Since(hup))
	eventually(t, 5*time.Second, "upstream a to take 200", func() bool { return a.total.Load() >= 200 })
	da, db := a.total.Load(), b.total.Load()-bAtHup
	if share := float64(da) / float64(da+db); share < 0.3 || share > 0.7 {
		t.Fatalf("after the reload a got %d and b %d: not a 50/50 split", da, db)
	}
	if _, ok := adminUpstreams(t, addr)["c"]; !ok {
		t.Fatal("the added upstream c is not listed")
	}

	// A broken config: refused with its lines, and the 50/50 split keeps serving.
	broken := strings.Replace(string(must(os.ReadFile(cfgPath))), "weight: 50 }", "weight: -5 }", 1) +
		"  - name: broken\n    upstreams: [ghost]\n"
	os.WriteFile(cfgPath, []byte(broken), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 5*time.Second, "the broken config to be refused in the log", func() bool {
		return strings.Contains(p.output(), "reload refused")
	})
	logs := p.output()
	for _, want := range []string{
		fmt.Sprintf("switchboard.yaml:%d: routes[0].split[0].weight: must not be negative", lineWith(broken, "weight: -5")),
		fmt.Sprintf(`switchboard.yaml:%d: routes[1].upstreams[0]: upstream \"ghost\" is not defined`, lineWith(broken, "[ghost]")),
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the refusal does not say %q:\n%s", want, logs)
		}
	}
	aBefore := a.total.Load()
	eventually(t, 5*time.Second, "a to keep its half after the refused reload", func() bool { return a.total.Load() >= aBefore+100 })

	// SIGTERM: /readyz 503 for the drain while sends still succeed, then a clean exit.
	p.cmd.Process.Signal(syscall.SIGTERM)
	term := time.Now()
	eventually(t, time.Second, "/readyz to answer 503", func() bool {
		code, _ := get("http://"+addr+"/readyz", nil)
		return code == 503
	})
	drainSeen := time.Now()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the gateway did not stop within 15s of SIGTERM")
	}
	t.Logf("stopped %v after SIGTERM", time.Since(term))
	close(stop)
	<-l.done
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("exit: %v\n%s", p.cmd.ProcessState, p.output())
	}

	var ids []string
	var servedDraining, refused int
	var lastOK time.Time
	for _, s := range l.snapshot() {
		switch {
		case s.code == 202:
			ids = append(ids, s.id)
			if s.at.After(drainSeen) {
				servedDraining++
			}
			if s.at.After(lastOK) {
				lastOK = s.at
			}
		case s.code == 0 && s.at.After(term):
			refused++ // the listener closed after the drain
		default:
			t.Errorf("a request answered %d at %v (SIGTERM at %v)", s.code, s.at.Format(time.StampMilli), term.Format(time.StampMilli))
		}
	}
	if servedDraining < 200 {
		t.Fatalf("only %d requests were served during the 2s drain", servedDraining)
	}
	if took := lastOK.Sub(term); took < 1500*time.Millisecond {
		t.Fatalf("the last 2xx came %v after SIGTERM: the drain did not keep serving", took)
	}
	t.Logf("%d acknowledged, %d served while draining, %d refused after the listener closed", len(ids), servedDraining, refused)

	// Every acknowledged message reaches an upstream once: those still queued at the stop
	// go out after a restart on the same data.
	startProc(t, addr, "serve", "-config", write(50, 50, "  - name: c\n    dialect: http\n    receipts: open\n    url: \"http://"+c.addr+"/messages\"\n", "    upstreams: [c]\n"))
	waitEach(t, ids, 30*time.Second, a, b, c)
	for _, s := range []*sink{a, b, c} {
		s.mu.Lock()
		for id, n := range s.seen {
			if n > 1 {
				t.Errorf("message %s reached an upstream %d times", id, n)
			}
		}
		s.mu.Unlock()
	}
}

// waitEach waits until every id reached one of the sinks.
func waitEach(t *testing.T, ids []string, limit time.Duration, sinks ...*sink) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		missing := 0
		for _, id := range ids {
			n := 0
			for _, s := range sinks {
				n += s.count(id)
			}
			if n == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never reached an upstream", missing, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lineWith is the 1-based line of text's first line containing sub.
func lineWith(text, sub string) int {
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, sub) {
			return i + 1
		}
	}
	return 0
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// eventually polls cond until it holds, or fails after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
