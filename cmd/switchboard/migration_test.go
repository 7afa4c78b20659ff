package main

import (
	"context"
	"fmt"
	"html"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"switchboard/internal/testutil"
)

// The migration rehearsed with two simulated vendors: wavy, slower and failing 5% of its
// requests with a 503, and multiwhats, faster and never failing; each posts its receipts
// back, wavy later than multiwhats. On every figure multiwhats is at least as good.
const migrationConfig = `listen: "{{ADDR}}"
data_dir: "{{DIR}}"
admin_token: "admin-secret-token"
log_level: info
retry: { max_attempts: 10, initial_backoff: 100ms, max_backoff: 1s }
# Wavy gathers messages into bulk requests, so one injected 503 fails several in a row: a
# breaker that tripped on them would send wavy's share to multiwhats for 30s.
breaker: { consecutive_failures: 1000, failure_ratio: 0.9 }
tenants:
  - id: shop
    native: { token: "native-demo-token" }
upstreams:
  - name: wavy
    dialect: wavy
    url: "http://{{A}}"
    credentials: { username: "acme", token: "wavy-demo-token", receipt_token: "wavy-receipts" }
  - name: multiwhats
    dialect: multiwhats
    url: "http://{{B}}"
    credentials: { apikey: "mw-demo-key", from: "5511940000000", receipt_token: "mw-receipts" }
  # Its sender line is no phone number: MultiWhats refuses every message with a 422.
  - name: refuser
    dialect: multiwhats
    receipts: open
    url: "http://{{B}}"
    credentials: { apikey: "mw-demo-key", from: "12" }
  - name: down
    dialect: http
    receipts: open
    url: "http://{{DOWN}}/messages"
routes:
  - name: refused
    match: { to_prefixes: ["4400"] }
    upstreams: [refuser]
  - name: doomed
    match: { to_prefixes: ["4411"] }
    upstreams: [down]
{{ROUTES}}
`

const (
	mirrorRoutes = `  - name: everything
    match: {}
    upstreams: [wavy]
    mirror: multiwhats`
	splitRoutes = `  - name: canary
    match: {}
    split:
      - { upstream: wavy, weight: 50 }
      - { upstream: multiwhats, weight: 50 }`
)

type migration struct {
	addr string
	gw   *proc
	a, b *simProc
}

// startMigration runs the two simulators and a gateway with the given routes; finalB is
// what multiwhats' receipts end with (delivered, failed).
func startMigration(t *testing.T, routes, finalB string) *migration {
	t.Helper()
	addr := freeAddr(t)
	a := startSim(t, "wavy", "-latency", "80ms", "-fail-rate", "0.05",
		"-receipts", "http://"+addr+"/receipts/wavy", "-receipt-token", "wavy-receipts", "-receipts-delay", "100ms")
	b := startSim(t, "multiwhats", "-latency", "20ms",
		"-receipts", "http://"+addr+"/receipts/multiwhats", "-receipt-token", "mw-receipts", "-receipts-delay", "30ms", "-receipts-final", finalB)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(migrationConfig, "ADDR", addr, "DIR", dir+"/data", "A", a.addr, "B", b.addr,
		"DOWN", freeAddr(t), "ROUTES", routes))
	gw := startProc(t, addr, "serve", "-config", cfg)
	return &migration{addr: addr, gw: gw, a: a, b: b}
}

