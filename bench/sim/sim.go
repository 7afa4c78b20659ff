// Package sim simulates the vendors' APIs for tests, demos and load tests: each simulator
// decodes requests with the dialect's own adapter, so it validates them as the real API
// does and answers exactly as it does, errors included. It can inject latency, 5xx, 429
// and hangs, and keeps what it received for inspection at /_sim/*.
//
// It binds only where it is told (loopback in every test and script of this project).
package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// maxKept bounds the requests and messages kept for /_sim/*: the oldest go first.
const maxKept = 100_000

// maxHang bounds an injected hang, so a simulator never holds a connection forever. A
// variable so that the package's tests can wait less.
var maxHang = 30 * time.Second

// Credentials are what the simulated vendor accepts; the defaults are the demo config's.
type Credentials struct {
	UUID                   string // messageflow
	APIKey                 string // multiwhats
	Username, Token        string // wavy
	ClientID, ClientAPIKey string // flowbot
	HMACSecret             string // flowbot lead signatures
	Bearer                 string // whatsappcloud access token
	JWTSecret              string // flowbot: signs the simulator's own tokens
}

// DefaultCredentials match switchboard.example.yaml's demo tenant.
var DefaultCredentials = Credentials{
	UUID: "6a708fea-a4d0-4976-a180-9f3bdd3de52e", APIKey: "mw-demo-key", Username: "acme", Token: "wavy-demo-token",
	ClientID: "aiflow_acme", ClientAPIKey: "sk_demo", HMACSecret: "demo-secret", Bearer: "cloud-demo-token",
	JWTSecret: "simulator-jwt-secret-0123456789",
}

// Faults are injected into every request to a vendor endpoint.
type Faults struct {
	// Latency is added before answering.
	Latency time.Duration `json:"latency"`
	// FailRate is the fraction of requests answered with Mode instead of success.
	FailRate float64 `json:"fail_rate"`
	// Mode is "5xx" (503, the vendor's unavailable answer), "500", "429" (with Retry-After)
	// or "hang" (no answer until the client gives up, at most maxHang).
	Mode string `json:"mode"`
	// Capacity, when above 0, is the requests/s the simulated vendor can serve: each
	// request takes 1/Capacity s of one server's time, so past that rate requests queue
	// and the latency rises, as at a real vendor's limit (a known knee for load tests).
	Capacity float64 `json:"capacity"`
}

// Received is one request as the simulator got it.
type Received struct {
	Method  string               `json:"method"`
	URI     string               `json:"uri"`
	Headers map[string]string    `json:"headers"`
	Body    string               `json:"body"`
	Status  int                  `json:"status"`
	Message []*canonical.Message `json:"messages,omitempty"`
}

// Sim is one simulated vendor.
type Sim struct {
	in     adapters.Inbound
	creds  Credentials
	faults atomic.Pointer[Faults]
	seq    atomic.Uint64
	srv    *fasthttp.Server

	ok, failed, injected atomic.Int64

	// post posts receipts for what is accepted (receipts.go), once SetReceipts is called.
	post poster
	// runs counts the load generator's marked messages by run (runs.go).
	runs runTable
	cap  capacity
	// mem remembers what was accepted, for the recipient's replies (replies.go).
	mem memory

	mu   sync.Mutex
	kept []Received
}

// New returns a simulator of the dialect.
func New(dialect string, creds Credentials, f Faults) (*Sim, error) {
	in, err := newInbound(dialect, creds)
	if err != nil {
		return nil, err
	}
	if err := checkFaults(f); err != nil {
		return nil, err
	}
	s := &Sim{in: in, creds: creds, post: poster{dialect: dialect}}
	s.faults.Store(&f)
	s.mem.init()
	r := router.New()
	for _, rt := range in.Routes() {
		h := s.vendor(rt)
		for _, m := range rt.Methods {
			r.Handle(m, rt.Path, h)
		}
	}
	r.GET("/_sim/stats", s.stats)
	r.GET("/_sim/requests", s.requests)
	r.DELETE("/_sim/requests", func(ctx *fasthttp.RequestCtx) { s.mu.Lock(); s.kept = nil; s.mu.Unlock() })
	r.POST("/_sim/faults", s.setFaults)
	r.GET("/_sim/receipts", s.receiptStats)
	r.GET("/_sim/runs/{run}", s.runReport)
	r.POST("/_sim/receipts", s.setReceipts)
	r.POST("/_sim/reply", s.simReply)
	r.GET("/_sim/replies", s.replyStats)
	r.POST("/_sim/replies", s.setReplies)
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		s.answerError(ctx, &adapters.Call{Req: &ctx.Request, Now: time.Now()},
			&canonical.Error{Code: canonical.ErrNotFound, Reason: "Not found: " + string(ctx.Path())})
	}
	s.srv = &fasthttp.Server{Handler: r.Handler, Name: dialect + "-simulator", MaxRequestBodySize: 8 << 20}
	return s, nil
}

