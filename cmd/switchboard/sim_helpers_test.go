package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/bench/sim"
	"switchboard/canonical"
	"switchboard/gateway/dispatch"
	"switchboard/internal/testutil"
)

// simProc is a vendor simulator, `switchboard mock`, running as its own process.
type simProc struct {
	*proc
	dialect string
	addr    string
	base    string // http://addr
}

// startSim runs `switchboard mock -dialect D -listen ADDR flags...` and waits for /_sim/stats.
func startSim(t *testing.T, dialect string, flags ...string) *simProc {
	t.Helper()
	addr := freeAddr(t)
	p := startProc(t, "", append([]string{"mock", "-dialect", dialect, "-listen", addr}, flags...)...)
	s := &simProc{proc: p, dialect: dialect, addr: addr, base: "http://" + addr}
	if !testutil.Until(15*time.Second, func() bool {
		if p.exited() {
			t.Fatalf("%s simulator exited before it answered:\n%s", dialect, p.output())
		}
		code, _ := get(s.base+"/_sim/stats", nil)
		return code == 200
	}) {
		t.Fatalf("%s simulator did not answer within 15s:\n%s", dialect, p.output())
	}
	return s
}

type simStats struct{ Accepted, Errors, Injected int64 }

func (s *simProc) stats(t *testing.T) simStats {
	t.Helper()
	code, body := get(s.base+"/_sim/stats", nil)
	var st simStats
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("%s /_sim/stats: %d %s", s.dialect, code, body)
	}
	return st
}

// requests is every request the simulator kept, oldest first.
func (s *simProc) requests(t *testing.T) []sim.Received {
	t.Helper()
	code, body := get(s.base+"/_sim/requests", nil)
	var rs []sim.Received
	if code != 200 || json.Unmarshal([]byte(body), &rs) != nil {
		t.Fatalf("%s /_sim/requests: %d %.300s", s.dialect, code, body)
	}
	return rs
}

// delivered maps each destination the simulator accepted a message for to how many it took.
func (s *simProc) delivered(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range s.requests(t) {
		if r.Status/100 != 2 {
			continue
		}
		for _, m := range r.Message {
			out[m.To]++
		}
	}
	return out
}

func (s *simProc) setFaults(t *testing.T, faults string) {
	t.Helper()
	if code, body := do("POST", s.base+"/_sim/faults", nil, faults); code != 200 {
		t.Fatalf("%s /_sim/faults %s: %d %s", s.dialect, faults, code, body)
	}
}

// waitAccepted waits until the simulator has accepted at least n requests.
func (s *simProc) waitAccepted(t *testing.T, n int64, limit time.Duration) {
	t.Helper()
	var st simStats
	if !testutil.Until(limit, func() bool { st = s.stats(t); return st.Accepted >= n }) {
		t.Fatalf("%s simulator accepted %d of %d requests within %v", s.dialect, st.Accepted, n, limit)
	}
}

// waitTotal waits until the simulators together accepted n requests.
func waitTotal(t *testing.T, n int64, limit time.Duration, sims ...*simProc) {
	t.Helper()
	var sum int64
	if !testutil.Until(limit, func() bool {
		sum = 0
		for _, s := range sims {
			sum += s.stats(t).Accepted
		}
		return sum >= n
	}) {
		t.Fatalf("the simulators accepted %d of %d requests within %v", sum, n, limit)
	}
}

// adminUpstreams is /admin/v1/upstreams by name.
func adminUpstreams(t *testing.T, addr string) map[string]dispatch.UpstreamStatus {
	t.Helper()
	code, body := get("http://"+addr+"/admin/v1/upstreams", adminAuth)
	var v struct{ Upstreams []dispatch.UpstreamStatus }
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("/admin/v1/upstreams: %d %s", code, body)
	}
	out := map[string]dispatch.UpstreamStatus{}
	for _, u := range v.Upstreams {
		out[u.Name] = u
	}
	return out
}

// messageState is what the native status API says of one message.
type messageState struct {
	Status    canonical.Status   `json:"status"`
	Upstream  string             `json:"upstream"`
	Attempts  int                `json:"attempts"`
	LastError string             `json:"last_error"`
	History   []canonical.Change `json:"history"`
}

func (s messageState) final() bool {
	switch s.Status {
	case canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead, canonical.StatusFailed,
		canonical.StatusDead, canonical.StatusExpired, canonical.StatusRejected:
		return true
	}
	return false
}

// waitFinal waits until each message has a final status and returns them by id.
func waitFinal(t *testing.T, addr string, ids []string, limit time.Duration) map[string]messageState {
	t.Helper()
	out := make(map[string]messageState, len(ids))
	deadline := time.Now().Add(limit)
	for _, id := range ids {
		var code int
		var body string
		if !testutil.Until(time.Until(deadline), func() bool {
			code, body = get("http://"+addr+"/gateway/v1/messages/"+id, nativeAuth)
			var st messageState
			if code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.final() {
				out[id] = st
				return true
			}
			return false
		}) {
			t.Fatalf("message %s has no final status within %v: %d %s", id, limit, code, body)
		}
	}
	return out
}

// sendAll sends one native message per recipient from a bounded number of workers and
// returns the message ids in recipient order.
func sendAll(t *testing.T, addr string, recipients []string, workers int, text string) []string {
	t.Helper()
	ids := make([]string, len(recipients))
	errs := make(chan string, workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				code, body := sendNative(addr, fmt.Sprintf(`{"to":"+%s","text":%q}`, recipients[i], text))
				var a struct{ ID string }
				if code != 202 || json.Unmarshal([]byte(body), &a) != nil || a.ID == "" {
					select {
					case errs <- fmt.Sprintf("send to %s: %d %s", recipients[i], code, body):
					default:
					}
					continue
				}
				ids[i] = a.ID
			}
		}()
	}
	for i := range recipients {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	return ids
}

// fillConfig replaces {{KEY}} placeholders in a config template.
func fillConfig(tmpl string, kv ...string) string {
	pairs := make([]string, 0, len(kv))
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, "{{"+kv[i]+"}}", kv[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}
