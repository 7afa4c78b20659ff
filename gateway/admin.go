package gateway

import (
	"errors"

	"github.com/fasthttp/router"
	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"switchboard/adapters/native"
	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// adminRoutes serves /admin/v1/*, behind the admin Bearer token. With no token configured
// the admin API answers 404, so it is never open by accident.
func (s *Server) adminRoutes(r *router.Router) {
	r.GET("/admin/v1/queue", s.admin(func(ctx *fasthttp.RequestCtx) {
		s.writeValue(ctx, 200, s.q.Stats())
	}))
	r.GET("/admin/v1/upstreams", s.admin(func(ctx *fasthttp.RequestCtx) {
		// The counts are since counters_since (the process's start); /metrics has the same.
		s.writeValue(ctx, 200, map[string]any{"upstreams": s.disp.Upstreams(), "counters_since": s.started})
	}))
	s.deadRoutes(r) // admin_dead.go
	// Profiles for operators (go tool pprof), behind the same token as the rest of admin.
	r.GET("/debug/pprof/{profile:*}", s.admin(pprofhandler.PprofHandler))
	r.GET("/debug/pprof/", s.admin(pprofhandler.PprofHandler))
	r.POST("/admin/v1/dead/{id}/replay", s.admin(func(ctx *fasthttp.RequestCtx) {
		id, _ := ctx.UserValue("id").(string)
		if err := s.q.Replay(id); err != nil {
			s.writeNativeError(ctx, canonical.AsError(err))
			return
		}
		s.log.Info("replayed", "id", id)
		s.writeValue(ctx, 200, map[string]string{"id": id, "status": string(canonical.StatusQueued)})
	}))
}

func (s *Server) admin(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return s.instrument("admin", func(ctx *fasthttp.RequestCtx) {
		if s.cfg.AdminToken == "" {
			s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrNotFound, Reason: "the admin API is disabled (no admin_token)"})
			return
		}
		tok, ok := native.BearerToken(ctx.Request.Header.Peek("Authorization"))
		if !ok || !equalSecret(tok, s.cfg.AdminToken) {
			s.log.Warn("credential refused", "dialect", "admin", "path", string(ctx.Path()), "remote", ctx.RemoteIP().String())
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="switchboard-admin"`)
			s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrUnauthorized, Reason: "a valid admin Bearer token is required"})
			return
		}
		h(ctx)
	})
}

// messageStatus serves GET /gateway/v1/messages/{id}: the message and its status history,
// to the tenant that sent it.
func (s *Server) messageStatus(ctx *fasthttp.RequestCtx) {
	t := s.nativeTenant(ctx)
	if t == nil {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	rec, err := s.q.Get(id)
	if err != nil || rec.Msg.Tenant != t.id {
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			s.writeNativeError(ctx, canonical.AsError(err))
			return
		}
		s.writeNativeError(ctx, queue.ErrNotFound)
		return
	}
	m := rec.Msg
	s.writeValue(ctx, 200, map[string]any{
		"id": m.ID, "status": m.Status, "tenant": m.Tenant, "dialect": m.Dialect, "to": m.To,
		"kind": m.Kind, "attempts": m.Attempts, "upstream": m.Upstream, "upstream_id": m.UpstreamID,
		"last_error": m.LastError, "created_at": m.CreatedAt, "history": rec.History,
	})
}

// nativeTenant is the tenant whose native Bearer token the request carries; without one it
// answers 401 and returns nil.
func (s *Server) nativeTenant(ctx *fasthttp.RequestCtx) *tenant {
	tok, _ := native.BearerToken(ctx.Request.Header.Peek("Authorization"))
	t := s.dir.authenticate(native.Dialect, adaptersBearer(tok))
	if t == nil {
		s.writeNativeError(ctx, errBadCredentials)
	}
	return t
}

func (s *Server) writeValue(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	writeJSON(ctx, status, b)
}

func (s *Server) writeNativeError(ctx *fasthttp.RequestCtx, e *canonical.Error) {
	writeJSON(ctx, e.Code.HTTPStatus(), native.AppendError(nil, e))
}
