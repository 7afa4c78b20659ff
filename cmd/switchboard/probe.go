package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// probe is a health check for images with no shell or curl (FROM scratch): GET url, exit
// 0 on a 2xx answer, 1 otherwise.
func probe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "the URL to GET")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if fs.Parse(args) != nil {
		return 2
	}
	code, body, err := fasthttp.GetTimeout(nil, *url, *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "cannot probe %s: %v\n", *url, err)
		return 1
	}
	if code < 200 || code > 299 {
		fmt.Fprintf(stderr, "%s answered %d: %s\n", *url, code, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", body)
	return 0
}
