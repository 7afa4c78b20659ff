package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/config"
	"switchboard/gateway"
)

// TestCheckRejectsWhatServeWould: a mistake only a vendor can see (a Cloud API phone number
// id that is not a number, a Wavy option it does not know) fails `check` with its path and
// line, and serving the same file fails on the same paths.
func TestCheckRejectsWhatServeWould(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vendor.yaml")
	os.WriteFile(path, []byte(`data_dir: "`+filepath.Join(dir, "data")+`"
wavy: { single_reply: list }
tenants:
  - { id: t1, native: { token: tok1 } }
upstreams:
  - name: meta
    dialect: whatsappcloud
    url: "http://127.0.0.1:1"
    credentials: { token: t, phone_number_id: "abc" }
routes:
  - name: r
    upstreams: [meta]
`), 0o600)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check", "-config", path}, &stdout, &stderr); code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", code, stdout.String(), stderr.String())
	}
	want := []string{"vendor.yaml:2: wavy.single_reply", "vendor.yaml:9: upstreams[0].credentials.phone_number_id"}
	for _, w := range want {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("check does not report %s:\n%s", w, stderr.String())
		}
	}

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("config's own checks: %v", err)
	}
	srv, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		srv.Shutdown(t.Context())
		t.Fatal("serve accepts what check refuses")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("serve's refusal does not name %s: %v", w, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("serve opened the queue before refusing the config")
	}
}
