package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// wrkResult is what wrk reports of one run.
type wrkResult struct {
	Requests int64   `json:"requests"` // answered
	Non2xx   int64   `json:"non_2xx"`
	SockErrs int64   `json:"socket_errors"`
	Seconds  float64 `json:"seconds"`
	OKPerS   float64 `json:"ok_per_sec"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m)\b`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$`)
)

// toMs converts a wrk figure with its unit to milliseconds.
func toMs(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "us":
		return f / 1000
	case "s":
		return f * 1000
	case "m":
		return f * 60000
	}
	return f
}

// parseWrk reads wrk's text output (run with --latency).
func parseWrk(out []byte) (wrkResult, error) {
	var r wrkResult
	m := wrkTotal.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("cannot parse wrk output: no request total in %q", out)
	}
	r.Requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
	r.Seconds = toMs(string(m[2]), string(m[3])) / 1000
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := wrkSockErr.FindSubmatch(out); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(string(v), 10, 64)
			r.SockErrs += n
		}
	}
	for _, m := range wrkPct.FindAllSubmatch(out, -1) {
		ms := toMs(string(m[2]), string(m[3]))
		if string(m[1]) == "50" {
			r.P50Ms = ms
		} else {
			r.P99Ms = ms
		}
	}
	if r.Seconds > 0 {
		r.OKPerS = float64(r.Requests-r.Non2xx) / r.Seconds
	}
	return r, nil
}

// runWrk drives url with script for d from connections connections (two threads: the
// machine's cores are shared with the server), and returns wrk's own CPU time in seconds.
func runWrk(ctx context.Context, script, url string, connections int, d time.Duration) (wrkResult, float64, error) {
	secs := max(int(d/time.Second), 1)
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(connections), "-d"+strconv.Itoa(secs)+"s",
		"--timeout", "10s", "--latency", "-s", script, url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, 0, fmt.Errorf("wrk: %w: %s", err, out.Bytes())
	}
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	r, err := parseWrk(out.Bytes())
	return r, cpu, err
}
