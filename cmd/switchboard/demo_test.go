package main

import (
	"strings"
	"testing"
	"time"

	"switchboard/internal/testutil"
)

// TestDemoSecretsBeyondLoopback: the example file's published secrets are refused on an
// address beyond loopback unless -insecure-demo is given, and warned about (log and /readyz)
// wherever they serve.
func TestDemoSecretsBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':'):]
	cfg := func(listen string) string {
		return writeConfig(t, t.TempDir(), `listen: "`+listen+`"
data_dir: "`+dir+`/data"
admin_token: "admin-demo-token"
shutdown: { drain: 0s }
tenants:
  - id: acme
    native: { token: "a-native-token" }
upstreams:
  - { name: box, dialect: sandbox }
routes:
  - { name: default, upstreams: [box] }
`)
	}

	refused := startProc(t, "", "serve", "-config", cfg("0.0.0.0"+port))
	testutil.WaitFor(t, 15*time.Second, "serve to refuse", refused.exited)
	if refused.cmd.ProcessState.Success() || !strings.Contains(refused.output(), "-insecure-demo") {
		t.Fatalf("serve with the published admin token on 0.0.0.0 did not refuse:\n%s", refused.output())
	}

	for _, run := range []struct{ name, listen, flag string }{
		{"loopback", "127.0.0.1" + port, ""},
		{"beyond loopback with -insecure-demo", "0.0.0.0" + port, "-insecure-demo"},
	} {
		args := []string{"serve", "-config", cfg(run.listen)}
		if run.flag != "" {
			args = append(args, run.flag)
		}
		p := startProc(t, addr, args...)
		code, body := get("http://"+addr+"/readyz", nil)
		if code != 200 || !strings.Contains(body, "published demo secrets in use (admin_token)") {
			t.Errorf("%s: /readyz %d %s", run.name, code, body)
		}
		if !strings.Contains(p.output(), "published demo secrets in use") {
			t.Errorf("%s: no warning in the log:\n%s", run.name, p.output())
		}
		if err := p.stop(30 * time.Second); err != nil {
			t.Fatalf("%s: stop: %v", run.name, err)
		}
	}
}