func checkFaults(f Faults) error {
	switch f.Mode {
	case "", "5xx", "500", "429", "hang":
	default:
		return fmt.Errorf("fault mode must be 5xx, 500, 429 or hang, not %q", f.Mode)
	}
	if f.FailRate < 0 || f.FailRate > 1 {
		return fmt.Errorf("fail rate must be between 0 and 1, not %v", f.FailRate)
	}
	if f.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	if f.Capacity < 0 {
		return errors.New("capacity must not be negative")
	}
	return nil
}

// Start runs a simulator of dialect on addr (a loopback address in every test) until
// Close, and returns it with its base URL.
func Start(dialect, addr string, creds Credentials, f Faults) (*Sim, string, error) {
	s, err := New(dialect, creds, f)
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen: %w", err)
	}
	go s.Serve(ln) //nolint:errcheck // returns when Close shuts the listener
	return s, "http://" + ln.Addr().String(), nil
}

// Serve answers on ln until Close.
func (s *Sim) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Close stops serving (and posting replies at a rate).
func (s *Sim) Close() error {
	s.SetReplies(Replies{}) //nolint:errcheck // a zero rate is always valid
	return s.srv.Shutdown()
}

// vendor serves one of the vendor's endpoints.
func (s *Sim) vendor(rt adapters.Route) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c := &adapters.Call{Op: rt.Op, Req: &ctx.Request, Now: time.Now()}
		if rt.Op == adapters.OpToken {
			s.token(ctx, c)
			return
		}
		if s.inject(ctx, c) {
			return
		}
		if !rt.Op.IsSend() {
			s.answerError(ctx, c, &canonical.Error{Code: canonical.ErrNotFound, Reason: "not simulated"})
			return
		}
		c.Account = &adapters.Account{Tenant: "sim", UserID: 264, AccountID: 34, ClientID: s.creds.ClientID, ClientNumber: "sim-client"}
		var b adapters.Batch
		err := s.in.Decode(c, &b)
		if !s.authorised(c, b.Cred) && !(err != nil && b.Cred.Secret == "") {
			err = &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "invalid credentials"}
		}
		if err != nil {
			s.answerError(ctx, c, canonical.AsError(err))
			return
		}
		for _, m := range b.Messages {
			m.ID, m.Seq, m.CreatedAt, m.Status = canonical.NewID(), s.seq.Add(1), c.Now, canonical.StatusQueued
		}
		if b.ID != "" {
			b.ID = canonical.NewID()
		}
		b.Dup = make([]bool, len(b.Messages))
		status, body := s.in.Accepted(c, &b, nil)
		s.ok.Add(int64(len(b.Messages))) // messages, not requests: a bulk request carries many
		s.runs.accepted(b.Messages, c.Now)
		s.keep(ctx, status, b.Messages)
		s.post.accepted(b.Messages)
		s.rememberAccepted(b.Messages)
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
}

// inject applies the current faults; it reports whether it answered.
func (s *Sim) inject(ctx *fasthttp.RequestCtx, c *adapters.Call) bool {
	f := s.faults.Load()
	if f.Capacity > 0 {
		time.Sleep(s.cap.wait(f.Capacity))
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	if f.FailRate <= 0 || rand.Float64() >= f.FailRate {
		return false
	}
	s.injected.Add(1)
	switch f.Mode {
	case "hang":
		time.Sleep(maxHang)
		// Drop the connection without a word: a response, even an empty one, would be a 200
		// to a client that waits longer than maxHang.
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(net.Conn) {})
		return true
	case "429":
		s.answerError(ctx, c, &canonical.Error{Code: canonical.ErrTooMany, Reason: "Too many requests", RetryAfter: time.Second})
	case "500":
		s.answerError(ctx, c, &canonical.Error{Code: canonical.ErrInternal, Reason: "Internal server error"})
	default:
		s.answerError(ctx, c, &canonical.Error{Code: canonical.ErrUnavailable, Reason: "Service unavailable", RetryAfter: time.Second})
	}
	return true
}