// send sends n messages to distinct recipients starting with prefix.
func (m *migration) send(t *testing.T, prefix string, n int) []string {
	t.Helper()
	to := make([]string, n)
	for i := range to {
		to[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	return sendAll(t, m.addr, to, 16, "hello")
}

// page fetches the migration page with the admin token.
func (m *migration) page(t *testing.T, query string) string {
	t.Helper()
	code, body := get("http://"+m.addr+"/admin/migration"+query, adminAuth)
	if code != 200 {
		t.Fatalf("migration page: %d %s", code, body)
	}
	return body
}

var verdictRe = regexp.MustCompile(`<p id="verdict">([^<]*)</p>`)

func verdictOf(page string) string {
	if v := verdictRe.FindStringSubmatch(page); v != nil {
		return html.UnescapeString(v[1])
	}
	return ""
}

// waitVerdict polls the page until its verdict starts with want and both times it compares
// are judged better for the faster vendor (the slower vendor's receipts are still coming in
// for a while after the verdict first reads well, and the first times judged may be too
// spread to tell apart).
func (m *migration) waitVerdict(t *testing.T, want string, limit time.Duration) string {
	t.Helper()
	var page string
	decided := func() bool {
		page = m.page(t, "?a=wavy&b=multiwhats")
		if !strings.HasPrefix(verdictOf(page), want) {
			return false
		}
		// Every step's callers check that the simulators' faster vendor is judged better on
		// both times: the judgement firms up as receipts arrive (a loaded machine spreads the
		// first times out), so wait for it rather than take the first page with enough times.
		for _, f := range []string{"time to acceptance", "time to delivery"} {
			if judgementOf(page, f) != "better" {
				return false
			}
		}
		return true
	}
	testutil.WaitForEvery(t, 250*time.Millisecond, limit, "the verdict "+strconv.Quote(want)+" with the times judged better", decided)
	return page
}

// judgementOf returns the page's judgement (better, worse, same, toofew, nodata) of a
// figure, or "" when the page has no such figure.
func judgementOf(page, figure string) string {
	re := regexp.MustCompile(`data-figure="` + regexp.QuoteMeta(html.EscapeString(figure)) + `[^"]*" data-judgement="([a-z]+)"`)
	if m := re.FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

// judgement is judgementOf for a figure the page must have.
func judgement(t *testing.T, page, figure string) string {
	t.Helper()
	j := judgementOf(page, figure)
	if j == "" {
		t.Fatalf("no figure %q on the page", figure)
	}
	return j
}

// checkBetter asserts what the simulators make true: multiwhats answers faster and its
// receipts come sooner; nothing is worse. Its retry rate is better, or too close to call
// when wavy's few failures fell on few bulk requests.
func checkBetter(t *testing.T, page string) {
	t.Helper()
	for _, f := range []string{"time to acceptance", "time to delivery"} {
		if j := judgement(t, page, f); j != "better" {
			t.Errorf("%s: multiwhats judged %q, want better", f, j)
		}
	}
	if j := judgement(t, page, "retry rate"); j != "better" && j != "same" {
		t.Errorf("retry rate: multiwhats judged %q, want better or same", j)
	}
	if strings.Contains(page, `data-judgement="worse"`) {
		t.Errorf("multiwhats judged worse on some figure:\n%s", page)
	}
}

// TestMigrationMirrorStep: while mirroring, the mirror's receipts are matched to its copies
// and counted for it, and never reach the message, whose status stays its primary's.
func TestMigrationMirrorStep(t *testing.T) {
	m := startMigration(t, mirrorRoutes, "read")
	ids := m.send(t, "5511987", 300)
	page := m.waitVerdict(t, "Yes: multiwhats is at least as good as wavy", time.Minute)
	checkBetter(t, page)
	if !strings.Contains(page, `data-upstream="multiwhats" data-arm="mirror"`) {
		t.Errorf("no mirror arm for multiwhats on the page")
	}
	// multiwhats' receipts end with read, wavy's with delivered: a message showing read got
	// a mirror copy's receipt.
	for _, id := range ids[:20] {
		if st := waitStatus(t, m.addr, id, 30*time.Second, "delivered", "read"); st != "delivered" {
			t.Errorf("message %s is %q: a mirror copy's receipt reached it", id, st)
		}
	}
	code, metrics := get("http://"+m.addr+"/metrics", nil)
	if code != 200 || !regexp.MustCompile(`switchboard_upstream_receipts_total\{route="everything",upstream="multiwhats",arm="mirror",status="read"\} [1-9]`).MatchString(metrics) {
		t.Errorf("no read receipts counted for the mirror:\n%s", grepLines(metrics, "upstream_receipts_total"))
	}
}

// TestMigrationSplitStep: with a 50/50 split, each upstream takes about half of the route and
// the page says multiwhats is at least as good.
func TestMigrationSplitStep(t *testing.T) {
	m := startMigration(t, splitRoutes, "delivered")
	// The shares are of every message the vendors accepted: wait until each was sent (a
	// receipt may move it on to delivered meanwhile).
	for _, id := range m.send(t, "5511987", 400) {
		waitStatus(t, m.addr, id, time.Minute, "sent", "delivered")
	}
	page := m.waitVerdict(t, "Yes: multiwhats is at least as good as wavy", time.Minute)
	checkBetter(t, page)
	share := regexp.MustCompile(`<tr><td>(wavy|multiwhats)</td><td>split</td><td>\d+</td><td>([\d.]+)%</td></tr>`)
	got := share.FindAllStringSubmatch(page, -1)
	if len(got) != 2 {
		t.Fatalf("want the split share of both upstreams, got %v", got)
	}
	for _, g := range got {
		var p float64
		fmt.Sscan(g[2], &p)
		if p < 35 || p > 65 {
			t.Errorf("%s took %.1f%% of a 50/50 split", g[1], p)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// loginURL asks the gateway for a one-time login URL for a browser.
func loginURL(t *testing.T, addr string) string {
	t.Helper()
	code, body := do("POST", "http://"+addr+"/admin/v1/login-ticket", adminAuth, "")
	var v struct{ URL string }
	if code != 200 || json.Unmarshal([]byte(body), &v) != nil || v.URL == "" {
		t.Fatalf("login ticket: %d %s", code, body)
	}
	return "http://" + addr + v.URL
}

// waitStatus polls a message until its status is one of want, and returns it.
func waitStatus(t *testing.T, addr, id string, limit time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		code, body := get("http://"+addr+"/gateway/v1/messages/"+id, nativeAuth)
		var st messageState
		if code == 200 && json.Unmarshal([]byte(body), &st) == nil && slices.Contains(want, string(st.Status)) {
			return string(st.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s not %v within %v: %d %s", id, want, limit, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMigrationPageInBrowser renders the page in headless Chromium, logged in by a one-time
// ticket (a cookie session), and checks what it shows: the verdict, the judgements and a
// line per upstream in the plots.
func TestMigrationPageInBrowser(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("no Chromium: apt-get install chromium (Debian) to run the browser test")
	}
	m := startMigration(t, mirrorRoutes, "delivered")
	m.send(t, "5511987", 300)
	m.waitVerdict(t, "Yes: multiwhats is at least as good as wavy", time.Minute)

	// Without a session the page is the login form.
	if dom := dumpDOM(t, browser, "http://"+m.addr+"/admin/migration"); !strings.Contains(dom, `name="token"`) || strings.Contains(dom, `id="verdict"`) {
		t.Fatalf("without a session the browser should get the login form:\n%s", dom)
	}
	dom := dumpDOM(t, browser, loginURL(t, m.addr))
	if v := verdictOf(dom); !strings.HasPrefix(v, "Yes: multiwhats is at least as good as wavy") {
		t.Fatalf("rendered verdict %q:\n%s", v, dom)
	}
	checkBetter(t, dom)
	for _, plot := range []string{"delivery-rate", "delivery-p90", "acceptance-p90"} {
		re := regexp.MustCompile(`(?s)<svg id="` + plot + `".*?</svg>`)
		svg := re.FindString(dom)
		for _, up := range []string{"wavy", "multiwhats"} {
			line := regexp.MustCompile(`<g class="line" data-upstream="` + up + `"><polyline [^>]*points="([^"]+)"`)
			if !line.MatchString(svg) {
				t.Errorf("plot %s has no line for %s:\n%s", plot, up, svg)
			}
		}
	}
}

// dumpDOM loads url in headless Chromium and returns the DOM it rendered.
func dumpDOM(t *testing.T, browser, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", url).Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	return string(out)
}

// TestMirrorReceiptsNeverReachTheMessage: the mirror, Wavy, names in its receipts the id it
// was sent, as Wavy does (correlationId). The primary posts only "sent". The mirror's
// delivery receipts are counted for the mirror, and every message stays "sent". Two things
// keep it so: the copy's id of its own, and receipts matched to the mirror's sends; this
// fails when both are broken. The own id alone is needed by TestMigrationMirrorStep, whose
// primary (Wavy) names our id in its receipts.
func TestMirrorReceiptsNeverReachTheMessage(t *testing.T) {
	addr := freeAddr(t)
	primary := startSim(t, "multiwhats", "-receipts", "http://"+addr+"/receipts/multiwhats", "-receipt-token", "mw-receipts", "-receipts-final", "none")
	mirror := startSim(t, "wavy", "-receipts", "http://"+addr+"/receipts/wavy", "-receipt-token", "wavy-receipts")
	dir := t.TempDir()
	cfg := writeConfig(t, dir, fillConfig(migrationConfig, "ADDR", addr, "DIR", dir+"/data", "A", mirror.addr, "B", primary.addr,
		"DOWN", freeAddr(t), "ROUTES", `  - name: everything
    match: {}
    upstreams: [multiwhats]
    mirror: wavy`))
	startProc(t, addr, "serve", "-config", cfg)
	m := &migration{addr: addr}
	ids := m.send(t, "5511987", 50)
	delivered := regexp.MustCompile(`switchboard_upstream_receipts_total\{route="everything",upstream="wavy",arm="mirror",status="delivered"\} 50\b`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get("http://"+addr+"/metrics", nil)
		if delivered.MatchString(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mirror's 50 delivery receipts were not counted within 30s:\n%s", grepLines(body, "receipts_total"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range ids {
		if st := waitStatus(t, addr, id, 10*time.Second, "sent", "delivered", "failed"); st != "sent" {
			t.Errorf("message %s is %q: the mirror's receipt reached it", id, st)
		}
	}
}
