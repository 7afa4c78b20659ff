package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheck: `switchboard check` prints ok for the shipped config, and for a config with three
// different mistakes exits 1 naming all three with their paths and lines.
func TestCheck(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command(bin, "check", "-config", "../../switchboard.example.yaml").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("example config: %v %s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`listen: "127.0.0.1:8080"
tenants:
  - id: acme
    native: { token: "t" }
upstreams:
  - name: sink
    dialect: http
    receipts: open
    url: "http://127.0.0.1:9000/messages"
    timeout: -5s
    timeoutt: 5s
routes:
  - name: default
    upstreams: [sink, smsx]
`), 0o600)
	out, err = exec.Command(bin, "check", "-config", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("bad config: exit %v, want 1\n%s", err, out)
	}
	for _, want := range []string{"upstreams[0].timeout", "upstreams[0].timeoutt", "routes[0].upstreams[1]", `"smsx"`, "bad.yaml:10", "bad.yaml:11", "bad.yaml:14"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output does not mention %s:\n%s", want, out)
		}
	}
	if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; n != 3 {
		t.Errorf("want exactly three problems, got %d:\n%s", n, out)
	}
}

// TestLayout: imports flow cmd -> gateway -> adapters -> canonical; config imports nothing of
// ours but canonical; nothing but cmd imports gateway. internal holds what tests and the
// bench share and imports nothing of ours outside it; internal/testutil is for tests only.
func TestLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "switchboard/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	layer := func(p string) string {
		p = strings.TrimPrefix(p, "switchboard/")
		return strings.SplitN(p, "/", 2)[0]
	}
	allowed := map[string][]string{
		"canonical": {"canonical"},
		"config":    {"config", "canonical"},
		"adapters":  {"adapters", "canonical"},
		"gateway":   {"gateway", "adapters", "canonical", "config"},
		"bench":     {"bench", "adapters", "canonical", "internal"},
		"internal":  {"internal"},
		"cmd":       {"cmd", "gateway", "config", "bench"},
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		from := layer(pkg)
		for _, imp := range strings.Fields(imports) {
			if !strings.HasPrefix(imp, "switchboard/") {
				continue
			}
			ok := false
			for _, a := range allowed[from] {
				ok = ok || layer(imp) == a
			}
			if imp == "switchboard/internal/testutil" {
				ok = false // tests import it; go list's Imports are those of the code proper
			}
			if !ok {
				t.Errorf("%s imports %s: against the layout", pkg, imp)
			}
		}
	}
}
