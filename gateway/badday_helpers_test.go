package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters/registry"
	"switchboard/config"
)

// badDayTenant is the tenant of the bad-day tests, with a credential in every dialect.
const badDayTenant = `tenants:
  - id: acme
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key" }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
`

// startGateway serves the config src (data_dir and the tenant added) on a loopback port
// with the real vendor table, until the test ends, and returns its base URL.
func startGateway(t *testing.T, src string) string {
	t.Helper()
	full := "data_dir: \"" + t.TempDir() + "\"\nadmin_token: \"admin-test-token-0123456789\"\nflowbot: { jwt_secret: \"test-jwt-secret-0123456789abcdef\" }\n" +
		"queue: { disk_reserve_bytes: 0, disk_reserve_percent: 0 }\n" + badDayTenant + src
	cfg, err := config.Parse([]byte(full), "badday.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), registry.Vendors())
	if err != nil {
		t.Fatal(err)
	}
	return serveLoopback(t, srv)
}

// serveLoopback serves srv on a loopback port until the test ends, and returns its base URL.
func serveLoopback(t *testing.T, srv *Server) string {
	t.Helper()
	ln := listenLoopback(t)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("shutdown: %v", err)
		}
		<-served
	})
	return "http://" + ln.Addr().String()
}

// post sends body to uri with the headers and returns the answer's status and body.
func post(t *testing.T, uri string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI(uri)
	req.Header.SetContentType("application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body())
}

// rawExchange writes req on a new connection to the base URL's address and reads one answer.
func rawExchange(t *testing.T, base, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() { _, _ = io.WriteString(c, req) }() // the server may answer before it has read it all
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Headers that authenticate the tenant in each dialect.
var (
	nativeAuth = map[string]string{"Authorization": "Bearer native-demo-token"}
	wavyAuth   = map[string]string{"username": "acme", "authenticationtoken": "wavy-demo-token"}
	mwURI      = "/api/v1/basic/whatsapp/send-dynamic?apikey=mw-demo-key"
)

func acquire() (*fasthttp.Request, *fasthttp.Response) {
	return fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
}

func release(req *fasthttp.Request, resp *fasthttp.Response) {
	fasthttp.ReleaseRequest(req)
	fasthttp.ReleaseResponse(resp)
}

func doTimeout(req *fasthttp.Request, resp *fasthttp.Response) error {
	return fasthttp.DoTimeout(req, resp, 10*time.Second)
}
