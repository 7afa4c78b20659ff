package ceiling

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestAnswersAnyRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer()
	go srv.Serve(ln)
	defer srv.Shutdown()

	for _, tc := range []struct{ method, path string }{
		{"GET", "/"}, {"POST", "/add_message"}, {"PUT", "/anything/at/all?x=1"},
	} {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod(tc.method)
		req.SetRequestURI("http://" + ln.Addr().String() + tc.path)
		req.SetBodyString(`{"ignored":true}`)
		if err := fasthttp.Do(req, resp); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if resp.StatusCode() != 200 || string(resp.Body()) != `{"success":true}` {
			t.Errorf("%s %s: got %d %q", tc.method, tc.path, resp.StatusCode(), resp.Body())
		}
		if ct := string(resp.Header.ContentType()); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
	}
}

// The durable server answers only after the body is in its file: every answered body is
// there, framed by its length, in some order, once.
func TestDurableAnswersAfterWriting(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	addr, srv := serveDurable(t, l, nil)

	const clients, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				code, body, err := post(addr, fmt.Sprintf(`{"to":"+5511%d","text":"%d"}`, c, i))
				if err == nil && (code != 200 || string(body) != string(Body)) {
					err = fmt.Errorf("got %d %q", code, body)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Read the file before stopping anything: answered means written.
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for len(b) >= 4 {
		n := binary.LittleEndian.Uint32(b)
		if int(n) > len(b)-4 {
			t.Fatalf("record of %d bytes with %d left", n, len(b)-4)
		}
		seen[string(b[4:4+n])]++
		b = b[4+n:]
	}
	if len(b) != 0 {
		t.Errorf("%d trailing bytes", len(b))
	}
	for c := range clients {
		for i := range each {
			if k := fmt.Sprintf(`{"to":"+5511%d","text":"%d"}`, c, i); seen[k] != 1 {
				t.Errorf("%s written %d times", k, seen[k])
			}
		}
	}
	if len(seen) != clients*each {
		t.Errorf("%d distinct records, want %d", len(seen), clients*each)
	}
	srv.Shutdown()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]byte("late")); err != ErrClosed {
		t.Errorf("Append after Close: %v", err)
	}
}

// With a forwarder, every answered body reaches the forward URL once.
func TestForwarderDeliversEachBodyOnce(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got[string(ctx.PostBody())]++
		mu.Unlock()
	}}
	go sink.Serve(target)
	defer sink.Shutdown()

	l, err := OpenLog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := NewForwarder("http://"+target.Addr().String()+"/in", 4)
	if err != nil {
		t.Fatal(err)
	}
	addr, srv := serveDurable(t, l, f)

	const n = 200
	for i := range n {
		if code, _, err := post(addr, fmt.Sprintf(`{"to":"+5511%d"}`, i)); err != nil || code != 200 {
			t.Fatalf("request %d: %v %d", i, err, code)
		}
	}
	if err := srv.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if failed := f.Close(); failed != 0 {
		t.Fatalf("%d bodies failed", failed)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if k := got[fmt.Sprintf(`{"to":"+5511%d"}`, i)]; k != 1 {
			t.Errorf("body %d forwarded %d times", i, k)
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct bodies forwarded, want %d", len(got), n)
	}
}

// serveDurable serves NewDurableServer(l, f) on a loopback port and returns its address.
func serveDurable(t *testing.T, l *Log, f *Forwarder) (string, *fasthttp.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewDurableServer(l, f)
	go srv.Serve(ln)
	return ln.Addr().String(), srv
}

// post POSTs body to the native messages path at addr and returns the answer.
func post(addr, body string) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + addr + "/gateway/v1/messages")
	req.SetBodyString(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}
