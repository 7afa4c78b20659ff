// Package gateway is Switchboard's runtime: one fasthttp listener serving the four vendor
// dialects, the native API, the admin API and metrics; the durable queue; and dispatch.
//
// It is the only package that does network I/O toward clients; adapters only translate.
// Nothing here keeps a fasthttp RequestCtx, or its bytes, after a handler returns.
package gateway

import (
	"context"
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
	"switchboard/adapters/flowbot"
	"switchboard/adapters/messageflow"
	"switchboard/adapters/multiwhats"
	"switchboard/adapters/native"
	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/callbacks"
	"switchboard/gateway/dispatch"
	"switchboard/gateway/queue"
)

// readBufferSize bounds the request line and headers.
const readBufferSize = 64 << 10

// Server is a running gateway.
type Server struct {
	cfg   *config.Config
	log   *slog.Logger
	q     queue.Queue
	disp  *dispatch.Dispatcher
	dir   *directory
	srv   *fasthttp.Server
	ready atomic.Bool

	native      *native.Inbound
	messageflow *messageflow.Inbound
	multiwhats  *multiwhats.Inbound
	wavy        *wavy.Inbound
	flowbot     *flowbot.Inbound
	fb          *flowbotState
	// cb posts status callbacks; nil when no tenant has a callback URL.
	cb *callbacks.Worker
	// tickets are the admin pages' login tickets not used yet.
	tickets tickets
}

// New opens storage and builds the gateway; it does not listen yet.
func New(cfg *config.Config, log *slog.Logger) (*Server, error) {
	q, err := openQueue(cfg, log)
	if err != nil {
		return nil, err
	}
	disp, err := dispatch.New(cfg, q, log)
	if err != nil {
		q.Close()
		return nil, err
	}
	cb, err := newCallbacks(cfg, q, log)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("cannot start callbacks: %w", err)
	}
	s := &Server{
		cfg: cfg, log: log, q: q, disp: disp, dir: newDirectory(cfg),
		native:      native.New(),
		messageflow: messageflow.New(messageflowOptions(cfg)),
		multiwhats:  multiwhats.New(multiwhatsOptions(cfg)),
		wavy:        wavy.New(wavyOptions(cfg)),
		flowbot:     flowbot.New(flowbotOptions(cfg)),
		fb:          newFlowbotState(cfg),
		cb:          cb,
	}
	s.srv = &fasthttp.Server{
		Handler:            s.accessLog(s.router().Handler),
		ErrorHandler:       s.transportError,
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
	s.declareMetrics()
	s.ready.Store(true)
	return s, nil
}

// Serve starts dispatch and serves ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.cb != nil {
		s.cb.Start()
	}
	s.disp.Start()
	s.log.Info("serving", "listen", ln.Addr().String(), "data_dir", s.cfg.DataDir, "version", Version(), "go", GoVersion())
	return s.srv.Serve(ln)
}

// Shutdown stops accepting, lets requests in progress finish, returns in-flight sends to the
// queue and closes storage cleanly.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	errs := []error{s.srv.ShutdownWithContext(ctx)}
	errs = append(errs, s.disp.Stop(ctx))
	if s.cb != nil {
		s.cb.Stop() // after dispatch, whose last changes it then posts on the next start
	}
	errs = append(errs, s.q.Close())
	return errors.Join(errs...)
}

// dialects lists every inbound dialect the listener serves.
func (s *Server) dialects() []adapters.Inbound {
	return []adapters.Inbound{s.messageflow, s.multiwhats, s.wavy, s.flowbot, s.native}
}

func (s *Server) router() *router.Router {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	for _, in := range s.dialects() {
		for _, rt := range in.Routes() {
			h := s.instrument(in.Dialect(), s.handlerFor(in, rt))
			for _, m := range rt.Methods {
				r.Handle(m, rt.Path, h)
			}
		}
	}
	r.GET("/gateway/v1/messages/{id}", s.instrument(native.Dialect, s.messageStatus))
	s.adminRoutes(r)
	s.receiptRoutes(r)
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

// handlerFor is the explicit table of which handler serves which kind of endpoint.
func (s *Server) handlerFor(in adapters.Inbound, rt adapters.Route) fasthttp.RequestHandler {
	param := pathParam(rt.Path)
	switch rt.Op {
	case adapters.OpToken:
		return s.flowbotToken
	case adapters.OpCheckSent:
		return s.flowbotCheckSent
	case adapters.OpStatusQuery:
		return s.wavyStatusQuery
	case adapters.OpStatusList:
		return s.wavyStatusList
	}
	return s.sendHandler(in, rt, param)
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

// dialectFor picks the dialect whose error shape a path outside any route should get,
// by the vendors' own path prefixes.
func (s *Server) dialectFor(path string) adapters.Inbound {
	switch {
	case strings.HasPrefix(path, "/api/v1/"):
		return s.multiwhats
	case strings.HasPrefix(path, "/api/"):
		return s.flowbot
	case strings.HasPrefix(path, "/v1/"):
		return s.wavy
	case strings.HasPrefix(path, "/add_message"), strings.HasPrefix(path, "/webhook/"):
		return s.messageflow
	}
	return s.native
}

func (s *Server) pathError(ctx *fasthttp.RequestCtx, e *canonical.Error) {
	in := s.dialectFor(string(ctx.Path()))
	s.writeError(ctx, in, &adapters.Call{Req: &ctx.Request, Now: time.Now()}, e)
}

// transportError answers what fasthttp rejects before routing: chiefly bodies over the limit.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	e := &canonical.Error{Code: canonical.ErrInvalid, Reason: "cannot read request: " + err.Error()}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		e = &canonical.Error{Code: canonical.ErrTooLarge, Reason: fmt.Sprintf("request body is larger than %d bytes", s.cfg.MaxBodyBytes)}
	}
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
	writeJSON(ctx, 200, []byte(`{"status":"ready"}`))
}

// slogPrinter routes fasthttp's own log lines into slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn(fmt.Sprintf(format, args...), "source", "fasthttp")
}
