package dispatch

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"
	"golang.org/x/net/http/httpproxy"
)

// proxyDirect is the upstream proxy setting that ignores the environment.
const proxyDirect = "direct"

// proxyDial is the dialer of an upstream's connections: through its own proxy, through
// the environment's (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as Go's net/http reads them), or
// nil, fasthttp's own direct dialer. Corporate networks often reach vendors only through
// a proxy.
func proxyDial(proxy string, isTLS bool, timeout time.Duration) (fasthttp.DialFunc, error) {
	d := &fasthttpproxy.Dialer{Timeout: timeout, ConnectTimeout: timeout}
	useEnv := proxy == ""
	switch {
	case proxy == proxyDirect:
		return nil, nil
	case useEnv:
		if env := httpproxy.FromEnvironment(); env.HTTPProxy == "" && env.HTTPSProxy == "" {
			return nil, nil
		}
	default:
		d.Config = httpproxy.Config{HTTPProxy: proxy, HTTPSProxy: proxy}
	}
	dial, err := d.GetDialFuncForTLS(useEnv, isTLS)
	if err != nil {
		return nil, fmt.Errorf("cannot use proxy: %w", err)
	}
	return dial, nil
}
