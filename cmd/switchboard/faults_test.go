package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/internal/testutil"
)

var adminAuth = map[string]string{"Authorization": "Bearer admin-secret-token"}

func sendMany(t *testing.T, addr string, n int, tag string) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		code, body := sendNative(addr, fmt.Sprintf(`{"to":"+97250%07d","text":"%s %d"}`, i, tag, i))
		if code != 202 {
			t.Fatalf("send %d: %d %s", i, code, body)
		}
		ids = append(ids, messageID(t, body))
	}
	return ids
}

// TestFailoverAndRecovery: the first upstream answers 503; its breaker opens, traffic fails
// over to the backup and nothing is lost; once it recovers it takes traffic again.
func TestFailoverAndRecovery(t *testing.T) {
	primary, backup := startSink(t), startSink(t)
	primary.fail.Store(503)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: primary, backup: backup, upstreams: "sink, backup"})
	startProc(t, addr, "serve", "-config", cfg)

	ids := sendMany(t, addr, 200, "failover")
	missing := 0
	if !testutil.Until(30*time.Second, func() bool {
		missing = 0
		for _, id := range ids {
			if primary.count(id)+backup.count(id) == 0 {
				missing++
			}
		}
		return missing == 0
	}) {
		t.Fatalf("%d messages never delivered during failover", missing)
	}
	if backup.total.Load() == 0 {
		t.Fatal("nothing failed over to the backup")
	}
	code, body := get("http://"+addr+"/admin/v1/upstreams", adminAuth)
	if code != 200 || !strings.Contains(body, `"sink"`) {
		t.Fatalf("upstreams: %d %s", code, body)
	}
	t.Logf("during the outage: primary %d, backup %d; upstreams: %s", primary.total.Load(), backup.total.Load(), body)

	primary.fail.Store(0)
	before := primary.total.Load()
	// A batch at a time until the primary's breaker lets one through again (at most 100).
	var last time.Time
	testutil.WaitFor(t, 20*time.Second, "the recovered primary to take traffic again", func() bool {
		if primary.total.Load() > before {
			return true
		}
		if time.Since(last) >= recoverBatchEvery {
			sendMany(t, addr, 20, "recovered")
			last = time.Now()
		}
		return false
	})
}

// recoverBatchEvery paces the batches sent while waiting for a recovered upstream: one per
// half of the breaker's open_for in gatewayConfig.
const recoverBatchEvery = 200 * time.Millisecond

// TestAllDownWaitsThenDrains: with every upstream refusing, messages wait in the queue and
// all arrive once one comes back.
func TestAllDownWaitsThenDrains(t *testing.T) {
	primary, backup := startSink(t), startSink(t)
	primary.fail.Store(500)
	backup.fail.Store(502)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: primary, backup: backup, upstreams: "sink, backup", attempts: 1000})
	startProc(t, addr, "serve", "-config", cfg)
	ids := sendMany(t, addr, 100, "outage")
	// Both upstreams refused and their breakers opened: every message has been tried.
	testutil.WaitFor(t, 15*time.Second, "both breakers to open", func() bool {
		ups := adminUpstreams(t, addr)
		return ups["sink"].Open > 0 && ups["backup"].Open > 0
	})
	code, body := get("http://"+addr+"/admin/v1/queue", adminAuth)
	var st struct{ Depth, Dead int64 }
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Depth != 100 || st.Dead != 0 {
		t.Fatalf("queue during the outage: %d %s; want depth 100, none dead", code, body)
	}
	backup.fail.Store(0)
	dups := backup.waitAll(t, ids, 30*time.Second)
	t.Logf("all %d drained to the backup after it returned (%d duplicates)", len(ids), dups)
}

// TestDeadLetterAndReplay: a message whose attempts run out is dead, listed, and replayable.
func TestDeadLetterAndReplay(t *testing.T) {
	sk := startSink(t)
	sk.fail.Store(500)
	cfg, addr := gatewayConfig(t, gatewayOpts{sink: sk, attempts: 2})
	startProc(t, addr, "serve", "-config", cfg)
	id := sendMany(t, addr, 1, "doomed")[0]
	var body string
	if !testutil.Until(20*time.Second, func() bool {
		var code int
		code, body = get("http://"+addr+"/admin/v1/dead", adminAuth)
		return code == 200 && strings.Contains(body, id)
	}) {
		t.Fatalf("message never dead-lettered: %s", body)
	}
	_, st := get("http://"+addr+"/gateway/v1/messages/"+id, nativeAuth)
	if !strings.Contains(st, `"status":"dead"`) {
		t.Fatalf("status of a dead message: %s", st)
	}
	sk.fail.Store(0)
	code, rb := do("POST", "http://"+addr+"/admin/v1/dead/"+id+"/replay", adminAuth, "")
	if code != 200 {
		t.Fatalf("replay: %d %s", code, rb)
	}
	sk.waitAll(t, []string{id}, 10*time.Second)
	_, body = get("http://"+addr+"/admin/v1/dead", adminAuth)
	if strings.Contains(body, id) {
		t.Errorf("replayed message still listed as dead: %s", body)
	}
}
