package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/bench/loadgen"
)

// Replies beside sending: the gateway sends at a steady rate to the http simulator, which
// plays the recipients and replies to what it accepted at a steady rate of its own, posted
// to the gateway's /receipts/{upstream} with its receipts; the gateway stores each reply
// and posts it to the tenant's replies URL, a receiver here. The figures: the sending
// rate, latency and delivery with replies coming in, and the replies delivered to the
// client, their share and their latency from the recipient's reply to the client.

// repliesConfig is the bench gateway with replies: the http upstream (the simulator) posts
// receipts and replies with a receipt token, every line's replies are acme's, and acme's
// replies go to the receiver in the native shape.
const repliesConfig = `listen: %q
data_dir: %q
admin_token: %q
log_level: warn
queue: %s
tenants:
  - id: acme
    native: { token: "native-demo-token" }
    callbacks: { secret: "bench-callback-secret" }
    replies: { url: %q, dialect: native }
upstreams:
  - name: sim
    dialect: http
    url: %q
    credentials: { bearer: %q, receipt_token: %q }
    timeout: 5s
    max_conns: %d
    replies: { tenant: acme }
routes:
  - name: default
    match: {}
    upstreams: [sim]
`

// The bench gateway's tokens with the simulator: repliesBearer on what the gateway sends,
// repliesReceiptToken on what the simulator posts back.
const (
	repliesBearer       = "bench-sim-bearer"
	repliesReceiptToken = "bench-receipt-token"
)

// replies is the figure of the replies step.
type replies struct {
	SendRate  float64 `json:"send_rate"`  // asked, messages/s (open loop)
	ReplyRate float64 `json:"reply_rate"` // asked of the simulator, replies/s
	Seconds   float64 `json:"seconds"`
	// Sending, with replies coming in.
	SentPerSec float64 `json:"sent_ok_per_sec"`
	SendP50Ms  float64 `json:"send_p50_ms"`
	SendP99Ms  float64 `json:"send_p99_ms"`
	SendErrors int64   `json:"send_errors"`
	// AtUpstream is how many of the run's messages the simulator accepted.
	AtUpstream int64 `json:"at_upstream"`
	// Replies: posted by the simulator (and taken by the gateway), delivered to the
	// receiver after the drain, of those linked to their message, and the latency from the
	// recipient's reply (its received_at) to the receiver.
	Posted      int64   `json:"replies_posted"`
	Failed      int64   `json:"replies_failed"`
	Delivered   int64   `json:"replies_delivered"`
	Linked      int64   `json:"replies_linked"`
	DeliveredPS float64 `json:"replies_delivered_per_sec"`
	ReplyP50Ms  float64 `json:"reply_p50_ms"`
	ReplyP99Ms  float64 `json:"reply_p99_ms"`
	GatewayCPU  float64 `json:"gateway_cores"`
}

// replyReceiver is the tenant's replies URL: it counts each reply once (by id), those with
// a message_id, and each one's latency from received_at.
type replyReceiver struct {
	mu      sync.Mutex
	seen    map[string]bool
	linked  int64
	latency []float64 // ms
	srv     *fasthttp.Server
	addr    string
}

func startReplyReceiver() (*replyReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rr := &replyReceiver{seen: map[string]bool{}, addr: ln.Addr().String()}
	rr.srv = &fasthttp.Server{Handler: rr.take}
	go rr.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	return rr, nil
}

