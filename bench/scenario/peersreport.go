package main

import (
	"bytes"
	"fmt"
	"time"
)

// peerTable compares the medians: Switchboard over Kannel, under the same wrk load.
func peerTable(runs []peerRun) table {
	med := func(f func(peerRun) float64) float64 {
		var xs []float64
		for _, r := range runs {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	ceil := med(func(r peerRun) float64 { return r.Ceiling.OKPerS })
	cell := func(f func(peerRun) peerPhase, e2e bool) (string, float64) {
		if e2e {
			v := med(func(r peerRun) float64 { return f(r).Delivered })
			return fmt.Sprintf("%s (%.2f× ceiling; %.1f%% after drain)", rate(v), v/ceil,
				100*med(func(r peerRun) float64 { return f(r).DelRatio })), v
		}
		v := med(func(r peerRun) float64 { return f(r).OKPerS })
		return fmt.Sprintf("%s (%.2f× ceiling; p50 %.2f ms, p99 %.2f ms; %.2f cores)", rate(v), v/ceil,
			med(func(r peerRun) float64 { return f(r).P50Ms }), med(func(r peerRun) float64 { return f(r).P99Ms }),
			med(func(r peerRun) float64 { return f(r).ServerCPU })), v
	}
	kAcc, kv := cell(func(r peerRun) peerPhase { return r.Kannel }, false)
	kE2E, ke := cell(func(r peerRun) peerPhase { return r.KannelE2E }, true)
	nAcc, nv := cell(func(r peerRun) peerPhase { return r.Native }, false)
	wAcc, wv := cell(func(r peerRun) peerPhase { return r.Wavy }, false)
	iAcc, iv := cell(func(r peerRun) peerPhase { return r.Interval }, false)
	nE2E, ne := cell(func(r peerRun) peerPhase { return r.NativeE2E }, true)
	x := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return table{
		head: []string{"figure", "Switchboard", "Kannel", "Switchboard ÷ Kannel", "target", ""},
		rows: [][]string{
			{"durable accepts, native POST vs sendsms GET", nAcc, kAcc, fmt.Sprintf("%.1f×", x(nv, kv)), "≥ 5×", verdict(x(nv, kv) >= 5)},
			{"durable accepts, Wavy GET vs sendsms GET", wAcc, kAcc, fmt.Sprintf("%.1f×", x(wv, kv)), "≥ 5×", verdict(x(wv, kv) >= 5)},
			{"end to end, delivered during the load", nE2E, kE2E, fmt.Sprintf("%.1f×", x(ne, ke)), "≥ 7×", verdict(x(ne, ke) >= 7)},
			{"accepts without fsync (Switchboard durability: interval), native POST vs sendsms GET", iAcc, kAcc, fmt.Sprintf("%.1f×", x(iv, kv)), "", ""},
			{"ceiling (wrk, constant answer)", rate(ceil), "", "", "", ""},
		},
	}
}

func peersText(o options, info string, runs []peerRun, took time.Duration) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Measured by `make bench-peers` on %s.\n", info)
	fmt.Fprintf(&b, "wrk -t2 -c%d on loopback against each; %d runs, medians; accepts %s with the upstream down "+
		"(Kannel's SMSC and Switchboard's upstream refuse connections, so messages wait in the store/queue), "+
		"end to end %s to a local sink; took %s.\n\n", o.connections, o.runs, o.duration, o.e2eDuration, took.Round(time.Second))
	peerTable(runs).markdown(&b)
	b.WriteString("\nEvery run (ok/s; end to end: delivered/s during the load; in brackets the cores used by the server / by everything else on the machine):\n\n")
	b.WriteString("| run | ceiling | Kannel accept | Kannel e2e | Switchboard native | Switchboard Wavy GET | Switchboard native, interval | Switchboard e2e |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		c := func(p peerPhase, v float64) string {
			return fmt.Sprintf("%s (%.2f / %.2f)", rate(v), p.ServerCPU, p.OtherCPU)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", r.N, c(r.Ceiling, r.Ceiling.OKPerS),
			c(r.Kannel, r.Kannel.OKPerS), c(r.KannelE2E, r.KannelE2E.Delivered), c(r.Native, r.Native.OKPerS),
			c(r.Wavy, r.Wavy.OKPerS), c(r.Interval, r.Interval.OKPerS), c(r.NativeE2E, r.NativeE2E.Delivered))
	}
	b.WriteString("\nKannel's store file is written but never fsync'd (checked with strace: no fsync, fdatasync or msync in bearerbox " +
		"while it accepts), while Switchboard with `durability: always` fsyncs (group-committed) before every answer; " +
		"the interval row gives Switchboard Kannel's durability. A delivered ratio a little over 100% is wrk's: " +
		"it does not count the requests still in flight when it stops.\n")
	return b.String()
}
