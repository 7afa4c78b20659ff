package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
	"switchboard/gateway/dispatch"
	"switchboard/internal/testutil"
)

const splitConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - { name: wavy-old, dialect: wavy, receipts: open, url: "http://{{OLD}}", credentials: { username: acme, token: wavy-demo-token } }
  - { name: multiwhats-new, dialect: multiwhats, receipts: open, url: "http://{{NEW}}", credentials: { apikey: mw-demo-key, from: "905300000000" } }
routes:
  - name: canary
    match: {}
    split: [{ upstream: wavy-old, weight: {{OLDW}} }, { upstream: multiwhats-new, weight: {{NEWW}} }]
`

// TestSplitIsWeightedAndSticky: a 90/10 split over 10,000 recipients lands within two points
// of 90/10; a recipient's next message goes where its first went; and raising the new
// vendor's weight moves more recipients to it but none back.
func TestSplitIsWeightedAndSticky(t *testing.T) {
	old, neu := startSim(t, "wavy"), startSim(t, "multiwhats")
	dir := t.TempDir()
	addr := freeAddr(t)
	config := func(oldW, newW int) string {
		return writeConfig(t, dir, fillConfig(splitConfig, "ADDR", addr, "DATA", dir+"/data", "OLD", old.addr, "NEW", neu.addr,
			"OLDW", fmt.Sprint(oldW), "NEWW", fmt.Sprint(newW)))
	}
	gw := startProc(t, addr, "serve", "-config", config(90, 10))

	const n = 10000
	recipients := make([]string, n)
	for i := range recipients {
		recipients[i] = fmt.Sprintf("55119%08d", i)
	}
	start := time.Now()
	sendAll(t, addr, recipients, 16, "canary")
	waitTotal(t, n, 120*time.Second, old, neu)
	t.Logf("%d messages accepted and delivered in %v", n, time.Since(start).Round(time.Millisecond))
	onOld, onNew := old.delivered(t), neu.delivered(t)
	var oldSide, newSide []string
	for _, r := range recipients {
		switch {
		case onOld[r] == 1 && onNew[r] == 0:
			oldSide = append(oldSide, r)
		case onNew[r] == 1 && onOld[r] == 0:
			newSide = append(newSide, r)
		default:
			t.Fatalf("%s reached the old vendor %d times and the new %d times", r, onOld[r], onNew[r])
		}
	}
	share := float64(len(newSide)) / n
	t.Logf("split 90/10: %d to the old vendor, %d to the new (%.2f%%)", len(oldSide), len(newSide), 100*share)
	if share < 0.08 || share > 0.12 {
		t.Errorf("the new vendor took %.2f%% of recipients; want 10%% within two points", 100*share)
	}

	// The same recipients again: each must land where it landed first.
	again := append(append([]string(nil), oldSide[:100]...), newSide[:100]...)
	sendAll(t, addr, again, 16, "second message")
	waitTotal(t, n+int64(len(again)), 60*time.Second, old, neu)
	onOld, onNew = old.delivered(t), neu.delivered(t)
	for i, r := range again {
		first, other := onOld, onNew
		if i >= 100 {
			first, other = onNew, onOld
		}
		if first[r] != 2 || other[r] != 0 {
			t.Errorf("%s: old vendor %d, new vendor %d; want both messages on the vendor of the first", r, onOld[r], onNew[r])
		}
	}

	// 90/10 -> 50/50, as the README's migration walk-through ramps up: every recipient already on the new vendor
	// stays there, and about 40 of each 90 on the old one move over.
	if err := gw.stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	startProc(t, addr, "serve", "-config", config(50, 50))
	ramp := append(append([]string(nil), newSide[:500]...), oldSide[:500]...)
	before := int64(n + len(again))
	sendAll(t, addr, ramp, 16, "after the ramp")
	waitTotal(t, before+int64(len(ramp)), 60*time.Second, old, neu)
	afterNew := neu.delivered(t)
	moved := 0
	for i, r := range ramp {
		switch {
		case i < 500 && afterNew[r] != onNew[r]+1:
			t.Errorf("%s was on the new vendor and left it when its weight rose", r)
		case i >= 500 && afterNew[r] == onNew[r]+1:
			moved++
		}
	}
	t.Logf("after 90/10 -> 50/50: %d of 500 recipients of the old vendor moved to the new one", moved)
	if moved < 150 || moved > 300 { // expected 500*40/90 = 222
		t.Errorf("%d of 500 old-vendor recipients moved; want about 222", moved)
	}
}

const mirrorConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
tenants:
  - id: acme
    native: { token: "native-demo-token" }
# Few connections, so few senders: a mirror that held a sender for its 2 s would show.
upstreams:
  - { name: primary, dialect: wavy, receipts: open, url: "http://{{PRIMARY}}", max_conns: 8, credentials: { username: acme, token: wavy-demo-token } }
  - { name: slow-mirror, dialect: multiwhats, receipts: open, url: "http://{{SLOW}}", max_conns: 32, credentials: { apikey: mw-demo-key, from: "905300000000" } }
  - { name: down-mirror, dialect: whatsappcloud, url: "http://{{DOWN}}", timeout: 1s, max_conns: 8,
      credentials: { token: cloud-demo-token, phone_number_id: "106540352242922" } }
routes:
  - { name: control, match: { to_prefixes: ["5511901"] }, upstreams: [primary] }
  - { name: to-down, match: { to_prefixes: ["5511902"] }, upstreams: [primary], mirror: down-mirror }
  - { name: to-slow, match: { to_prefixes: ["5511903"] }, upstreams: [primary], mirror: slow-mirror }
`

