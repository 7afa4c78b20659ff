package ceiling

import (
	"net"
	"testing"

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
