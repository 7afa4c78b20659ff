package compare

import (
	"strconv"
	"testing"
	"time"

	"switchboard/canonical"
)

// BenchmarkAcceptedAndReceipt is what a message costs the comparison on the hot path: its
// acceptance and its delivery receipt, from parallel senders.
func BenchmarkAcceptedAndReceipt(b *testing.B) {
	r := New()
	s := r.Series(Key{"route", "bench", ArmPrimary})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			id := strconv.Itoa(i)
			s.Accepted(time.Now(), id, "")
			r.Receipt("bench", id, "", canonical.StatusDelivered, "", "")
		}
	})
}
