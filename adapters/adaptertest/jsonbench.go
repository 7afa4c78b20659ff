package adaptertest

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Hand-written JSON stays in a dialect only where a benchmark beside it shows that it pays
// against goccy/go-json writing the same bytes. CompareJSON is that benchmark's one shape:
// hand and goccy each append one answer or request body to dst, and both must write the
// same bytes.

// MarshalGoccy appends v as goccy/go-json writes it without HTML escaping (the dialects'
// answers keep "<", ">" and "&" as they are).
func MarshalGoccy(dst []byte, v any) []byte {
	b, err := adapters.MarshalJSON(v)
	if err != nil {
		panic("adaptertest: cannot marshal " + err.Error())
	}
	return append(dst, b...)
}

// SameJSON reports whether hand and goccy write the same bytes, failing the test when not.
func SameJSON(t testing.TB, name string, hand, goccy func(dst []byte) []byte) bool {
	t.Helper()
	if h, g := hand(nil), goccy(nil); string(h) != string(g) {
		t.Errorf("%s: goccy writes\n%s\nwhere the hand-written code writes\n%s", name, g, h)
		return false
	}
	return true
}

// CompareJSON benchmarks hand against goccy (sub-benchmarks "hand" and "goccy") once both
// are known to write the same bytes. Besides ns/op (wall time) each reports cpu-ns/op, the
// process's CPU time (user and system, every thread, so garbage collection counts) per
// op: on a machine that other work shares, wall time counts the time the benchmark waited
// for a core, CPU time does not.
func CompareJSON(b *testing.B, hand, goccy func(dst []byte) []byte) {
	if !SameJSON(b, b.Name(), hand, goccy) {
		b.FailNow()
	}
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
			ReportCPU(b, start, n)
		})
	}
}

// Answer is CompareJSON's hand side for a send's answer: in's Accepted for a batch of m
// alone, answered for TestAccount at Now.
func Answer(in adapters.Inbound, m *canonical.Message) func(dst []byte) []byte {
	call := &adapters.Call{Op: adapters.OpSend, Now: Now, Account: &TestAccount}
	batch := &adapters.Batch{Messages: []*canonical.Message{m}}
	return func(dst []byte) []byte {
		_, dst = in.Accepted(call, batch, dst)
		return dst
	}
}

// Encoded is CompareJSON's hand side for a request body: out's Encode of m into req, the
// body appended to dst.
func Encoded(tb testing.TB, out adapters.Outbound, m *canonical.Message, req *fasthttp.Request) func(dst []byte) []byte {
	return func(dst []byte) []byte {
		if err := out.Encode(m, req); err != nil {
			tb.Fatal(err)
		}
		return append(dst, req.Body()...)
	}
}

// GoccyEncoded is CompareJSON's goccy side for a request body: the value body returns,
// written by goccy and made a request by write (the dialect's own, as Encode makes it), the
// body appended to dst. body should check no more than Encode does.
func GoccyEncoded(req *fasthttp.Request, write func(*fasthttp.Request, []byte), body func() any) func(dst []byte) []byte {
	return func(dst []byte) []byte {
		b, err := adapters.MarshalJSON(body())
		if err != nil {
			panic("adaptertest: cannot marshal " + err.Error())
		}
		write(req, b)
		return append(dst, req.Body()...)
	}
}

// ReportCPU reports the process's CPU time (user and system, every thread) per op since
// start, a CPUTime reading, as cpu-ns/op; nothing where it is not read.
func ReportCPU(b *testing.B, start time.Duration, ops int) {
	if cpu := cpuTime() - start; cpu > 0 && start > 0 && ops > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(ops), "cpu-ns/op")
	}
}

// CPUTime is the CPU time the process has used, user and system; 0 where it is not read.
func CPUTime() time.Duration { return cpuTime() }
