package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReloadMovesCallbacks: a reload that points a tenant's callbacks at another receiver
// (and changes the callbacks section) applies live: the callbacks of the messages sent
// after it go to the new receiver and none to the old, and the answer names nothing as
// needing a restart.
func TestReloadMovesCallbacks(t *testing.T) {
	a, b := newReceiver(t), newReceiver(t)
	a.up()
	b.up()
	_, cfgPath, addr := receiptsGateway(t, a, "4")
	const n = 5 // messages each way; each has two callbacks, sent and delivered
	before := sendTagged(t, addr, n, 1)
	a.waitUnique(2*n, 20*time.Second, addr) // every callback of the first messages is posted

	orig := string(must(os.ReadFile(cfgPath)))
	moved := strings.ReplaceAll(orig, a.url(), b.url())
	moved = strings.Replace(moved, "callbacks: { timeout: 2s,", "callbacks: { timeout: 3s,", 1)
	if moved == orig || !strings.Contains(moved, "timeout: 3s") {
		t.Fatal("the config was not rewritten")
	}
	if err := os.WriteFile(cfgPath, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	code, ans := postReload(t, addr)
	if code != 200 || !ans.Reloaded || len(ans.NotLive) != 0 {
		t.Fatalf("reload: %d %+v, want reloaded with nothing not live", code, ans)
	}

	after := sendTagged(t, addr, n, 2)
	b.waitUnique(2*n, 20*time.Second)
	for id := range byMessage(t, b.all()) {
		if !after[id] {
			t.Errorf("the new receiver got a callback for %s, not sent after the reload", id)
		}
	}
	for id := range byMessage(t, a.all()) {
		if !before[id] {
			t.Errorf("the old receiver got a callback for %s, sent after the reload", id)
		}
	}
}

// sendTagged sends n native messages through meta to recipients of their own (batch keeps
// them apart from other batches) and returns their ids.
func sendTagged(t *testing.T, addr string, n, batch int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for i := range n {
		code, body := sendNative(addr, fmt.Sprintf(`{"to":"+55119%02d%06d","text":"hi"}`, batch, i))
		ids[idOf(t, "native", code, body)] = true
	}
	return ids
}
