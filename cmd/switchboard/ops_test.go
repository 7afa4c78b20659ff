package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
)

// TestCheckWarnings: `check` prints warnings with their lines and still exits 0; -strict
// exits 1 on them.
func TestCheckWarnings(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "warn.yaml")
	os.WriteFile(path, []byte(`tenants:
  - id: acme
    native: { token: "t" }
upstreams:
  - name: sink
    dialect: sandbox
routes:
  - name: default
    upstreams: [sink]
    mirror: sink
`), 0o600)
	out, err := exec.Command(bin, "check", "-config", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warning: "+path+":10: routes[0].mirror:") || !strings.HasSuffix(string(out), "ok\n") {
		t.Fatalf("check: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "check", "-strict", "-config", path).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || strings.Contains(string(out), "ok") {
		t.Fatalf("check -strict: exit %v, want 1\n%s", err, out)
	}
}

// reloadAnswer is POST /admin/v1/reload's answer.
type reloadAnswer struct {
	Reloaded   bool
	Problems   []string
	NotLive    []string `json:"not_live"`
	Generation int
	Upstreams  struct{ Kept, Added, Changed, Removed []string }
}

func postReload(t *testing.T, addr string) (int, reloadAnswer) {
	t.Helper()
	code, body := do("POST", "http://"+addr+"/admin/v1/reload", adminAuth, "")
	var a reloadAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("reload answer %d: %s", code, body)
	}
	return code, a
}

// TestAdminReloadAndPause: POST /admin/v1/reload answers what changed; a broken file is
// refused with 422 and every problem's line; a changed listen address is named as needing
// a restart and left as it was; an upstream paused through the admin API takes nothing,
// stays paused across a reload, and takes messages again once resumed.
func TestAdminReloadAndPause(t *testing.T) {
	a, b := startSink(t), startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: a, backup: b, upstreams: "sink, backup"})
	startProc(t, addr, "serve", "-config", cfgPath)
	orig := string(must(os.ReadFile(cfgPath)))

	code, body := do("POST", "http://"+addr+"/admin/v1/upstreams/sink/pause", adminAuth, "")
	if code != 200 {
		t.Fatalf("pause: %d %s", code, body)
	}
	if code, _ := do("POST", "http://"+addr+"/admin/v1/upstreams/ghost/pause", adminAuth, ""); code != 404 {
		t.Fatalf("pausing an unknown upstream: %d, want 404", code)
	}
	ids := sendAll(t, addr, recipients(20, 0), 4, "paused")
	b.waitAll(t, ids, 10*time.Second)
	if n := a.total.Load(); n != 0 {
		t.Fatalf("the paused upstream got %d messages", n)
	}

	// A new listen address, a changed upstream: the address is kept, the change applied.
	other := freeAddr(t)
	changed := strings.Replace(strings.Replace(orig, addr, other, 1), "max_conns: 32", "max_conns: 16", 1)
	os.WriteFile(cfgPath, []byte(changed), 0o600)
	code, ans := postReload(t, addr)
	if code != 200 || !ans.Reloaded || ans.Generation != 1 || fmt.Sprint(ans.NotLive) != "[listen]" ||
		fmt.Sprint(ans.Upstreams.Changed) != "[sink]" || fmt.Sprint(ans.Upstreams.Kept) != "[backup]" {
		t.Fatalf("reload: %d %+v", code, ans)
	}
	if !adminUpstreams(t, addr)["sink"].Paused {
		t.Fatal("the pause did not survive the reload")
	}
	ids = sendAll(t, addr, recipients(20, 100), 4, "still paused")
	b.waitAll(t, ids, 10*time.Second)
	if n := a.total.Load(); n != 0 {
		t.Fatalf("the paused upstream got %d messages after the reload", n)
	}

	// A broken file: 422, every problem with its line, nothing changed.
	broken := strings.Replace(changed, "timeout: 2s", "timeout: -2s", 1) + "  - name: extra\n    upstreams: [nowhere]\n"
	os.WriteFile(cfgPath, []byte(broken), 0o600)
	code, ans = postReload(t, addr)
	want := []string{
		fmt.Sprintf("switchboard.yaml:%d: upstreams[0].timeout", lineWith(broken, "timeout: -2s")),
		fmt.Sprintf("switchboard.yaml:%d: routes[1].upstreams[0]", lineWith(broken, "[nowhere]")),
	}
	if code != 422 || ans.Reloaded || len(ans.Problems) != 2 ||
		!strings.Contains(ans.Problems[0], want[0]) || !strings.Contains(ans.Problems[1], want[1]) {
		t.Fatalf("broken reload: %d %+v, want problems %q", code, ans, want)
	}

	if code, body := do("POST", "http://"+addr+"/admin/v1/upstreams/sink/resume", adminAuth, ""); code != 200 {
		t.Fatalf("resume: %d %s", code, body)
	}
	ids = sendAll(t, addr, recipients(20, 200), 4, "resumed")
	a.waitAll(t, ids, 10*time.Second)
}

