package main

import (
	"debug/elf"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaticBinary: the binary links no C library (CGO_ENABLED=0): no ELF interpreter, no
// shared libraries, so it runs on an empty image.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(buildBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs shared libraries %v", libs)
	}
}

// TestSystemdUnit: deploy/switchboard.service passes systemd-analyze verify (with the
// binary where the unit expects it) and has the settings the README promises.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): cannot verify the unit")
	}
	unit := string(must(os.ReadFile("../../deploy/switchboard.service")))
	for _, want := range []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes",
		"StateDirectory=switchboard", "ProtectSystem=strict", "NoNewPrivileges=yes"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("the unit has no line %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "switchboard.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/switchboard", buildBinary(t))), 0o644)
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "switchboard.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSdNotify: with $NOTIFY_SOCKET set, as systemd sets it for a Type=notify unit, serve
// says READY=1 once it listens, RELOADING=1 (with the monotonic clock) and READY=1 around a
// SIGHUP, and STOPPING=1 on SIGTERM.
func TestSdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func(want string) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), want) {
			t.Fatalf("notify: got %q (%v), want %q", buf[:n], err, want)
		}
	}
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: startSink(t)})
	t.Setenv("NOTIFY_SOCKET", sock)
	p := startProc(t, "", "serve", "-config", cfgPath)
	next("READY=1")
	if code, _ := get("http://"+addr+"/readyz", nil); code != 200 {
		t.Fatalf("READY=1 before /readyz answers 200: %d", code)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1\nMONOTONIC_USEC=")
	next("READY=1")
	p.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30s of SIGTERM")
	}
}
