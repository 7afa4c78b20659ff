package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/gateway"
)

// againstTimeout bounds the dry-run request of check -against.
const againstTimeout = 10 * time.Second

// checkAgainst asks a running gateway what a reload of the file at path would change
// (POST /admin/v1/reload?dry_run=true with the file as the body: the gateway reads it
// with its own environment and applies nothing) and prints the answer.
func checkAgainst(path, base, token string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "cannot read config: %v\n", err)
		return 1
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(strings.TrimSuffix(base, "/") + "/admin/v1/reload?dry_run=true")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.SetContentType("application/yaml")
	req.SetBody(data)
	if err := fasthttp.DoTimeout(req, resp, againstTimeout); err != nil {
		fmt.Fprintf(stderr, "cannot ask %s: %v\n", base, err)
		return 1
	}
	var res gateway.ReloadResult
	if err := json.Unmarshal(resp.Body(), &res); err != nil {
		fmt.Fprintf(stderr, "%s answered %d: %s\n", base, resp.StatusCode(), resp.Body())
		return 1
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stderr, p)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return 1
	}
	line := func(what string, names []string) {
		if len(names) > 0 {
			fmt.Fprintf(stdout, "%s: %s\n", what, strings.Join(names, ", "))
		}
	}
	line("sections changed", res.Changed)
	line("upstreams added", res.Upstreams.Added)
	line("upstreams changed (rebuilt: breaker closed, counters from zero)", res.Upstreams.Changed)
	line("upstreams removed", res.Upstreams.Removed)
	line("upstreams kept as they are", res.Upstreams.Kept)
	line("needs a restart (a reload keeps the running value)", res.NotLive)
	if len(res.Changed) == 0 {
		fmt.Fprintln(stdout, "no change")
	}
	return 0
}