// TestMirrorNeverSlowsPrimary: a mirror whose vendor takes 2 s to answer, and one with nothing
// listening, leave the primary's deliveries as fast as with no mirror, every message sent,
// and the admin API counts the shadow copies.
func TestMirrorNeverSlowsPrimary(t *testing.T) {
	primary, slow := startSim(t, "wavy"), startSim(t, "multiwhats", "-latency", "2s")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fillConfig(mirrorConfig, "ADDR", addr, "DATA", dir+"/data", "PRIMARY", primary.addr, "SLOW", slow.addr, "DOWN", freeAddr(t))
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))

	const n = 150
	var all []string
	phase := func(prefix string) time.Duration {
		recipients := make([]string, n)
		for i := range recipients {
			recipients[i] = fmt.Sprintf("%s%06d", prefix, i)
		}
		start := time.Now()
		all = append(all, sendAll(t, addr, recipients, 8, "mirrored")...)
		primary.waitAccepted(t, int64(len(all)), 60*time.Second)
		return time.Since(start)
	}
	control := phase("5511901")
	down := phase("5511902")
	slowed := phase("5511903")
	t.Logf("%d messages to the primary: %v without a mirror, %v mirrored to nothing, %v mirrored to a 2s vendor",
		n, control.Round(time.Millisecond), down.Round(time.Millisecond), slowed.Round(time.Millisecond))
	// A mirror that held up the primary would add its 2 s (or the dead one's connection
	// failures) to every delivery; the slack absorbs scheduling noise on a busy machine.
	for what, d := range map[string]time.Duration{"down": down, "slow": slowed} {
		if limit := 2*control + 500*time.Millisecond; d > limit {
			t.Errorf("with the %s mirror the primary took %v, over %v (control %v)", what, d, limit, control)
		}
	}
	for id, st := range waitFinal(t, addr, all, 30*time.Second) {
		if st.Status != canonical.StatusSent || st.Upstream != "primary" {
			t.Errorf("message %s: %s via %q (%s); want sent via primary", id, st.Status, st.Upstream, st.LastError)
		}
	}

	var ups map[string]dispatch.UpstreamStatus
	settled := testutil.Until(60*time.Second, func() bool { // 32 mirror senders, 2 s each: about 10 s
		ups = adminUpstreams(t, addr)
		s, d := ups["slow-mirror"], ups["down-mirror"]
		return s.MirrorSent == n && d.MirrorFailed+d.MirrorDropped == n
	})
	s, d := ups["slow-mirror"], ups["down-mirror"]
	if !settled {
		t.Fatalf("mirror counts never settled: slow %+v, down %+v", s, d)
	}
	if p := ups["primary"]; p.Sent != 3*n || s.Sent+d.Sent != 0 || d.MirrorSent != 0 || s.MirrorFailed+s.MirrorDropped != 0 {
		t.Errorf("upstreams: %+v", ups)
	}
	t.Logf("slow mirror: %d sent; dead mirror: %d failed, %d dropped (breaker open)", s.MirrorSent, d.MirrorFailed, d.MirrorDropped)
	if got := slow.stats(t).Accepted; got != n {
		t.Errorf("the slow mirror's vendor accepted %d copies, want %d", got, n)
	}
}

const faultsConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
retry: { max_attempts: 100, initial_backoff: 10ms, max_backoff: 5s }
breaker: { window: 2s, consecutive_failures: 3, failure_ratio: 0.5, min_requests: 20, open_for: 300ms, half_open_probes: 2 }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - { name: flaky, dialect: multiwhats, receipts: open, url: "http://{{FLAKY}}", credentials: { apikey: mw-demo-key, from: "905300000000" } }
  - { name: hanging, dialect: messageflow, receipts: open, url: "http://{{HANG}}", timeout: 300ms, breaker: { open_for: 30s },
      credentials: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" } }
  - { name: limited, dialect: whatsappcloud, url: "http://{{LIMITED}}", credentials: { token: cloud-demo-token, phone_number_id: "106540352242922" },
      breaker: { consecutive_failures: 1000, min_requests: 1000 } }
  - { name: healthy, dialect: wavy, receipts: open, url: "http://{{HEALTHY}}", credentials: { username: acme, token: wavy-demo-token } }
routes:
  - { name: flaky-first, match: { to_prefixes: ["5511904"] }, upstreams: [flaky, healthy] }
  - { name: hanging-first, match: { to_prefixes: ["5511905"] }, upstreams: [hanging, healthy] }
  - { name: limited-only, match: { to_prefixes: ["5511906"] }, upstreams: [limited] }
`

// TestVendorFaults runs the gateway against misbehaving simulators: one failing half its
// requests with 503, one that never answers, one answering 429 with Retry-After.
func TestVendorFaults(t *testing.T) {
	flaky := startSim(t, "multiwhats", "-fail-rate", "0.5", "-fail-mode", "5xx")
	hanging := startSim(t, "messageflow", "-fail-rate", "1", "-fail-mode", "hang")
	limited := startSim(t, "whatsappcloud", "-fail-rate", "1", "-fail-mode", "429")
	healthy := startSim(t, "wavy")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fillConfig(faultsConfig, "ADDR", addr, "DATA", dir+"/data", "FLAKY", flaky.addr, "HANG", hanging.addr,
		"LIMITED", limited.addr, "HEALTHY", healthy.addr)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))

	recipients := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%06d", prefix, i)
		}
		return out
	}

	t.Run("half the requests fail with 503: nothing lost", func(t *testing.T) {
		to := recipients("5511904", 300)
		ids := sendAll(t, addr, to, 8, "flaky")
		states := waitFinal(t, addr, ids, 60*time.Second)
		onFlaky, onHealthy := flaky.delivered(t), healthy.delivered(t)
		for i, id := range ids {
			if st := states[id]; st.Status != canonical.StatusSent {
				t.Errorf("message %s: %s (%s)", id, st.Status, st.LastError)
			}
			if onFlaky[to[i]]+onHealthy[to[i]] == 0 {
				t.Errorf("message to %s was never accepted by either vendor", to[i])
			}
		}
		u := adminUpstreams(t, addr)["flaky"]
		t.Logf("flaky: %d sent, %d retried, %d turned away by its open breaker; healthy took %d; flaky injected %d failures",
			u.Sent, u.Retried, u.Open, len(onHealthy), flaky.stats(t).Injected)
		if u.Retried == 0 || u.Open == 0 || len(onHealthy) == 0 {
			t.Errorf("want retries, breaker trips and failover; upstream flaky: %+v", u)
		}
	})

	t.Run("a vendor that never answers: timeouts fail over", func(t *testing.T) {
		// The first wave times out (300 ms each) and trips the breaker; the second finds it
		// open and goes straight to the next upstream.
		to := recipients("5511905", 100)
		var ids []string
		for _, wave := range [][]string{to[:50], to[50:]} {
			ids = append(ids, sendAll(t, addr, wave, 8, "hang")...)
			for id, st := range waitFinal(t, addr, ids, 60*time.Second) {
				if st.Status != canonical.StatusSent || st.Upstream != "healthy" {
					t.Fatalf("message %s: %s via %q (%s); want sent via healthy", id, st.Status, st.Upstream, st.LastError)
				}
			}
		}
		u := adminUpstreams(t, addr)["hanging"]
		t.Logf("hanging: %d timed out, %d turned away by its open breaker", u.Retried, u.Open)
		if u.Retried == 0 || u.Open == 0 || u.Breaker != "open" || u.Sent != 0 || hanging.stats(t).Injected != int64(u.Retried) {
			t.Errorf("want timeouts and a tripped breaker; upstream hanging: %+v, sim %+v", u, hanging.stats(t))
		}
	})

	t.Run("429 with Retry-After is honoured", func(t *testing.T) {
		ids := sendAll(t, addr, recipients("5511906", 1), 1, "limited")
		if !testutil.Until(15*time.Second, func() bool { return limited.stats(t).Injected >= 4 }) {
			t.Fatalf("only %d attempts within 15s", limited.stats(t).Injected)
		}
		limited.setFaults(t, `{"fail_rate":0}`)
		st := waitFinal(t, addr, ids, 30*time.Second)[ids[0]]
		// The history holds each 429 with its time. The simulator answers Retry-After: 1; the
		// retry backoff alone would start at 10 ms.
		var at []time.Time
		for _, ch := range st.History {
			if ch.Status == canonical.StatusScheduled && ch.Upstream == "limited" {
				at = append(at, ch.At)
			}
		}
		if st.Status != canonical.StatusSent || len(at) < 4 {
			t.Fatalf("after the 429s: %s with %d retries in its history %+v", st.Status, len(at), st.History)
		}
		var gaps []string
		for i := 1; i < len(at); i++ {
			gap := at[i].Sub(at[i-1])
			gaps = append(gaps, gap.Round(time.Millisecond).String())
			if gap < 950*time.Millisecond {
				t.Errorf("attempt %d came %v after the one before; Retry-After said 1s", i+1, gap)
			}
		}
		t.Logf("429 answers %s apart", strings.Join(gaps, ", "))
	})
}

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// migratingDoc returns the yaml blocks of the README's migration walk-through and sets every
// ${VAR} they name, as the operator exports the secrets.
func migratingDoc(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, doc, found := strings.Cut(string(readme), "\n## Migrating from one vendor to another\n")
	if !found {
		t.Fatal("README.md has no migration walk-through")
	}
	doc, _, _ = strings.Cut(doc, "\n## ")
	var blocks []string
	for _, m := range yamlBlock.FindAllStringSubmatch(doc, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) < 4 {
		t.Fatalf("the migration walk-through has %d yaml blocks; want a config for each step", len(blocks))
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(doc, -1) {
		t.Setenv(m[1], "secret-value-for-"+strings.ToLower(m[1]))
	}
	return blocks
}

var (
	listenLine  = regexp.MustCompile(`(?m)^listen: .*$`)
	dataDirLine = regexp.MustCompile(`(?m)^data_dir: .*$`)
)

// onLoopback points a doc config at addr and a data directory under dir.
func onLoopback(cfg, addr, dir string) string {
	return dataDirLine.ReplaceAllString(listenLine.ReplaceAllString(cfg, `listen: "`+addr+`"`), `data_dir: "`+dir+`/data"`)
}

// TestMigratingDocConfigs checks every config in the README's migration walk-through: `switchboard check`
// prints ok, and the gateway starts on it, so the walk-through cannot go stale.
func TestMigratingDocConfigs(t *testing.T) {
	for i, b := range migratingDoc(t) {
		dir := t.TempDir()
		path := filepath.Join(dir, fmt.Sprintf("step%d.yaml", i))
		if err := os.WriteFile(path, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(buildBinary(t), "check", "-config", path).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("yaml block %d: switchboard check: %v\n%s\n--- block\n%s", i+1, err, out, b)
			continue
		}
		if !listenLine.MatchString(b) || !dataDirLine.MatchString(b) {
			t.Errorf("yaml block %d has no top-level listen and data_dir: show the whole file", i+1)
			continue
		}
		addr := freeAddr(t)
		gw := startProc(t, addr, "serve", "-config", writeConfig(t, dir, onLoopback(b, addr, dir)))
		if err := gw.stop(20 * time.Second); err != nil {
			t.Errorf("yaml block %d: %v", i+1, err)
		}
	}
}

// TestMigratingDocSwitch runs the document's last step against simulators of both vendors,
// with the document's credentials: plain text goes to MultiWhats, and what MultiWhats cannot
// carry (a flash SMS, a Wavy bot flow) still goes through Wavy, as the document says.
func TestMigratingDocSwitch(t *testing.T) {
	blocks := migratingDoc(t)
	token, apikey := os.Getenv("WAVY_TOKEN"), os.Getenv("MULTIWHATS_APIKEY")
	wavy := startSim(t, "wavy", "-username", "shop-prod", "-token", token)
	mw := startSim(t, "multiwhats", "-apikey", apikey)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := strings.NewReplacer("https://api.multiwhats.app", mw.base, "https://api-messaging.wavy.global", wavy.base).
		Replace(onLoopback(blocks[len(blocks)-1], addr, dir))
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))

	auth := map[string]string{"username": "shop-prod", "authenticationtoken": token}
	for _, body := range []string{
		`{"destination":"5511900000001","messageText":"Seu pedido saiu para entrega."}`,
		`{"destination":"5511900000002","messageText":"Código 4821","flashSMS":true}`,
		`{"destination":"5511900000003","flowId":"pesquisa-nps","params":{"nome":"Ana"}}`,
		`{"destination":"5511900000004","messageText":"Responda 1 ou 2","flowId":"pesquisa-nps"}`,
	} {
		if code, answer := do("POST", "http://"+addr+"/v1/send-sms", auth, body); code != 200 {
			t.Fatalf("send-sms %s: %d %s", body, code, answer)
		}
	}
	waitTotal(t, 4, 20*time.Second, wavy, mw)
	onWavy, onMW := wavy.delivered(t), mw.delivered(t)
	for to, want := range map[string]string{"5511900000001": "multiwhats", "5511900000002": "wavy", "5511900000003": "wavy", "5511900000004": "wavy"} {
		got := "neither"
		switch {
		case onWavy[to] == 1 && onMW[to] == 0:
			got = "wavy"
		case onMW[to] == 1 && onWavy[to] == 0:
			got = "multiwhats"
		}
		if got != want {
			t.Errorf("%s: Wavy got %d, MultiWhats %d; want one, on %s", to, onWavy[to], onMW[to], want)
		}
	}
}
