// Package ceiling is the reference server for load tests: it answers every
// request with a constant small JSON body and does nothing else, so the
// generator's figures against it are the most this machine, client and HTTP
// stack can do. A gateway result is read as a fraction of this ceiling.
// It must never do work per request beyond answering. The durable reference
// (NewDurableServer) adds only what an answer given after an fsync needs: an
// append to a file and a group-committed fdatasync.
package ceiling

import (
	"net"

	"github.com/valyala/fasthttp"
)

// Body is the answer to every request.
var Body = []byte(`{"success":true}`)

// Handler answers any request with Body.
func Handler(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBody(Body)
}

// NewServer returns the server; callers may Serve it on their own listener.
func NewServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       Handler,
		Name:                          "switchboard-ceiling",
		NoDefaultDate:                 true,
		DisableHeaderNamesNormalizing: true,
	}
}

// Serve listens on addr and answers until the listener fails.
func Serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return NewServer().Serve(ln)
}
