// Package gateway is Switchboard's runtime: one fasthttp listener serving the four vendor
// dialects, the native API, the admin API and metrics; the durable queue; and dispatch.
//
// It is the only package that does network I/O toward clients; adapters only translate.
// Nothing here keeps a fasthttp RequestCtx, or its bytes, after a handler returns.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/adapters/registry"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/callbacks"
	"switchboard/gateway/dispatch"
	"switchboard/gateway/queue"
)

// readBufferSize bounds the request line and headers.
const readBufferSize = 64 << 10

// Server is a running gateway: the parts that live as long as the process (core), and one
// generation of what a reload replaces (reload.go), of which core.live is the one serving.
type Server struct {
	*core
	cfg *config.Config
	dir *directory
	// handler is this generation's router.
	handler fasthttp.RequestHandler

	// ingress are the dialects clients speak, built from the vendor table with this
	// generation's options.
	ingress []ingressDialect
}

// core is what every generation of a Server shares.
type core struct {
	log   *slog.Logger
	q     queue.Queue
	disp  *dispatch.Dispatcher
	srv   *fasthttp.Server
	ready atomic.Bool
	// chunked keeps the paths of chunked requests while their bodies are read (chunked.go).
	chunked chunkedPaths
	// vendors is the vendor table.
	vendors []adapters.Vendor
	// cb posts status callbacks; nil when no tenant has a callback URL. A reload that
	// changes the callback settings replaces it (reloadcallbacks.go).
	cb     atomic.Pointer[callbacks.Worker]
	live   atomic.Pointer[Server]
	reload reloader
	// started is when the process started: the admin API's counters count from it.
	started time.Time
	// cert is the listener's TLS certificate (tls.go), replaced by reloads.
	cert atomic.Pointer[tls.Certificate]
	// tickets are the admin pages' login tickets not used yet.
	tickets tickets
	// optOuts are the tenants' opt-out lists (optout.go).
	optOuts *optOuts
	// replyHooks see every reply stored (replies.go).
	replyHooks []ReplyHook
}

// New opens storage and builds the gateway; it does not listen yet.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	return newServer(cfg, log, registry.Vendors())
}

// newServer is New with the vendor table given.
func newServer(cfg *config.Config, log *slog.Logger, vendors []adapters.Vendor) (*Server, error) {
	d, err := checkVendors(cfg, vendors)
	if err != nil {
		return nil, err
	}
	ingress, err := newIngress(d, vendors, nil)
	if err != nil {
		return nil, err
	}
	q, err := openQueue(cfg, log)
	if err != nil {
		return nil, err
	}
	opts, err := loadOptOuts(q)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("cannot read the opt-out lists: %w", err)
	}
	disp, err := dispatch.NewWithVendors(dispatch.SettingsOf(cfg), q, log, vendors, dispatch.WithUserAgent(userAgent()), dispatch.WithOptOut(opts.Blocked))
	if err != nil {
		q.Close()
		return nil, err
	}
	cb, err := newCallbacks(cfg, q, log)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("cannot start callbacks: %w", err)
	}
	c := &core{log: log, q: q, disp: disp, vendors: vendors, started: time.Now(), optOuts: opts}
	c.cb.Store(cb)
	// A stop or start word in a reply changes the tenant's opt-out list (optout.go).
	c.OnReply(func(r *canonical.Reply) error {
		_, err := c.live.Load().OptOutReply(r)
		return err
	})
	s := newGeneration(c, cfg, d, nil, ingress)
	c.live.Store(s)
	s.srv = &fasthttp.Server{
		Handler: s.accessLog(func(ctx *fasthttp.RequestCtx) {
			if !c.ready.Load() {
				ctx.SetConnectionClose() // draining (drain.go)
			}
			c.chunked.take(ctx)
			c.live.Load().handler(ctx)
		}),
		ErrorHandler:       func(ctx *fasthttp.RequestCtx, err error) { c.live.Load().transportError(ctx, err) },
		HeaderReceived:     c.chunked.headerReceived,
		Name:               "switchboard",
		MaxRequestBodySize: cfg.MaxBodyBytes,
		// MessageFlow clients put the whole text in the query string: URL-encoded Hebrew
		// takes six bytes a letter, so the request line needs far more than fasthttp's 4 KiB.
		ReadBufferSize:        readBufferSize,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		NoDefaultDate:         false,
		Logger:                slogPrinter{log},
	}
	if w := demoWarning(cfg); w != "" {
		log.Warn(w)
	}
	warnOpenReceipts(cfg, log)
	s.ready.Store(true)
	return s, nil
}

// Serve starts dispatch and serves ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.runCallbacks(true)
	s.disp.Start()
	s.log.Info("serving", "listen", ln.Addr().String(), "data_dir", s.cfg.DataDir, "version", Version(), "go", GoVersion())
	return s.srv.Serve(ln)
}

