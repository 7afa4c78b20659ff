package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/canonical"
)

// A browser cannot send the admin Bearer token, so the admin pages also take a session
// cookie: signed with the admin token (HMAC-SHA256, checked in constant time), HttpOnly,
// SameSite=Strict, limited to /admin. It is set by the login form, or by a one-time ticket
// (for tools that can only open a URL, such as a headless browser), which the Bearer token
// asks for. Changing the admin token ends every session.
const (
	sessionCookie = "switchboard_admin"
	// sessionTTL is how long a login lasts.
	sessionTTL = 12 * time.Hour
	// ticketTTL is how long a login ticket may wait before it is used, once.
	ticketTTL = time.Minute
	// maxTickets bounds the tickets waiting to be used.
	maxTickets = 1024
)

// tickets are the login tickets not used yet, by nonce, with their expiry.
type tickets struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// sign is the MAC of what under the admin token.
func (s *Server) sign(what string) string {
	mac := hmac.New(sha256.New, []byte(s.cfg.AdminToken))
	mac.Write([]byte(what))
	return hex.EncodeToString(mac.Sum(nil))
}

// signed is value.expiry.mac; valid reports whether v is one, unexpired, for kind.
func (s *Server) signed(kind, value string, expiry time.Time) string {
	body := value + "." + strconv.FormatInt(expiry.Unix(), 10)
	return body + "." + s.sign(kind+"|"+body)
}

func (s *Server) valid(kind, v string, now time.Time) (value string, ok bool) {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return "", false
	}
	body, mac := v[:i], v[i+1:]
	if !hmac.Equal([]byte(mac), []byte(s.sign(kind+"|"+body))) {
		return "", false
	}
	j := strings.LastIndexByte(body, '.')
	exp, err := strconv.ParseInt(body[j+1:], 10, 64)
	if j < 0 || err != nil || now.Unix() >= exp {
		return "", false
	}
	return body[:j], true
}

// pageAuth lets through a request with a session cookie, or else with the admin Bearer token
// (as the admin API does); a browser with neither is sent to the login form.
func (s *Server) pageAuth(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	withToken := s.admin(h)
	withCookie := s.instrument("admin", h)
	toLogin := s.instrument("admin", func(ctx *fasthttp.RequestCtx) { ctx.Redirect("/admin/login", fasthttp.StatusSeeOther) })
	return func(ctx *fasthttp.RequestCtx) {
		switch {
		case s.cfg.AdminToken == "" || len(ctx.Request.Header.Peek("Authorization")) > 0:
			withToken(ctx)
		case s.hasSession(ctx):
			withCookie(ctx)
		default:
			toLogin(ctx)
		}
	}
}

func (s *Server) hasSession(ctx *fasthttp.RequestCtx) bool {
	_, ok := s.valid("session", string(ctx.Request.Header.Cookie(sessionCookie)), time.Now())
	return ok
}

// loginForm serves GET /admin/login: the form, or, with ?ticket=, the session the ticket
// stands for.
func (s *Server) loginForm(ctx *fasthttp.RequestCtx) {
	if t := ctx.QueryArgs().Peek("ticket"); len(t) > 0 {
		nonce, ok := s.valid("ticket", string(t), time.Now())
		if ok && s.useTicket(nonce) {
			s.startSession(ctx)
			return
		}
		s.log.Warn("credential refused", "dialect", "admin", "path", string(ctx.Path()), "remote", ctx.RemoteIP().String(), "reason", "login ticket invalid, expired or used")
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
	}
	writeHTML(ctx, ctx.Response.StatusCode(), loginPage)
}

// login serves POST /admin/login with the form's token.
func (s *Server) login(ctx *fasthttp.RequestCtx) {
	if s.cfg.AdminToken != "" && equalSecret(string(ctx.PostArgs().Peek("token")), s.cfg.AdminToken) {
		s.startSession(ctx)
		return
	}
	s.log.Warn("credential refused", "dialect", "admin", "path", string(ctx.Path()), "remote", ctx.RemoteIP().String())
	writeHTML(ctx, fasthttp.StatusUnauthorized, loginPage)
}

func (s *Server) startSession(ctx *fasthttp.RequestCtx) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(sessionCookie)
	c.SetValue(s.signed("session", "admin", time.Now().Add(sessionTTL)))
	c.SetPath("/admin")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetMaxAge(int(sessionTTL / time.Second))
	ctx.Response.Header.SetCookie(c)
	ctx.Redirect(migrationPath, fasthttp.StatusSeeOther)
}

// loginTicket serves POST /admin/v1/login-ticket (Bearer): a URL that logs a browser in once
// within a minute.
func (s *Server) loginTicket(ctx *fasthttp.RequestCtx) {
	var b [16]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	exp := time.Now().Add(ticketTTL)
	s.tickets.mu.Lock()
	now := time.Now()
	for n, e := range s.tickets.m {
		if now.After(e) {
			delete(s.tickets.m, n)
		}
	}
	full := len(s.tickets.m) >= maxTickets
	if !full {
		if s.tickets.m == nil {
			s.tickets.m = map[string]time.Time{}
		}
		s.tickets.m[nonce] = exp
	}
	s.tickets.mu.Unlock()
	if full {
		s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrTooMany, Reason: "too many login tickets waiting", RetryAfter: ticketTTL})
		return
	}
	s.writeValue(ctx, 200, map[string]string{"url": "/admin/login?ticket=" + s.signed("ticket", nonce, exp)})
}

func (s *Server) useTicket(nonce string) bool {
	s.tickets.mu.Lock()
	defer s.tickets.mu.Unlock()
	_, ok := s.tickets.m[nonce]
	delete(s.tickets.m, nonce)
	return ok
}

func writeHTML(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	ctx.SetBody(body)
}

var loginPage = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard: sign in</title>
<style>body{font:15px system-ui,sans-serif;margin:3em auto;max-width:28em}input{font:inherit;padding:.3em;width:100%}</style></head>
<body><h1>Switchboard</h1><form method="post" action="/admin/login">
<p><label for="token">Admin token</label><br><input id="token" name="token" type="password" autocomplete="current-password" autofocus></p>
<p><button type="submit">Sign in</button></p></form></body></html>
`)
