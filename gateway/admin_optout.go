package gateway

import (
	"strconv"
	"time"

	"github.com/fasthttp/router"
	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
)

// The admin API's opt-out lists (optout.go):
//
//	GET    /admin/v1/opt-outs[?tenant=]           the entries, by tenant and number
//	POST   /admin/v1/opt-outs                     {"tenant":"acme","number":"+55..."}: add
//	DELETE /admin/v1/opt-outs/{tenant}/{number}   take a number off
func (s *Server) optOutRoutes(r *router.Router) {
	r.GET("/admin/v1/opt-outs", s.admin(func(ctx *fasthttp.RequestCtx) {
		list := s.optOuts.List(string(ctx.QueryArgs().Peek("tenant")))
		if list == nil {
			list = []OptOut{}
		}
		s.writeValue(ctx, 200, map[string]any{"opt_outs": list, "count": len(list)})
	}))
	r.POST("/admin/v1/opt-outs", s.admin(s.addOptOut))
	r.DELETE("/admin/v1/opt-outs/{tenant}/{number}", s.admin(s.removeOptOut))
}

func (s *Server) addOptOut(ctx *fasthttp.RequestCtx) {
	var in struct {
		Tenant string `json:"tenant"`
		Number string `json:"number"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &in); err != nil {
		s.writeNativeError(ctx, canonical.Invalid("body", "cannot parse JSON: %v", err))
		return
	}
	number, e := s.optOutNumber(in.Tenant, in.Number)
	if e != nil {
		s.writeNativeError(ctx, e)
		return
	}
	v := OptOut{Tenant: in.Tenant, Number: number, At: time.Now().UTC(), Source: "admin"}
	if err := s.optOuts.Add(v); err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	s.log.Info("opted out", "tenant", v.Tenant, "source", "admin")
	s.writeValue(ctx, 200, v)
}

func (s *Server) removeOptOut(ctx *fasthttp.RequestCtx) {
	tenant, _ := ctx.UserValue("tenant").(string)
	raw, _ := ctx.UserValue("number").(string)
	number, e := s.optOutNumber(tenant, raw)
	if e != nil {
		s.writeNativeError(ctx, e)
		return
	}
	removed, err := s.optOuts.Remove(tenant, number)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	if !removed {
		s.writeNativeError(ctx, canonical.Errorf(canonical.ErrNotFound, "%s is not on tenant %s's opt-out list", number, strconv.Quote(tenant)))
		return
	}
	s.log.Info("opted in", "tenant", tenant, "source", "admin")
	s.writeValue(ctx, 200, map[string]any{"tenant": tenant, "number": number, "removed": true})
}

// optOutNumber checks the tenant and writes the number as messages' recipients are written
// (the tenant's default country code for a local number).
func (s *Server) optOutNumber(tenant, raw string) (string, *canonical.Error) {
	t := s.cfg.Tenant(tenant)
	if t == nil {
		return "", canonical.Invalid("tenant", "no tenant %s", strconv.Quote(tenant))
	}
	return phoneArg("number", raw, t.DefaultCountryCode)
}
