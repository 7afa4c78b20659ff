package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/bench/ceiling"
)

func TestMainWritesReports(t *testing.T) {
	base := serve(t, ceiling.Handler)
	dir := t.TempDir()
	jsonPath, htmlPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html")
	var stdout, stderr bytes.Buffer
	code := mainLoad(context.Background(), []string{
		"-target", base, "-dialect", "wavy", "-rate", "200", "-duration", "1500ms", "-connections", "4",
		"-out", jsonPath, "-html", htmlPath,
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "requests 300 ") || !strings.Contains(stderr.String(), "rate") {
		t.Errorf("summary:\n%s\nprogress:\n%s", stdout.String(), stderr.String())
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Requests != 300 || r.OK != 300 || r.Mode != "open" || r.Dialect != "wavy" || len(r.Histogram) == 0 || len(r.Timeline) == 0 {
		t.Errorf("JSON report: %+v", r)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if n := strings.Count(html, "<svg"); n != 4 {
		t.Errorf("%d charts, want 4", n)
	}
	// Renders offline: nothing fetched, nothing scripted.
	for _, bad := range []string{"<script", "src=", "href=", "url(", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
}

func TestMainUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-no-such-flag"}, 2},
		{[]string{"-target", "http://127.0.0.1:1", "extra"}, 2},
		{[]string{"-target", "http://198.51.100.7:8080"}, 1},
		{[]string{"-h"}, 0},
	} {
		var out, errOut bytes.Buffer
		if code := mainLoad(context.Background(), tc.args, &out, &errOut); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errOut.String())
		}
	}
}