// recipients are n distinct numbers from the given offset.
func recipients(n, from int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("97254%07d", from+i)
	}
	return out
}

// TestVersionEverywhere: the version `switchboard version` prints is in the start log line,
// in switchboard_build_info, and in the User-Agent of upstream requests.
func TestVersionEverywhere(t *testing.T) {
	out, err := exec.Command(buildBinary(t), "version").Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) < 2 {
		t.Fatalf("version: %v %q", err, out)
	}
	version := fields[1]
	agents := make(chan string, 1)
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		select {
		case agents <- string(ctx.UserAgent()):
		default:
		}
		ctx.SetBodyString(`{"id":"x"}`)
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: &sink{addr: ln.Addr().String()}})
	os.WriteFile(cfgPath, []byte(strings.Replace(string(must(os.ReadFile(cfgPath))), "log_level: warn", "log_level: info", 1)), 0o600)
	p := startProc(t, addr, "serve", "-config", cfgPath)
	if !strings.Contains(p.output(), `"msg":"starting","version":"`+version+`"`) {
		t.Errorf("the start log line does not carry version %s:\n%s", version, p.output())
	}
	_, metricsText := get("http://"+addr+"/metrics", nil)
	if !strings.Contains(metricsText, `switchboard_build_info{version="`+version+`",go="`) {
		t.Errorf("/metrics has no switchboard_build_info for %s", version)
	}
	if code, body := sendNative(addr, `{"to":"+972501234567","text":"hi"}`); code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	select {
	case ua := <-agents:
		if ua != "switchboard/"+version {
			t.Fatalf("upstream User-Agent %q, want switchboard/%s", ua, version)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no upstream request within 10s")
	}
}

// TestAdminDeadLetters: the dead list pages and filters (recipient, reason, upstream,
// time), a bulk replay counts in a dry run and replays only what its filter selects, and
// any tenant's message is found by id or client reference.
func TestAdminDeadLetters(t *testing.T) {
	s := startSink(t)
	s.fail.Store(500)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: s, attempts: 1})
	startProc(t, addr, "serve", "-config", cfgPath)
	var ids []string
	for i := range 4 {
		code, body := sendNative(addr, fmt.Sprintf(`{"to":"+97250555000%d","text":"x","client_ref":"ref-%d"}`, i, i))
		if code != 202 {
			t.Fatalf("send: %d %s", code, body)
		}
		ids = append(ids, messageID(t, body))
	}
	waitFinal(t, addr, ids, 20*time.Second)

	type page struct {
		Dead []struct {
			Message struct{ ID, To, Upstream string }
		}
		Next string
	}
	list := func(query string) page {
		t.Helper()
		code, body := get("http://"+addr+"/admin/v1/dead?"+query, adminAuth)
		var p page
		if code != 200 || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("dead?%s: %d %s", query, code, body)
		}
		return p
	}
	first := list("limit=3")
	rest := list("limit=3&after=" + first.Next)
	if len(first.Dead) != 3 || first.Next == "" || len(rest.Dead) != 1 || rest.Next != "" {
		t.Fatalf("pages: %+v then %+v", first, rest)
	}
	seen := map[string]bool{rest.Dead[0].Message.ID: true}
	for _, d := range first.Dead {
		seen[d.Message.ID] = true
	}
	if len(seen) != 4 {
		t.Fatalf("the two pages hold %d distinct messages, want 4", len(seen))
	}
	if p := list("to=%2B972505550002"); len(p.Dead) != 1 || p.Dead[0].Message.To != "972505550002" {
		t.Fatalf("by recipient: %+v", p)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for query, want := range map[string]int{"reason=500": 4, "reason=nothing-like-it": 0, "upstream=sink": 4,
		"upstream=backup": 0, "tenant=acme": 4, "since=" + future: 0, "until=" + future: 4} {
		if n := len(list(query).Dead); n != want {
			t.Errorf("dead?%s: %d, want %d", query, n, want)
		}
	}
	if code, _ := get("http://"+addr+"/admin/v1/dead?since=yesterday", adminAuth); code != 400 {
		t.Errorf("a bad since: %d, want 400", code)
	}

	replay := func(query string) (matched, replayed int) {
		t.Helper()
		code, body := do("POST", "http://"+addr+"/admin/v1/dead/replay?"+query, adminAuth, "")
		var a struct{ Matched, Replayed int }
		if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("replay?%s: %d %s", query, code, body)
		}
		return a.Matched, a.Replayed
	}
	if m, r := replay("dry_run=true"); m != 4 || r != 0 {
		t.Fatalf("dry run: matched %d replayed %d", m, r)
	}
	if n := len(list("").Dead); n != 4 {
		t.Fatalf("a dry run changed the dead list: %d left", n)
	}
	s.fail.Store(0)
	if m, r := replay("to=972505550001"); m != 1 || r != 1 {
		t.Fatalf("replay of one recipient: matched %d replayed %d", m, r)
	}
	s.waitAll(t, []string{ids[1]}, 10*time.Second)
	if n := len(list("").Dead); n != 3 {
		t.Fatalf("after replaying one: %d dead, want 3", n)
	}

	code, body := get("http://"+addr+"/admin/v1/messages?tenant=acme&client_ref=ref-3", adminAuth)
	var found struct {
		Messages []struct{ Message struct{ ID string } }
	}
	if code != 200 || json.Unmarshal([]byte(body), &found) != nil || len(found.Messages) != 1 || found.Messages[0].Message.ID != ids[3] {
		t.Fatalf("by client_ref: %d %s", code, body)
	}
	if code, body := get("http://"+addr+"/admin/v1/messages/"+ids[0], adminAuth); code != 200 || !strings.Contains(body, `"status":"dead"`) {
		t.Fatalf("by id: %d %s", code, body)
	}
	if code, body := get("http://"+addr+"/admin/v1/upstreams", adminAuth); code != 200 || !strings.Contains(body, `"counters_since":"`) {
		t.Fatalf("upstreams: %d %s", code, body)
	}
}

