package main

import (
	"strings"
	"testing"
)

// TestTargetsAgainstReferences: each target is read against its reference of the same run,
// met just at the target and missed just below it.
func TestTargetsAgainstReferences(t *testing.T) {
	runs := func(acceptRef, e2eRef, e2eP99 float64, backlog int64, always float64) []run {
		var rs []run
		for i := range 3 {
			rs = append(rs, run{
				N:       i + 1,
				Ceiling: phase{OKPerS: 40000},
				Durable: phase{OKPerS: 20000},
				Accept:  map[string]phase{"native": {OKPerS: 10000, RefRatio: acceptRef}},
				E2E:     phase{OKPerS: 8000, Delivered: 8000, RefRatio: e2eRef, P99Ms: e2eP99, Backlog: backlog},
				E2ERef:  phase{Delivered: 10000},
				JetStream: &jsRun{
					AcceptAlways: phase{OKPerS: always},
				},
			})
		}
		return rs
	}
	verdicts := func(rs []run) map[string]string {
		got := map[string]string{}
		for _, r := range runRows(options{dialects: []string{"native"}}, rs) {
			switch {
			case strings.HasPrefix(r.Figure, "durable accepts, native"):
				got["accepts"] = r.Verdict
			case strings.HasPrefix(r.Figure, "end to end, delivered"):
				got["e2e"] = r.Verdict
			case r.Figure == "end to end, accepted meanwhile":
				got["p99"] = r.Verdict
			case strings.Contains(r.Figure, "sync_interval: always"):
				got["jetstream"] = r.Verdict
			}
		}
		return got
	}
	met := verdicts(runs(0.85, 0.75, 10, 8000, 5000))
	for _, k := range []string{"accepts", "e2e", "p99", "jetstream"} {
		if met[k] != "met" {
			t.Errorf("%s at its target: %q, want met (%v)", k, met[k], met)
		}
	}
	missed := verdicts(runs(0.84, 0.74, 10.1, 1, 4999))
	for _, k := range []string{"accepts", "e2e", "p99", "jetstream"} {
		if missed[k] != "**missed**" {
			t.Errorf("%s below its target: %q, want missed (%v)", k, missed[k], missed)
		}
	}
	if v := verdicts(runs(0.9, 0.9, 5, 8001, 6000))["e2e"]; v != "**missed**" {
		t.Errorf("end to end with more than a second's worth left queued: %q, want missed", v)
	}
}
