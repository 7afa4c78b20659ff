package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/internal/testutil"
)

// natsCluster is three JetStream servers in the test process, routed to each other on
// loopback ports: the shared queue of several gateway processes.
type natsCluster struct {
	servers []*server.Server
	urls    []string
}

func startNATSCluster(t *testing.T) *natsCluster {
	t.Helper()
	const n = 3
	routes := make([]string, n)
	for i := range routes {
		routes[i] = "nats://" + freeAddr(t)
	}
	c := &natsCluster{}
	for i := range n {
		host, port, _ := net.SplitHostPort(strings.TrimPrefix(routes[i], "nats://"))
		var p int
		fmt.Sscan(port, &p)
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: "switchboard-test", Host: host, Port: p},
			Routes:  server.RoutesFromStr(strings.Join(append(append([]string{}, routes[:i]...), routes[i+1:]...), ",")),
			NoLog:   true, NoSigs: true,
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatalf("nats server %d: %v", i+1, err)
		}
		go s.Start()
		t.Cleanup(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats server %d not ready within 10s", i+1)
		}
		c.servers = append(c.servers, s)
		c.urls = append(c.urls, s.ClientURL())
	}
	c.waitFormed(t)
	return c
}

// waitFormed waits until every server routes to the two others and the cluster can hold a
// replicated stream; a cluster that does not form in time fails the test.
func (c *natsCluster) waitFormed(t *testing.T) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, "the NATS servers to route to each other", func() bool {
		for _, s := range c.servers {
			if s.NumRoutes() < len(c.servers)-1 {
				return false
			}
		}
		return true
	})
	nc, err := nats.Connect(strings.Join(c.urls, ","))
	if err != nil {
		t.Fatalf("connect to the NATS cluster: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	// Until JetStream has elected its meta leader, creating a stream fails: try until then.
	if !testutil.Until(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "FORMED", Subjects: []string{"formed"}, Replicas: 3}); err != nil {
			return false
		}
		err = js.DeleteStream(ctx, "FORMED")
		return err == nil
	}) {
		t.Fatalf("a three-node JetStream cluster on loopback cannot hold a replicated stream after 30s: %v", err)
	}
}

// leaderOf is the server that leads the stream, or -1.
func (c *natsCluster) leaderOf(stream string) int {
	for i, s := range c.servers {
		if s.JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	return -1
}

const clusterGatewayConfig = `
listen: "{{ADDR}}"
data_dir: "{{DATA}}"
admin_token: "admin-secret-token"
log_level: warn
queue:
  backend: nats
  nats:
    servers: [{{SERVERS}}]
    replicas: 3
    ack_wait: 2s
retry: { max_attempts: 10, initial_backoff: 50ms, max_backoff: 200ms }
tenants:
  - id: acme
    native: { token: "native-demo-token" }
upstreams:
  - name: sink
    dialect: http
    receipts: open
    url: "http://{{SINK}}/messages"
    timeout: 2s
    max_conns: 16
routes:
  - name: default
    match: {}
    upstreams: [sink]
`

// startClusterGateways runs n gateway processes on the cluster, all on its one stream, one
// after the other.
func startClusterGateways(t *testing.T, c *natsCluster, sk *sink, n int) []*proc {
	t.Helper()
	return startClusterGatewaysWith(t, c, sk, n, clusterGatewayConfig, nil)
}

func startClusterGatewaysWith(t *testing.T, c *natsCluster, sk *sink, n int, config string, more *strings.Replacer) []*proc {
	t.Helper()
	servers := make([]string, len(c.urls))
	for i, u := range c.urls {
		servers[i] = `"` + u + `"`
	}
	var gws []*proc
	for range n {
		dir := t.TempDir()
		addr := freeAddr(t)
		cfg := strings.NewReplacer("{{ADDR}}", addr, "{{DATA}}", dir+"/data", "{{SINK}}", sk.addr,
			"{{SERVERS}}", strings.Join(servers, ", ")).Replace(config)
		if more != nil {
			cfg = more.Replace(cfg)
		}
		gws = append(gws, startProc(t, addr, "serve", "-config", writeConfig(t, dir, cfg)))
	}
	return gws
}

// clusterLoad sends native messages from several clients, each to the gateways in turn,
// and keeps the id of every message answered 202. A client whose gateway is gone moves on
// to the next one.
type clusterLoad struct {
	mu                 sync.Mutex
	acked              []string
	failed, unanswered atomic.Int64
	stop               chan struct{}
	wg                 sync.WaitGroup
}

func startLoad(gws []*proc, clients int) *clusterLoad {
	l := &clusterLoad{stop: make(chan struct{})}
	for w := range clients {
		l.wg.Go(func() {
			for i := 0; i < 1_000_000; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				gw := gws[(w+i)%len(gws)]
				code, body := sendNative(gw.addr, fmt.Sprintf(`{"to":"+55119%08d","text":"cluster %d-%d"}`, w*1_000_000+i, w, i))
				switch {
				case code == 202:
					var a struct{ ID string }
					if json.Unmarshal([]byte(body), &a) == nil && a.ID != "" {
						l.mu.Lock()
						l.acked = append(l.acked, a.ID)
						l.mu.Unlock()
					}
				case code == 0:
					l.unanswered.Add(1)
					l.pause()
				default:
					l.failed.Add(1) // 503 while the cluster elects a leader: the client retries
					l.pause()
				}
			}
		})
	}
	return l
}

