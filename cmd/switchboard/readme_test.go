package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// TestReadmeCurls runs every shell block of README.md that talks to the gateway against a
// live gateway on the shipped example config, so the README cannot drift from the code.
// Each curl must succeed (HTTP 2xx): a wrong path, field or credential fails the test.
func TestReadmeCurls(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl", "sed", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the README's commands need it", tool)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../switchboard.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := strings.NewReplacer(`listen: "127.0.0.1:8080"`, `listen: "`+addr+`"`,
		`data_dir: "./data"`, `data_dir: "`+filepath.Join(dir, "data")+`"`).Replace(string(example))
	cfgPath := writeConfig(t, dir, cfg)
	startProc(t, addr, "serve", "-config", cfgPath)

	ran := 0
	for _, m := range shBlock.FindAllStringSubmatch(string(readme), -1) {
		block := m[1]
		if !strings.Contains(block, "localhost:8080") && !strings.Contains(block, "./bin/switchboard") {
			continue
		}
		script := "set -euo pipefail\ncurl() { command curl --fail-with-body -sS \"$@\"; }\n" +
			strings.NewReplacer("localhost:8080", addr, "./bin/switchboard", buildBinary(t),
				"switchboard.example.yaml", cfgPath).Replace(block)
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = t.TempDir() // the files a block writes (bench reports) go to a scratch directory
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("README block failed: %v\n--- block\n%s\n--- output\n%s", err, block, out)
		}
		ran++
	}
	if ran < 6 {
		t.Fatalf("found only %d README blocks to run", ran)
	}
}
