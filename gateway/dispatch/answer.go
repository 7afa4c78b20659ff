package dispatch

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Reading an upstream's answer. Once the status line says 2xx the vendor has the message:
// sending it again would send it twice. So the body is read apart from the status line
// (fasthttp's response streaming), and a 2xx whose body cannot be read (longer than
// maxResponseBody, cut off, or trickling past the upstream's timeout) is still sent; what
// is lost is the vendor's id, logged and counted. A non-2xx whose body cannot be read is a
// Retry: without the vendor's codes nothing says the message is at fault.

// bodyPool holds the buffers answers' bodies are read into.
var bodyPool bytebufferpool.Pool

// errBodyTooLarge is the unread reason of an answer over maxResponseBody.
var errBodyTooLarge = fmt.Errorf("the body is over %d bytes", maxResponseBody)

// exchange sends req and reads the answer into resp. err is a transport error: no status
// line came back. unread is set when the status line and headers came but the body could
// not be read whole; resp then has its status and headers and an empty body. Both are nil
// for a complete answer.
func exchange(c *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) (unread, err error) {
	resp.StreamBody = true
	if err = c.DoTimeout(req, resp, timeout); err != nil {
		return nil, err
	}
	stream := resp.BodyStream()
	if stream == nil { // no body (204, 304)
		return nil, nil
	}
	// The connection's read deadline, set from the timeout before the status line was
	// read, still bounds these reads: a trickle ends there. The buffer is pooled: this is
	// every message's path.
	buf := bodyPool.Get()
	defer bodyPool.Put(buf)
	_, err = buf.ReadFrom(io.LimitReader(stream, maxResponseBody+1))
	// Closing before the whole body was read drops the connection instead of pooling it.
	_ = resp.CloseBodyStream()
	switch {
	case err != nil:
		if errors.Is(err, fasthttp.ErrTimeout) || isTimeout(err) {
			err = fmt.Errorf("the body did not arrive within %v", timeout)
		}
		return fmt.Errorf("cannot read the answer's body: %w", err), nil
	case buf.Len() > maxResponseBody:
		return fmt.Errorf("cannot read the answer's body: %w", errBodyTooLarge), nil
	}
	resp.SetBody(buf.B) // copied into the response's own pooled buffer
	return nil, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// unreadResult is the Result of an answer whose body could not be read, given res, the
// adapter's reading of its status and headers alone: for a 2xx, res made Sent whatever it
// says, since the vendor took the message; otherwise a Retry.
func (u *upstream) unreadResult(m *canonical.Message, resp *fasthttp.Response, unread error, res adapters.Result) adapters.Result {
	status := resp.StatusCode()
	if status < 200 || status >= 300 {
		return adapters.Result{Outcome: adapters.Retry, Code: strconv.Itoa(status), Reason: unread.Error()}
	}
	if res.Outcome != adapters.Sent {
		res = adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusSent}
	}
	u.unread.Inc()
	u.log.Warn("upstream took the message but its answer could not be read: recorded sent without the vendor's id",
		"id", m.ID, "upstream", u.name, "status", status, "err", unread)
	return res
}
