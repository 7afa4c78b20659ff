package adaptertest

import (
	"testing"

	"github.com/goccy/go-json"
)

// Hand-written JSON stays in a dialect only where a benchmark beside it shows that it pays
// against goccy/go-json writing the same bytes. CompareJSON is that benchmark's one shape:
// hand and goccy each append one answer or request body to dst, and both must write the
// same bytes.

// MarshalGoccy appends v as goccy/go-json writes it without HTML escaping (the dialects'
// answers keep "<", ">" and "&" as they are).
func MarshalGoccy(dst []byte, v any) []byte {
	b, err := json.MarshalWithOption(v, json.DisableHTMLEscape())
	if err != nil {
		panic("adaptertest: cannot marshal " + err.Error())
	}
	return append(dst, b...)
}

// SameJSON fails the test unless hand and goccy write the same bytes.
func SameJSON(t testing.TB, name string, hand, goccy func(dst []byte) []byte) {
	t.Helper()
	if h, g := hand(nil), goccy(nil); string(h) != string(g) {
		t.Errorf("%s: goccy writes\n%s\nwhere the hand-written code writes\n%s", name, g, h)
	}
}

// CompareJSON benchmarks hand against goccy (sub-benchmarks "hand" and "goccy") once both
// are known to write the same bytes. Besides ns/op (wall time) each reports cpu-ns/op, the
// process's CPU time (user and system, every thread, so garbage collection counts) per
// op: on a machine that other work shares, wall time counts the time the benchmark waited
// for a core, CPU time does not.
func CompareJSON(b *testing.B, hand, goccy func(dst []byte) []byte) {
	SameJSON(b, b.Name(), hand, goccy)
	for _, c := range []struct {
		name string
		fn   func([]byte) []byte
	}{{"hand", hand}, {"goccy", goccy}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var dst []byte
			start, n := cpuTime(), 0
			for b.Loop() {
				dst = c.fn(dst[:0])
				n++
			}
			if cpu := cpuTime() - start; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
			}
		})
	}
}
