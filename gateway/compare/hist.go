package compare

import (
	"math"
	"time"
)

// hist is a log-scale histogram of durations for the page's percentiles: bucket i holds
// values up to histBase·2^(i/histPerOctave), so a percentile read from it is within 9% of
// the true value. It is small and fixed so that a minute of one series costs little.
const (
	histBase      = time.Millisecond
	histPerOctave = 4
	histBuckets   = 96 // up to histBase·2^24, about 4.7 hours; longer lands in the last
)

type hist struct{ n [histBuckets]uint32 }

func bucketOf(d time.Duration) int {
	if d <= histBase {
		return 0
	}
	i := int(math.Ceil(histPerOctave * math.Log2(float64(d)/float64(histBase))))
	return min(i, histBuckets-1)
}

// upper is bucket i's upper bound.
func upper(i int) time.Duration {
	return time.Duration(float64(histBase) * math.Exp2(float64(i)/histPerOctave))
}

func (h *hist) add(d time.Duration) { h.n[bucketOf(d)]++ }

func (h *hist) merge(o *hist) {
	for i, n := range o.n {
		h.n[i] += n
	}
}

func (h *hist) count() uint64 {
	var c uint64
	for _, n := range h.n {
		c += uint64(n)
	}
	return c
}

// quantile estimates the q-th quantile (0 < q <= 1) as the geometric middle of its bucket;
// 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var c uint64
	for i, n := range h.n {
		c += uint64(n)
		if c >= max(rank, 1) {
			if i == 0 {
				return histBase / 2
			}
			return time.Duration(math.Sqrt(float64(upper(i-1)) * float64(upper(i))))
		}
	}
	return upper(histBuckets - 1)
}
