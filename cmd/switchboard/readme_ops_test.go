package main

import (
	"net"
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
// makes of it (TestSystemdUnit checks the unit): reload sends SIGHUP and, as the service
// manager tracks a Type=notify unit that says RELOADING=1, waits for its READY=1 (on
// $NOTIFY_SOCKET); stop sends SIGTERM and waits for the exit. The reload must be applied and
// the stop clean. (Without the wait a stop right after the reload raced it: the two signals,
// sent microseconds apart, can reach the process in either order.) The section's curl and
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
		reloaded := filepath.Join(dir, "reloaded") // created at each READY=1 that ends a reload
		notifyReloads(t, filepath.Join(dir, "notify"), reloaded)
		addr := freeAddr(t)
		cfg := strings.NewReplacer(`listen: "127.0.0.1:8080"`, `listen: "`+addr+`"`,
			`data_dir: "./data"`, `data_dir: "`+filepath.Join(dir, "data")+`"`).Replace(string(must(os.ReadFile("../../switchboard.example.yaml"))))
		p := startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
		pid := strconv.Itoa(p.cmd.Process.Pid)
		script := "set -euo pipefail\nsystemctl() {\n  case \"$1 $2\" in\n" +
			"    'reload switchboard') rm -f '" + reloaded + "'; kill -HUP " + pid +
			"; for _ in $(seq 600); do [ -e '" + reloaded + "' ] && break; sleep 0.05; done ;;\n" +
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

// notifyReloads is the service manager's end of $NOTIFY_SOCKET, set to sock for the
// processes the test starts after it: each READY=1 that follows a RELOADING=1 creates the
// file reloaded.
func notifyReloads(t *testing.T, sock, reloaded string) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", sock)
	go func() {
		buf := make([]byte, 512)
		reloading := false
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return // closed
			}
			switch msg := string(buf[:n]); {
			case strings.HasPrefix(msg, "RELOADING=1"):
				reloading = true
			case strings.HasPrefix(msg, "READY=1") && reloading:
				reloading = false
				os.WriteFile(reloaded, nil, 0o644) //nolint:errcheck // the block waits for it, and the test fails without it
			}
		}
	}()
}
