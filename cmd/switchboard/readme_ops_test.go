package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadmeSystemctl runs the shell blocks of the README's "Operating it" section that use
// systemctl against a live gateway, with systemctl doing what deploy/switchboard.service
// makes of it (TestSystemdUnit checks the unit): reload sends SIGHUP, stop sends SIGTERM and
// waits for the exit. The reload must be applied and the stop clean. The section's curl and
// check blocks are run by TestReadmeCurls.
func TestReadmeSystemctl(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed: the README's commands need it")
	}
	readme := string(must(os.ReadFile("../../README.md")))
	start := strings.Index(readme, "\n## Operating it\n")
	end := strings.Index(readme[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("README has no Operating it section")
	}
	section := readme[start : start+1+end]
	var blocks []string
	for _, m := range shBlock.FindAllStringSubmatch(section, -1) {
		if strings.Contains(m[1], "systemctl ") {
			blocks = append(blocks, m[1])
		}
	}
	if len(blocks) == 0 {
		t.Fatal("the Operating it section has no systemctl block")
	}
	for _, block := range blocks {
		dir := t.TempDir()
		addr := freeAddr(t)
		cfg := strings.NewReplacer(`listen: "127.0.0.1:8080"`, `listen: "`+addr+`"`,
			`data_dir: "./data"`, `data_dir: "`+filepath.Join(dir, "data")+`"`).Replace(string(must(os.ReadFile("../../switchboard.example.yaml"))))
		p := startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
		pid := strconv.Itoa(p.cmd.Process.Pid)
		script := "set -euo pipefail\nsystemctl() {\n  case \"$1 $2\" in\n" +
			"    'reload switchboard') kill -HUP " + pid + " ;;\n" +
			"    'stop switchboard') kill -TERM " + pid + "; while kill -0 " + pid + " 2>/dev/null; do sleep 0.1; done ;;\n" +
			"    *) echo \"systemctl $*: not what the unit does\" >&2; return 1 ;;\n  esac\n}\n" + block
		cmd := exec.Command("bash", "-c", script)
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("the block did not finish within 60s:\n%s", block)
		}
		if err != nil {
			t.Fatalf("README block failed: %v\n--- block\n%s\n--- output\n%s", err, block, out)
		}
		<-p.done
		if !p.cmd.ProcessState.Success() {
			t.Fatalf("the gateway did not stop cleanly: %v\n%s", p.cmd.ProcessState, p.output())
		}
		var wants []string
		if strings.Contains(block, "systemctl reload") {
			wants = append(wants, `"msg":"reloaded"`)
		}
		if strings.Contains(block, "systemctl stop") {
			wants = append(wants, `"msg":"draining`, `"msg":"stopped"`)
		}
		for _, want := range wants {
			if !strings.Contains(p.output(), want) {
				t.Errorf("the log has no %s:\n%s", want, p.output())
			}
		}
	}
}
