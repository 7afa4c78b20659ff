package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// adminToken guards the bench gateway's /admin and /debug/pprof.
const adminToken = "bench-admin-token"

// gatewayConfig is the bench gateway: a queue (badgerQueue or natsQueue), the demo tenant's
// credentials in every dialect (the load generator's defaults), one http upstream.
const gatewayConfig = `listen: %q
data_dir: %q
admin_token: %q
log_level: warn
queue: %s
flowbot: { jwt_secret: "bench-jwt-secret-0123456789abcdef" }
tenants:
  - id: acme
    messageflow: { uuid: "6a708fea-a4d0-4976-a180-9f3bdd3de52e" }
    multiwhats:  { apikey: "mw-demo-key" }
    wavy:        { username: "acme", token: "wavy-demo-token" }
    flowbot:     { client_id: "aiflow_acme", api_key: "sk_demo", hmac_secret: "demo-secret" }
    native:      { token: "native-demo-token" }
upstreams:
  - name: sink
    dialect: http
    receipts: open
    url: %q
    timeout: 5s
    max_conns: %d
routes:
  - name: default
    match: {}
    upstreams: [sink]
`

// badgerQueue is the queue of a gateway on its own Badger queue: durability always (interval
// for one comparison). max_depth leaves room for the restart figure's million messages.
func badgerQueue(durability string) string {
	return fmt.Sprintf("{ durability: %s, max_depth: 2000000 }", durability)
}

// alwaysShards is queue.nats.shards on a server with sync_interval: always, as the README
// advises there: one work stream's fsyncs are serial, several streams' run together.
const alwaysShards = 8

// natsQueue is the queue of a gateway on the JetStream server at addr (one server, replicas
// 1), its work queue in shards streams.
func natsQueue(addr string, shards int) string {
	return fmt.Sprintf(`{ backend: nats, max_depth: 2000000, nats: { servers: ["nats://%s"], shards: %d } }`, addr, shards)
}

// gateway is a running `switchboard serve`.
type gateway struct {
	*proc
	addr  string
	cfg   string
	data  string
	ready time.Time // when /readyz first answered 200
}

// newGatewayConfig writes a config into dir whose upstream is http://upstream/messages, with
// the queue block queue (a Badger queue lives in dir/data), and returns its path and listen
// address.
func newGatewayConfig(dir, upstream, queue string, conns int) (cfgPath, addr string, err error) {
	if addr, err = freeAddr(); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	cfgPath = filepath.Join(dir, "switchboard.yaml")
	body := fmt.Sprintf(gatewayConfig, addr, filepath.Join(dir, "data"), adminToken, queue, "http://"+upstream+"/messages", conns)
	return cfgPath, addr, os.WriteFile(cfgPath, []byte(body), 0o600)
}

// startGateway serves cfgPath and waits until /readyz answers 200.
func startGateway(bin, cfgPath, addr string) (*gateway, error) {
	dir := filepath.Dir(cfgPath)
	p, err := startProc("gateway", filepath.Join(dir, "gateway.log"), bin, "serve", "-config", cfgPath)
	if err != nil {
		return nil, err
	}
	g := &gateway{proc: p, addr: addr, cfg: cfgPath, data: filepath.Join(dir, "data")}
	if g.ready, err = waitStatus(p, g.url("/readyz"), 200, time.Minute); err != nil {
		p.kill()
		return nil, err
	}
	return g, nil
}

func (g *gateway) url(path string) string { return "http://" + g.addr + path }

// queueStats is the gateway's GET /admin/v1/queue.
type queueStats struct {
	Depth     int64 `json:"depth"`
	Scheduled int64 `json:"scheduled"` // not due yet: retries waiting out their backoff
	InFlight  int64 `json:"in_flight"`
	Dead      int64 `json:"dead"`
}

func (g *gateway) queue() (queueStats, error) {
	var s queueStats
	code, body, err := httpGet(g.url("/admin/v1/queue"), adminToken, 10*time.Second)
	if err == nil && code != 200 {
		err = fmt.Errorf("GET /admin/v1/queue: status %d: %s", code, body)
	}
	if err == nil {
		err = json.Unmarshal(body, &s)
	}
	return s, err
}

// profile saves a CPU profile of the next secs seconds and then the allocation profile
// into dir, named after what, and, when traceSecs > 0, an execution trace of the traceSecs
// seconds after: where a group commit's time goes (`go tool trace -pprof=syscall`, see
// bench/README.md).
func (g *gateway) profile(dir, what string, secs, traceSecs int) error {
	type get struct{ path, file string }
	ps := []get{
		{fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), what + "-cpu.pprof"},
		{"/debug/pprof/allocs", what + "-allocs.pprof"},
	}
	if traceSecs > 0 {
		ps = append(ps, get{fmt.Sprintf("/debug/pprof/trace?seconds=%d", traceSecs), what + "-trace.out"})
	}
	for _, p := range ps {
		code, body, err := httpGet(g.url(p.path), adminToken, time.Duration(secs+30)*time.Second)
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		if err != nil {
			return fmt.Errorf("cannot take profile %s: %w", p.path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// commitStats reads the queue's group-commit figures from /metrics: the share of wall
// seconds the committer spent committing groups (with durability always each commit holds
// Badger's syncs of the value log and the WAL), the mean commit, and the items (messages and
// changes) each commit made durable. A committer busy most of the time bounds the accepts
// at a given concurrency.
func (g *gateway) commitStats(wall float64) (busy, meanMs, perCommit float64, err error) {
	code, body, err := httpGet(g.url("/metrics"), "", 10*time.Second)
	if err == nil && code != 200 {
		err = fmt.Errorf("GET /metrics: status %d", code)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	v := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if ok {
			v[name], _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
		}
	}
	n := v["switchboard_queue_commit_seconds_count"]
	if n == 0 || wall <= 0 {
		return 0, 0, 0, nil
	}
	sum := v["switchboard_queue_commit_seconds_sum"]
	return sum / wall, 1000 * sum / n, v["switchboard_queue_commit_batch_size_sum"] / n, nil
}
