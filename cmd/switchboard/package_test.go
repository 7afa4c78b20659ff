package main

import (
	"debug/elf"
	"fmt"
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

// TestImage builds the Dockerfile's image with podman and looks inside without running it
// (containers cannot run on every machine that builds images): the static binary at
// /switchboard, a non-root user, /data a volume the user owns, the probe as healthcheck.
// The build stage is fed this test's binary (BUILT), so no toolchain image is pulled.
func TestImage(t *testing.T) {
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed (apt-get install podman): cannot build the image")
	}
	podman := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("podman", args...).Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, msg)
		}
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out", "data"), 0o755)
	bin := must(os.ReadFile(buildBinary(t)))
	os.WriteFile(filepath.Join(dir, "out", "switchboard"), bin, 0o755)
	if out, err := exec.Command("tar", "-C", dir, "-cf", filepath.Join(dir, "built.tar"), "out").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	tag := fmt.Sprintf("localhost/switchboard-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	podman("import", filepath.Join(dir, "built.tar"), tag+"-built")
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", tag+"-built", tag).Run() })
	podman("build", "--format", "docker", "--build-arg", "BUILT="+tag+"-built", "-t", tag, "../..")

	if u := podman("image", "inspect", "--format", "{{.Config.User}}", tag); u != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (non-root)", u)
	}
	if v := podman("image", "inspect", "--format", "{{json .Config.Volumes}}", tag); !strings.Contains(v, `"/data"`) {
		t.Errorf("volumes %s, want /data", v)
	}
	if hc := podman("image", "inspect", "--format", "{{json .HealthCheck}}", tag); !strings.Contains(hc, `"/switchboard","probe"`) {
		t.Errorf("healthcheck %s, want switchboard probe", hc)
	}
	id := podman("create", tag)
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", id).Run() })
	podman("export", "-o", filepath.Join(dir, "fs.tar"), id)
	out, err := exec.Command("tar", "-tvf", filepath.Join(dir, "fs.tar")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "65532/65532") || !strings.Contains(string(out), " data/") {
		t.Errorf("/data is not owned by the image's user:\n%s", out)
	}
	podman("cp", id+":/switchboard", filepath.Join(dir, "from-image"))
	podman("cp", id+":/etc/switchboard/switchboard.yaml", filepath.Join(dir, "container.yaml"))
	if got := must(os.ReadFile(filepath.Join(dir, "from-image"))); string(got) != string(bin) {
		t.Fatal("the image's /switchboard is not the binary it was built from")
	}
	// The image's own config is valid (the binary from the image checks it).
	if out, err := exec.Command(filepath.Join(dir, "from-image"), "check", "-config", filepath.Join(dir, "container.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("the image's config: %v\n%s", err, out)
	}
}
