package gateway

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/config"
)

// TestReloadDialects: a reload applies what the vendors read from the dialect sections: a
// tenant's new Wavy token opens the dialect and the old one no longer does, and Wavy's
// single_reply changes the answer's shape.
func TestReloadDialects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sb.yaml")
	src := `data_dir: "` + filepath.Join(dir, "data") + `"
wavy: { single_reply: array }
tenants:
  - id: t1
    wavy: { username: acme, token: old-token }
upstreams: [{ name: s, dialect: sandbox }]
routes: [{ name: r, upstreams: [s] }]
`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.EnableReload(path, nil, false)
	base := serveLoopback(t, srv)
	send := func(token string) (int, string) {
		return post(t, base+"/v1/send-sms", map[string]string{"username": "acme", "authenticationtoken": token},
			`{"destination":"5511999990000","messageText":"hi"}`)
	}
	if status, body := send("old-token"); status != 200 || !strings.HasPrefix(body, "[") {
		t.Fatalf("before the reload: %d %s, want 200 with an array", status, body)
	}

	src = strings.Replace(strings.Replace(src, "old-token", "new-token", 1), "single_reply: array", "single_reply: object", 1)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Reload()
	if err != nil {
		t.Fatalf("reload: %v %+v", err, res)
	}
	if got := strings.Join(res.Changed, ","); got != "tenants,wavy" {
		t.Errorf("changed sections = %q, want tenants,wavy", got)
	}
	if status, body := send("old-token"); status != 401 {
		t.Errorf("the old token after the reload: %d %s, want 401", status, body)
	}
	if status, body := send("new-token"); status != 200 || !strings.HasPrefix(body, "{") {
		t.Errorf("the new token after the reload: %d %s, want 200 with an object", status, body)
	}
}