func (rr *replyReceiver) take(ctx *fasthttp.RequestCtx) {
	var r struct {
		ID         string    `json:"id"`
		MessageID  string    `json:"message_id"`
		ReceivedAt time.Time `json:"received_at"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &r); err != nil || r.ID == "" {
		ctx.SetStatusCode(400)
		return
	}
	now := time.Now()
	rr.mu.Lock()
	if !rr.seen[r.ID] {
		rr.seen[r.ID] = true
		rr.latency = append(rr.latency, float64(now.Sub(r.ReceivedAt))/float64(time.Millisecond))
		if r.MessageID != "" {
			rr.linked++
		}
	}
	rr.mu.Unlock()
}

func (rr *replyReceiver) counts() (n, linked int64, lat []float64) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return int64(len(rr.seen)), rr.linked, slices.Clone(rr.latency)
}

// quantile is the q-th quantile of xs (nearest rank), 0 for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}

// simStats is the simulator's GET /_sim/replies.
type simStats struct {
	Posted, Failed, Dropped int64
}

func (s *scenario) replies(ctx context.Context) (replies, error) {
	res := replies{SendRate: s.o.repliesSendRate, ReplyRate: s.o.repliesRate}
	rr, err := startReplyReceiver()
	if err != nil {
		return res, err
	}
	defer rr.srv.Shutdown() //nolint:errcheck
	simAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	dir := filepath.Join(s.work, "replies")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	cfg := filepath.Join(dir, "switchboard.yaml")
	body := fmt.Sprintf(repliesConfig, addr, filepath.Join(dir, "data"), adminToken, badgerQueue("always"),
		"http://"+rr.addr+"/replies", "http://"+simAddr+"/messages", repliesBearer, repliesReceiptToken, s.o.upstreamConns)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return res, err
	}
	g, err := startGateway(s.o.bin, cfg, addr)
	if err != nil {
		return res, err
	}
	defer g.stop(30 * time.Second)
	sim, err := startListening("replies-sim", filepath.Join(dir, "sim.log"), s.o.bin, simAddr, "mock", "-dialect", "http",
		"-listen", simAddr, "-bearer", repliesBearer, "-receipts", g.url("/receipts/sim"), "-receipt-token", repliesReceiptToken,
		"-replies-rate", fmt.Sprint(s.o.repliesRate), "-replies-kinds", "text")
	if err != nil {
		return res, err
	}
	defer sim.stop(10 * time.Second)

	m := meterCPU(g.pid())
	r, err := loadgen.Run(ctx, loadgen.Options{Target: g.url(""), Dialect: "native", Rate: s.o.repliesSendRate,
		Duration: s.o.repliesDuration, Connections: s.o.connections,
		Upstreams: []loadgen.Upstream{{Name: "sim", URL: "http://" + simAddr}}})
	if err != nil {
		return res, err
	}
	cpu, _, _ := m.usage()
	if err := s.writeReport(r, "replies-send"); err != nil {
		return res, err
	}
	res.Seconds, res.SentPerSec, res.SendErrors = r.ElapsedSec, r.OKPerSec, r.Errors
	res.SendP50Ms, res.SendP99Ms, res.GatewayCPU = r.Latency.P50Ms, r.Latency.P99Ms, cpu[0]
	for _, u := range r.Upstreams {
		res.AtUpstream += u.Messages
	}
	// The simulator keeps replying while messages it has not answered wait; stop it, then
	// wait for the gateway to deliver what was posted.
	var st simStats
	if err := simCall(fasthttp.MethodPost, "http://"+simAddr+"/_sim/replies", `{"rate":0}`, &st); err != nil {
		return res, err
	}
	// A reply in flight when the rate stopped is counted posted once the gateway answers:
	// done when the count holds still between two polls and every posted reply arrived.
	drainUntil, last := time.Now().Add(s.o.drain), int64(-1)
	for {
		if err := simCall(fasthttp.MethodGet, "http://"+simAddr+"/_sim/replies", "", &st); err != nil {
			return res, err
		}
		n, _, _ := rr.counts()
		if (n >= st.Posted && st.Posted == last) || time.Now().After(drainUntil) || ctx.Err() != nil {
			break
		}
		last = st.Posted
		time.Sleep(100 * time.Millisecond)
	}
	n, linked, lat := rr.counts()
	res.Posted, res.Failed, res.Delivered, res.Linked = st.Posted, st.Failed+st.Dropped, n, linked
	if res.Seconds > 0 {
		res.DeliveredPS = float64(n) / res.Seconds
	}
	res.ReplyP50Ms, res.ReplyP99Ms = quantile(lat, 0.50), quantile(lat, 0.99)
	return res, nil
}

// simCall sends a request to a simulator's /_sim endpoint and decodes its answer into v.
func simCall(method, url, body string, v any) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	req.SetBodyString(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		return fmt.Errorf("cannot %s %s: %w", method, url, err)
	}
	if resp.StatusCode() != 200 {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode(), resp.Body())
	}
	return json.Unmarshal(resp.Body(), v)
}

func repliesRows(rp *replies) []row {
	if rp == nil {
		return nil
	}
	share := 0.0
	if rp.Posted > 0 {
		share = float64(rp.Delivered) / float64(rp.Posted)
	}
	return []row{
		{Figure: fmt.Sprintf("sending at %s (open loop, native) with replies coming in at up to %s; gateway %.2f cores",
			rate(rp.SendRate), rate(rp.ReplyRate), rp.GatewayCPU),
			Value: rate(rp.SentPerSec), P50: ms(rp.SendP50Ms), P99: ms(rp.SendP99Ms)},
		{Figure: fmt.Sprintf("replies delivered to the client (%s of %s posted, %.1f%%, after a drain of at most the bench's; %s linked to their message); latency from the recipient's reply to the client",
			fmtInt(rp.Delivered), fmtInt(rp.Posted), 100*share, fmtInt(rp.Linked)),
			Value: rate(rp.DeliveredPS), P50: ms(rp.ReplyP50Ms), P99: ms(rp.ReplyP99Ms)},
	}
}