func (s *Sim) answerError(ctx *fasthttp.RequestCtx, c *adapters.Call, e *canonical.Error) {
	s.failed.Add(1)
	s.runs.refused(ctx.PostBody(), e.Error())
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(e.RetryAfter/time.Second)))
	}
	status, body := s.in.Error(c, e, nil)
	s.keep(ctx, status, nil)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// authorised checks a credential as the vendor would: a dialect that checks its own
// (FlowBot's JWTs and signatures) against the simulator's credentials (simOptions).
func (s *Sim) authorised(c *adapters.Call, cred adapters.Credential) bool {
	if g, ok := s.in.(adapters.Guard); ok {
		return g.Authenticate(c, cred) != nil
	}
	eq := func(a, b string) bool { return a != "" && a == b }
	switch cred.Scheme {
	case adapters.SchemeUUID:
		return eq(cred.Secret, s.creds.UUID)
	case adapters.SchemeAPIKey:
		return eq(cred.Secret, s.creds.APIKey)
	case adapters.SchemeUser:
		return eq(cred.User, s.creds.Username) && eq(cred.Secret, s.creds.Token)
	case adapters.SchemeBearer:
		return eq(cred.Secret, s.creds.Bearer)
	}
	return false
}

// token serves FlowBot's /api/auth/api-token through the dialect's own operation, which
// checks the client credentials against the simulator's (simOptions).
func (s *Sim) token(ctx *fasthttp.RequestCtx, c *adapters.Call) {
	op, ok := s.in.(adapters.Operator)
	if !ok {
		s.answerError(ctx, c, &canonical.Error{Code: canonical.ErrNotFound, Reason: "not simulated"})
		return
	}
	status, body, err := op.Serve(c, adapters.Env{}, nil)
	if err != nil {
		s.answerError(ctx, c, canonical.AsError(err))
		return
	}
	s.keep(ctx, status, nil)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

func (s *Sim) keep(ctx *fasthttp.RequestCtx, status int, msgs []*canonical.Message) {
	r := Received{Method: string(ctx.Method()), URI: string(ctx.RequestURI()), Body: string(ctx.PostBody()),
		Status: status, Message: msgs, Headers: map[string]string{}}
	for k, v := range ctx.Request.Header.All() {
		r.Headers[string(k)] = string(v)
	}
	s.mu.Lock()
	if len(s.kept) >= maxKept {
		s.kept = append(s.kept[:0], s.kept[maxKept/2:]...)
	}
	s.kept = append(s.kept, r)
	s.mu.Unlock()
}

func (s *Sim) stats(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, map[string]int64{"accepted": s.ok.Load(), "errors": s.failed.Load(), "injected": s.injected.Load()})
}

func (s *Sim) requests(ctx *fasthttp.RequestCtx) {
	s.mu.Lock()
	out := append([]Received{}, s.kept...) // [] rather than null before the first request
	s.mu.Unlock()
	writeJSON(ctx, out)
}

func (s *Sim) setFaults(ctx *fasthttp.RequestCtx) {
	var f struct {
		Latency  string  `json:"latency"`
		FailRate float64 `json:"fail_rate"`
		Mode     string  `json:"mode"`
		Capacity float64 `json:"capacity"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &f); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	nf := Faults{FailRate: f.FailRate, Mode: f.Mode, Capacity: f.Capacity}
	if f.Latency != "" {
		d, err := time.ParseDuration(f.Latency)
		if err != nil {
			ctx.Error(err.Error(), 400)
			return
		}
		nf.Latency = d
	}
	if err := checkFaults(nf); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	s.faults.Store(&nf)
	writeJSON(ctx, nf)
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, _ := json.Marshal(v)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
