package dispatch

import (
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
)

// tokenRefreshMargin renews a cached upstream token this long before it expires, so no
// request goes out with a token about to lapse in flight.
const tokenRefreshMargin = time.Minute

// tokenCache holds an Authenticator upstream's token (FlowBot's JWT): fetched once, shared by
// every sender, renewed shortly before it expires or when the upstream answers 401.
type tokenCache struct {
	auth adapters.Authenticator

	mu      sync.Mutex
	value   string
	expires time.Time
}

// get returns a valid token, fetching one if needed; one fetch serves all waiting senders.
func (t *tokenCache) get(u *upstream, now time.Time) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value != "" && now.Add(tokenRefreshMargin).Before(t.expires) {
		return t.value, nil
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	t.auth.EncodeToken(req)
	if err := u.client.DoTimeout(req, resp, u.timeout); err != nil {
		return "", errors.New("cannot get a token: " + err.Error())
	}
	tok, exp, err := t.auth.ParseToken(resp, now)
	if err != nil {
		return "", err
	}
	t.value, t.expires = tok, exp
	return tok, nil
}

// drop forgets a token the upstream refused.
func (t *tokenCache) drop(tok string) {
	t.mu.Lock()
	if t.value == tok {
		t.value = ""
	}
	t.mu.Unlock()
}
