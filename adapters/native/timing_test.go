package native

import (
	"testing"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
)

// The load generator's native send: a recipient and a text with its timing marker.
const benchSend = `{"to":"972501234567","text":"sbt=0a1b2c3d.42.1765130000000000000 abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"}`

func BenchmarkDecode(b *testing.B) {
	in := New()
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI("/gateway/v1/messages")
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer native-demo-token")
	req.SetBodyString(benchSend)
	call := &adapters.Call{Op: adapters.OpSend, Req: req, Now: adaptertest.Now, Account: &adaptertest.TestAccount}
	var batch adapters.Batch
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSend)))
	start, n := adaptertest.CPUTime(), 0
	for b.Loop() {
		batch.Reset()
		if err := in.Decode(call, &batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	adaptertest.ReportCPU(b, start, n)
}
