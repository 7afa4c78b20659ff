package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/internal/testutil"
)

// binary is the switchboard command built once for the process tests.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

func buildBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-bin")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "switchboard")
		// Static, as make build and the image build it (TestStaticBinary checks).
		build := exec.Command("go", "build", "-o", binaryPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// freeAddr returns a loopback address nobody listens on yet, reserved for the test
// (testutil.Addr): a process started on it, or started again after a kill, gets it.
func freeAddr(t *testing.T) string {
	t.Helper()
	return testutil.Addr(t)
}

// proc is a switchboard process under test.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
	gone atomic.Bool // set before done is closed
}

// startProc runs `switchboard args...` and, when addr is set, waits for /healthz.
func startProc(t *testing.T, addr string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, addr: addr, done: make(chan struct{})}
	p.cmd = exec.Command(buildBinary(t), args...)
	stderr, _ := p.cmd.StderrPipe()
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.cmd.Wait()
		p.gone.Store(true)
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	if addr != "" {
		p.waitHealthy(15 * time.Second)
	}
	return p
}

func (p *proc) waitHealthy(limit time.Duration) {
	p.t.Helper()
	if !testutil.Until(limit, func() bool {
		if p.exited() {
			p.t.Fatalf("process exited before it was healthy:\n%s", p.output())
		}
		code, _ := get("http://"+p.addr+"/healthz", nil)
		return code == 200
	}) {
		p.t.Fatalf("not healthy within %v:\n%s", limit, p.output())
	}
}

func (p *proc) exited() bool { return p.gone.Load() }

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill sends SIGKILL and waits for the process to go.
func (p *proc) kill() {
	if p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to limit for a clean exit.
func (p *proc) stop(limit time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if !p.cmd.ProcessState.Success() {
			return fmt.Errorf("exit status %v:\n%s", p.cmd.ProcessState, p.output())
		}
		return nil
	case <-time.After(limit):
		return fmt.Errorf("did not stop within %v", limit)
	}
}

var client = &fasthttp.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxConnsPerHost: 256}

// do sends one request and returns the status and body.
func do(method, url string, headers map[string]string, body string) (int, string) {
	code, answer, _ := doHeader(method, url, headers, body, "")
	return code, answer
}

// doHeader is do that also returns one header of the answer ("" when header is empty).
func doHeader(method, url string, headers map[string]string, body, header string) (int, string, string) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.SetBodyString(body)
		if req.Header.ContentType() == nil || len(req.Header.ContentType()) == 0 || string(req.Header.ContentType()) == "application/octet-stream" {
			req.Header.SetContentType("application/json")
		}
	}
	if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, err.Error(), ""
	}
	var h string
	if header != "" {
		h = string(resp.Header.Peek(header))
	}
	return resp.StatusCode(), string(resp.Body()), h
}

func get(url string, headers map[string]string) (int, string) { return do("GET", url, headers, "") }

// writeConfig writes a config file into dir from a template with %s-free placeholders.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitDrained waits until the gateway at addr holds no live message (its queue depth counts
// the scheduled, the ready and those in flight): each one accepted has been finished, and
// any request it made to an upstream has been answered.
func waitDrained(t *testing.T, addr string, limit time.Duration) {
	t.Helper()
	var code int
	var body string
	if !testutil.Until(limit, func() bool {
		code, body = get("http://"+addr+"/admin/v1/queue", adminAuth)
		var st struct{ Depth *int64 }
		return code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.Depth != nil && *st.Depth == 0
	}) {
		t.Fatalf("the queue did not drain within %v: %d %s", limit, code, body)
	}
}