// waitLoad waits until the load has had 300 more messages acknowledged than before and the
// sink 100 more than sunk: the gateways are taking and sending messages.
func waitLoad(t *testing.T, l *clusterLoad, before int, sk *sink, sunk int) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, "300 messages acknowledged and 100 at the sink under load", func() bool {
		return l.count() >= before+300 && int(sk.total.Load()) >= sunk+100
	})
}

// clientRetryPause is how long a load client waits before it sends again after a failed
// request (a gateway killed, a cluster electing a leader), as a real client backs off.
const clientRetryPause = 5 * time.Millisecond

// pause waits clientRetryPause, or until the load stops.
func (l *clusterLoad) pause() {
	select {
	case <-time.After(clientRetryPause):
	case <-l.stop:
	}
}

func (l *clusterLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *clusterLoad) finish() []string {
	close(l.stop)
	l.wg.Wait()
	return l.acked
}

// startSlowSink is a sink that takes delay over each message, so that a gateway killed
// under load is killed in the middle of sends.
func startSlowSink(t *testing.T, delay time.Duration) *sink {
	t.Helper()
	ln := testutil.Listen(t)
	s := &sink{addr: ln.Addr().String(), ln: ln, seen: map[string]int{}}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		time.Sleep(delay)
		s.handle(ctx)
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

// TestClusterGatewayKilled: two gateways share a three-node JetStream cluster; one is
// killed with SIGKILL under load, in the middle of sends. Every message either gateway
// answered 2xx reaches the sink at least once: the dead gateway's leased messages go to
// the other after ack_wait.
func TestClusterGatewayKilled(t *testing.T) {
	start := time.Now()
	c := startNATSCluster(t)
	sk := startSlowSink(t, 5*time.Millisecond)
	gws := startClusterGateways(t, c, sk, 2)
	load := startLoad(gws, 8)
	waitLoad(t, load, 0, sk, 0)
	before, sunk := load.count(), int(sk.total.Load())
	gws[0].kill()
	waitLoad(t, load, before, sk, sunk) // through the other gateway, which also takes the dead one's
	acked := load.finish()
	if before < 50 || len(acked) <= before {
		t.Fatalf("%d messages acknowledged before the kill, %d in all: not under load", before, len(acked))
	}
	dups := sk.waitAll(t, acked, 30*time.Second)
	t.Logf("%d acknowledged (%d before SIGKILL of one gateway); all reached the sink; %d duplicate deliveries; "+
		"%d non-2xx answers, %d unanswered; %v in all", len(acked), before, dups, load.failed.Load(),
		load.unanswered.Load(), time.Since(start).Round(100*time.Millisecond))
}

// TestClusterNodeDown: two gateways share a three-node JetStream cluster (replicas 3) and
// the node leading the work stream is shut down under load. The load goes on until the
// cluster takes writes again (a new leader is elected); every message answered 2xx
// reaches the sink at least once.
func TestClusterNodeDown(t *testing.T) {
	start := time.Now()
	c := startNATSCluster(t)
	sk := startSink(t)
	gws := startClusterGateways(t, c, sk, 2)
	load := startLoad(gws, 8)
	waitLoad(t, load, 0, sk, 0)
	victim := max(c.leaderOf("SWITCHBOARD"), 0)
	before := load.count()
	c.servers[victim].Shutdown()
	down := time.Now()
	var stall time.Duration
	if testutil.Until(25*time.Second, func() bool { return load.count() > before+200 }) {
		stall = time.Since(down)
		sunk := int(sk.total.Load())
		testutil.WaitFor(t, 25*time.Second, "the load to go on under the new leader, to the sink too", func() bool {
			return load.count() > before+400 && int(sk.total.Load()) > sunk+200
		})
	}
	acked := load.finish()
	if stall == 0 {
		t.Fatalf("%d messages acknowledged before the node went down, %d in all: writes never resumed within 25s", before, len(acked))
	}
	dups := sk.waitAll(t, acked, 30*time.Second)
	t.Logf("%d acknowledged (%d before node n%d, the stream leader, shut down); writes resumed %v after; all reached "+
		"the sink %v after; %d duplicate deliveries; %d non-2xx answers, %d unanswered; %v in all", len(acked), before,
		victim+1, stall.Round(100*time.Millisecond), time.Since(down).Round(100*time.Millisecond), dups,
		load.failed.Load(), load.unanswered.Load(), time.Since(start).Round(100*time.Millisecond))
	for _, gw := range gws {
		if out := gw.output(); strings.Contains(out, "panic") {
			t.Errorf("a gateway panicked:\n%s", out)
		}
	}
}

// TestClusterCallbacksOnce: two gateways on one JetStream cluster post the tenant's status
// callbacks: exactly once each while both run (one gateway holds the callbacks lease, the
// other stands by). Then the holder is killed with SIGKILL while messages keep coming
// through the other: it takes the lease over and every callback arrives (duplicates are
// reported: callbacks the dead one had in flight).
func TestClusterCallbacksOnce(t *testing.T) {
	start := time.Now()
	c := startNATSCluster(t)
	sk := startSink(t)
	cb := newReceiver(t)
	cb.up()
	config := strings.Replace(clusterGatewayConfig, `    native: { token: "native-demo-token" }`,
		`    native: { token: "native-demo-token" }
    callbacks: { url: "{{CB}}/status" }`, 1)
	// The first gateway started takes the lease.
	gws := startClusterGatewaysWith(t, c, sk, 2, config, strings.NewReplacer("{{CB}}", cb.url()))

	send := func(from, n int, gws []*proc) []string {
		var ids []string
		for i := range n {
			gw := gws[i%len(gws)]
			code, body := sendNative(gw.addr, fmt.Sprintf(`{"to":"+55119%08d","text":"callback %d"}`, from+i, from+i))
			if code != 202 {
				t.Fatalf("send %d: %d %s", from+i, code, body)
			}
			ids = append(ids, messageID(t, body))
		}
		return ids
	}
	// sentOnce checks that every id got its "sent" callback and counts the repeats.
	sentOnce := func(ids []string, limit time.Duration) (dups int) {
		t.Helper()
		missing := 0
		if !testutil.Until(limit, func() bool {
			seen := map[string]int{}
			for id, sts := range byMessage(t, cb.all()) {
				for _, st := range sts {
					if st == canonical.StatusSent {
						seen[id]++
					}
				}
			}
			missing, dups = 0, 0
			for _, id := range ids {
				if seen[id] == 0 {
					missing++
				}
				dups += max(seen[id]-1, 0)
			}
			return missing == 0
		}) {
			t.Fatalf("%d of %d messages without a sent callback after %v", missing, len(ids), limit)
		}
		return dups
	}

	first := send(0, 300, gws)
	sk.waitAll(t, first, 30*time.Second)
	if dups := sentOnce(first, 30*time.Second); dups != 0 {
		t.Fatalf("%d callbacks posted twice with both gateways up", dups)
	}
	// A callback that is in flight, or that the receiver took while its gateway saw it fail,
	// would come again: wait until both gateways count as delivered all the receiver took.
	cb.waitSettled(30*time.Second, gws[0].addr, gws[1].addr)
	if dups := sentOnce(first, time.Second); dups != 0 {
		t.Fatalf("%d callbacks posted twice with both gateways up", dups)
	}

	// The sends go on in this goroutine (send may call t.Fatalf) while the first gateway is
	// killed.
	killed := make(chan time.Time, 1)
	mid := int(sk.total.Load()) + 50
	go func() {
		// once the sends are under way, a sixth of them at the sink
		testutil.Until(30*time.Second, func() bool { return int(sk.total.Load()) >= mid })
		gws[0].kill()
		killed <- time.Now()
	}()
	second := send(300, 300, gws[1:])
	killedAt := <-killed
	if int(sk.total.Load()) < mid {
		t.Fatalf("the sends were not under way when the gateway was killed")
	}
	sk.waitAll(t, second, 30*time.Second)
	dups := sentOnce(append(first, second...), 45*time.Second)
	t.Logf("%d callbacks exactly once with two gateways; after SIGKILL of the one posting them, all %d arrived "+
		"within %v, %d posted twice; %v in all", len(first), len(first)+len(second),
		time.Since(killedAt).Round(100*time.Millisecond), dups, time.Since(start).Round(100*time.Millisecond))
}
