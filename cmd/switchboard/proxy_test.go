package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// connectProxy is an HTTP CONNECT proxy on loopback that sends every tunnel to one address,
// whatever host it names, and records the hosts asked for: an upstream named by a host
// that resolves nowhere can be reached only through it.
type connectProxy struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

func startConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	p := &connectProxy{addr: ln.Addr().String(), seen: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.tunnel(c, target)
		}
	}()
	return p
}

func (p *connectProxy) tunnel(c net.Conn, target string) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil || req.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.seen[req.Host]++
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	go io.Copy(up, br)
	io.Copy(c, up)
}

func (p *connectProxy) count(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[host]
}

// TestUpstreamProxies: an upstream with its own proxy setting is reached through that proxy;
// one without goes through HTTP_PROXY from the environment, unless NO_PROXY names its host.
func TestUpstreamProxies(t *testing.T) {
	s := startSink(t)
	own, env := startConnectProxy(t, s.addr), startConnectProxy(t, s.addr)
	t.Setenv("HTTP_PROXY", "http://"+env.addr)
	t.Setenv("NO_PROXY", "bypass.invalid")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fillConfig(`
listen: "{{ADDR}}"
data_dir: "{{DIR}}/data"
log_level: warn
retry: { max_attempts: 10, initial_backoff: 100ms, max_backoff: 200ms }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - { name: own, dialect: http, receipts: open, url: "http://own.invalid:8000/messages", proxy: "http://{{OWN}}" }
  - { name: env, dialect: http, receipts: open, url: "http://env.invalid:8000/messages" }
  - { name: bypass, dialect: http, receipts: open, url: "http://bypass.invalid:8000/messages" }
routes:
  - { name: own, match: { to_prefixes: ["97251"] }, upstreams: [own] }
  - { name: env, match: { to_prefixes: ["97252"] }, upstreams: [env] }
  - { name: bypass, upstreams: [bypass] }
`, "ADDR", addr, "DIR", dir, "OWN", own.addr)
	startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg))
	ids := sendAll(t, addr, []string{"972511111111", "972522222222"}, 2, "via proxy")
	s.waitAll(t, ids, 15*time.Second)
	if own.count("own.invalid:8000") != 1 || env.count("env.invalid:8000") != 1 {
		t.Fatalf("tunnels: own proxy %v, environment's proxy %v", own.seen, env.seen)
	}
	if own.count("env.invalid:8000")+env.count("own.invalid:8000") != 0 {
		t.Fatalf("an upstream used the other's proxy: own %v, env %v", own.seen, env.seen)
	}

	// NO_PROXY: tried directly, so the name does not resolve and no proxy sees it.
	bypass := sendAll(t, addr, []string{"972533333333"}, 1, "direct")[0]
	eventually(t, 15*time.Second, "the bypassed upstream to be tried", func() bool {
		code, body := get("http://"+addr+"/gateway/v1/messages/"+bypass, nativeAuth)
		return code == 200 && strings.Contains(body, `"last_error":"`) && !strings.Contains(body, `"last_error":""`)
	})
	if n := own.count("bypass.invalid:8000") + env.count("bypass.invalid:8000"); n != 0 {
		t.Fatalf("the NO_PROXY host went through a proxy %d times", n)
	}
}
