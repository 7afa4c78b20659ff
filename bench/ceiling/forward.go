package ceiling

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// forwardBacklog bounds the bodies answered and not yet forwarded; beyond it the durable
// server's answers wait, as a gateway's would at its queue's max depth.
const forwardBacklog = 1 << 20

// Forwarder is the end-to-end reference's delivery side: once the durable server has
// answered, it POSTs the body on to a URL from a fixed number of connections, each body
// once, as soon as a connection is free. With the durable server it is the least a durable
// gateway does end to end (a gateway also routes, retries and records each delivery).
type Forwarder struct {
	client *fasthttp.HostClient
	url    string
	bodies chan []byte
	wg     sync.WaitGroup
	failed atomic.Int64
}

// NewForwarder starts conns senders posting to url.
func NewForwarder(url string, conns int) (*Forwarder, error) {
	uri := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(uri)
	if err := uri.Parse(nil, []byte(url)); err != nil {
		return nil, err
	}
	f := &Forwarder{
		client: &fasthttp.HostClient{Addr: string(uri.Host()), MaxConns: conns,
			ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second},
		url:    url,
		bodies: make(chan []byte, forwardBacklog),
	}
	f.wg.Add(conns)
	for range conns {
		go f.send()
	}
	return f, nil
}

// Forward queues a copy of body for sending.
func (f *Forwarder) Forward(body []byte) {
	f.bodies <- append([]byte(nil), body...)
}

func (f *Forwarder) send() {
	defer f.wg.Done()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetRequestURI(f.url)
	for b := range f.bodies {
		req.SetBodyRaw(b)
		if err := f.client.Do(req, resp); err != nil || resp.StatusCode()/100 != 2 {
			f.failed.Add(1)
		}
	}
}

// Close sends what is queued, stops the senders and returns how many bodies failed.
// Call it once nothing forwards any more.
func (f *Forwarder) Close() int64 {
	close(f.bodies)
	f.wg.Wait()
	return f.failed.Load()
}
