package gateway

import (
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// maxChunkedPaths bounds the paths remembered for chunked requests in progress. A request
// whose body never ends (a client gone mid-body) is forgotten only when its connection's
// next chunked request replaces it; past the bound the table starts again, and an oversize
// chunked body in progress then gets the native error shape instead of its path's.
const maxChunkedPaths = 4096

// chunkedPaths remembers the path of each chunked request while its body is read. fasthttp
// reads a chunked body only after the headers, finds it over max_body_bytes on the way,
// and empties the request before calling the server's ErrorHandler: without this the 413
// could not know its path's dialect. Requests with a Content-Length are refused before
// that (their length is known from the header), so only chunked ones are remembered.
// Keys are the RequestCtx's own header, which fasthttp reuses for the connection's next
// request: the ErrorHandler and the handler find the entry through the same pointer.
type chunkedPaths struct {
	n     atomic.Int32 // entries, so that the common request skips the lock
	mu    sync.Mutex
	paths map[*fasthttp.RequestHeader]string
}

// headerReceived is the server's HeaderReceived hook: it keeps a chunked request's path.
// The zero RequestConfig leaves the server's own limits and timeouts.
func (c *chunkedPaths) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() != -1 { // -1: Transfer-Encoding chunked
		return fasthttp.RequestConfig{}
	}
	c.mu.Lock()
	if c.paths == nil || len(c.paths) >= maxChunkedPaths {
		c.paths = make(map[*fasthttp.RequestHeader]string)
	}
	c.paths[h] = string(h.RequestURI())
	c.n.Store(int32(len(c.paths)))
	c.mu.Unlock()
	return fasthttp.RequestConfig{}
}

// take returns and forgets the path remembered for ctx's request, if any.
func (c *chunkedPaths) take(ctx *fasthttp.RequestCtx) (string, bool) {
	if c.n.Load() == 0 {
		return "", false
	}
	c.mu.Lock()
	p, ok := c.paths[&ctx.Request.Header]
	if ok {
		delete(c.paths, &ctx.Request.Header)
		c.n.Store(int32(len(c.paths)))
	}
	c.mu.Unlock()
	return p, ok
}

// restorePath puts the remembered request URI back into the emptied request, so that the
// error is answered in the shape of the dialect whose path it was.
func (c *chunkedPaths) restorePath(ctx *fasthttp.RequestCtx) {
	if uri, ok := c.take(ctx); ok && len(ctx.Path()) <= 1 {
		ctx.Request.SetRequestURI(uri)
	}
}