// Shutdown stops accepting, lets requests in progress finish, returns in-flight sends to the
// queue and closes storage cleanly.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.stopWatching()
	errs := []error{s.srv.ShutdownWithContext(ctx)}
	errs = append(errs, s.disp.Stop(ctx))
	s.runCallbacks(false) // after dispatch, whose last changes it then posts on the next start
	errs = append(errs, s.q.Close())
	return errors.Join(errs...)
}

func (s *Server) router() *router.Router {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	for _, d := range s.ingress {
		in := d.in
		for _, rt := range in.Routes() {
			h := s.instrument(in.Dialect(), s.handlerFor(in, rt))
			for _, m := range rt.Methods {
				r.Handle(m, rt.Path, h)
			}
		}
	}
	r.GET("/gateway/v1/messages/{id}", s.instrument(native.Dialect, s.messageStatus))
	s.adminRoutes(r)
	s.optOutRoutes(r) // admin_optout.go
	s.operationsRoutes(r)
	s.receiptRoutes(r)
	s.replyRoutes(r)
	s.migrationRoutes(r)
	r.GET("/healthz", func(ctx *fasthttp.RequestCtx) { writeJSON(ctx, 200, []byte(`{"status":"ok"}`)) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics)
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		s.pathError(ctx, &canonical.Error{Code: canonical.ErrNotFound, Reason: "no such endpoint: " + string(ctx.Path())})
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		s.pathError(ctx, &canonical.Error{Code: canonical.ErrMethod, Reason: "method " + string(ctx.Method()) + " is not allowed on " + string(ctx.Path())})
	}
	r.PanicHandler = func(ctx *fasthttp.RequestCtx, v any) {
		s.log.Error("panic in handler", "path", string(ctx.Path()), "panic", fmt.Sprint(v))
		s.pathError(ctx, &canonical.Error{Code: canonical.ErrInternal, Reason: "internal error"})
	}
	return r
}

// handlerFor picks the handler of a route: the one send path, or the dialect's own
// operation (status queries, tokens).
func (s *Server) handlerFor(in adapters.Inbound, rt adapters.Route) fasthttp.RequestHandler {
	if op, ok := in.(adapters.Operator); ok && !rt.Op.IsSend() {
		return s.opHandler(op, rt)
	}
	return s.sendHandler(in, rt, pathParam(rt.Path))
}

// pathParam returns the name of a route pattern's one {parameter}, if any.
func pathParam(pattern string) string {
	i := strings.IndexByte(pattern, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(pattern[i:], '}')
	return pattern[i+1 : i+j]
}

// dialectFor picks the dialect whose error shape a path outside any route gets: the one
// whose vendor claims the longest prefix of it (adapters.Vendor.ErrorPaths), else native.
func (s *Server) dialectFor(path string) adapters.Inbound {
	if v, ok := adapters.ErrorVendor(s.vendors, path); ok {
		for _, d := range s.ingress {
			if d.name == v.Name {
				return d.in
			}
		}
	}
	for _, d := range s.ingress {
		if d.name == native.Dialect {
			return d.in
		}
	}
	return native.New()
}

func (s *Server) pathError(ctx *fasthttp.RequestCtx, e *canonical.Error) {
	in := s.dialectFor(string(ctx.Path()))
	s.writeError(ctx, in, &adapters.Call{Req: &ctx.Request, Now: time.Now()}, e)
}

// transportError answers what fasthttp rejects before routing: chiefly bodies over the limit.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	// fasthttp's error text may quote the request: the answer names the problem, not the bytes.
	e := &canonical.Error{Code: canonical.ErrInvalid, Reason: "cannot read request: malformed HTTP"}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = &canonical.Error{Code: canonical.ErrTooLarge, Reason: fmt.Sprintf("request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	case errors.As(err, &small):
		e = &canonical.Error{Code: canonical.ErrTooLarge, Reason: fmt.Sprintf("request line and headers are larger than %d bytes", readBufferSize)}
	}
	s.chunked.restorePath(ctx)
	s.pathError(ctx, e)
	ctx.SetConnectionClose()
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if !s.ready.Load() {
		writeJSON(ctx, 503, []byte(`{"status":"not ready"}`))
		return
	}
	if body := s.degraded(); body != nil {
		writeJSON(ctx, 200, body)
		return
	}
	if w := demoWarning(s.cfg); w != "" {
		writeJSON(ctx, 200, statusBody("ready", w))
		return
	}
	writeJSON(ctx, 200, []byte(`{"status":"ready"}`))
}

// slogPrinter routes fasthttp's own log lines into slog. Its arguments other than addresses
// are replaced by their type: fasthttp's error texts quote the raw request (credentials and
// message text included) when a request cannot be parsed, and none of that may reach a log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	safe := make([]any, len(args))
	for i, a := range args {
		if addr, ok := a.(net.Addr); ok {
			safe[i] = addr.String()
		} else {
			safe[i] = fmt.Sprintf("(%T)", a)
		}
	}
	p.log.Warn(fmt.Sprintf(format, safe...), "source", "fasthttp")
}