// TestCheckAgainst: `check -against` prints what reloading a file on a running gateway would
// change, and changes nothing there; a file the gateway would refuse exits 1 with its problems.
func TestCheckAgainst(t *testing.T) {
	a, b := startSink(t), startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: a, backup: b})
	startProc(t, addr, "serve", "-config", cfgPath)
	orig := string(must(os.ReadFile(cfgPath)))
	next := filepath.Join(t.TempDir(), "next.yaml")
	os.WriteFile(next, []byte(strings.Replace(strings.Replace(orig, addr, freeAddr(t), 1), "upstreams: [sink]", "upstreams: [backup]", 1)+
		"  - name: extra\n    match: { tenants: [acme] }\n    upstreams: [sink]\n"), 0o600)
	out, err := exec.Command(buildBinary(t), "check", "-config", next, "-against", "http://"+addr, "-token", "admin-secret-token").CombinedOutput()
	for _, want := range []string{"sections changed: listen, routes\n", "upstreams kept as they are: sink, backup\n",
		"needs a restart (a reload keeps the running value): listen\n"} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("check -against: %v, want %q in:\n%s", err, want, out)
		}
	}
	if code, body := get("http://"+addr+"/admin/v1/upstreams", adminAuth); code != 200 || strings.Contains(body, "extra") {
		t.Fatalf("after check -against: %d %s", code, body)
	}
	ids := sendAll(t, addr, recipients(5, 300), 2, "unchanged")
	a.waitAll(t, ids, 10*time.Second) // still the running route to sink

	// A file valid here but not on the gateway, whose environment lacks a variable it uses:
	// the gateway's problems, exit 1.
	os.WriteFile(next, []byte(strings.Replace(orig, `token: "native-demo-token"`, `token: "${SB_AGAINST_ONLY_HERE}"`, 1)), 0o600)
	check := exec.Command(buildBinary(t), "check", "-config", next, "-against", "http://"+addr, "-token", "admin-secret-token")
	check.Env = append(os.Environ(), "SB_AGAINST_ONLY_HERE=set-in-check-only")
	out, err = check.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "tenants[0].native.token: is required (${SB_AGAINST_ONLY_HERE} is not set)") {
		t.Fatalf("check of a file the gateway refuses: %v\n%s", err, out)
	}
}

// TestWatchConfig: with watch_config set, a change to the file is reloaded without a signal;
// a broken change is refused once and the running config stays.
func TestWatchConfig(t *testing.T) {
	a, b := startSink(t), startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: a, backup: b})
	orig := strings.Replace(string(must(os.ReadFile(cfgPath))), "log_level: warn", "log_level: info", 1) + "watch_config: 100ms\n"
	os.WriteFile(cfgPath, []byte(orig), 0o600)
	p := startProc(t, addr, "serve", "-config", cfgPath)

	broken := strings.Replace(orig, "upstreams: [sink]", "upstreams: [nowhere]", 1)
	os.WriteFile(cfgPath, []byte(broken), 0o600)
	eventually(t, 5*time.Second, "the broken change to be refused", func() bool { return strings.Contains(p.output(), "reload refused") })
	ids := sendAll(t, addr, recipients(5, 400), 2, "still sink")
	a.waitAll(t, ids, 10*time.Second)
	// A negative needs a window: ten of the watcher's looks must not refuse the file again.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if n := strings.Count(p.output(), "reload refused"); n != 1 {
			t.Fatalf("the unchanged broken file was refused %d times, want once:\n%s", n, p.output())
		}
	}

	os.WriteFile(cfgPath, []byte(strings.Replace(orig, "upstreams: [sink]", "upstreams: [backup]", 1)), 0o600)
	eventually(t, 5*time.Second, "the change to be reloaded", func() bool { return strings.Contains(p.output(), `"msg":"reloaded"`) })
	ids = sendAll(t, addr, recipients(5, 500), 2, "now backup")
	b.waitAll(t, ids, 10*time.Second)
}
