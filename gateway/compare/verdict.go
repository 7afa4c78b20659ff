package compare

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// How B is judged against A, figure by figure.
const (
	// MinSample is the fewest messages (or times) on each side for a figure to be judged.
	MinSample = 30
	// alpha is the significance level of every test (two-sided).
	alpha = 0.05
	// zPower is the normal quantile of 80% power, for the smallest difference a sample of
	// this size would have shown.
	zPower = 0.8416
)

// Judgement is B's standing against A on one figure.
type Judgement int

const (
	TooFew Judgement = iota // not enough data on one side
	Same                    // no significant difference
	Better
	Worse
	NoData // one side has no such times at all: the figure does not apply (no read receipts)
)

// Comparison is one figure, B against A.
type Comparison struct {
	Figure string
	A, B   string // the values, formatted
	Diff   string // B minus A, formatted
	Judgement
	// Words says it all in a sentence: the difference, the test and whether the sample
	// is large enough.
	Words string
}

type rate struct {
	name         string
	num, den     func(*Figures) uint64
	higherBetter bool
}

var rates = []rate{
	{"acceptance rate (accepted / attempts)", func(f *Figures) uint64 { return f.Accepted }, (*Figures).Attempts, true},
	{"refusal rate (refused / attempts)", func(f *Figures) uint64 { return f.Refused }, (*Figures).Attempts, false},
	{"retry rate (retries / attempts)", func(f *Figures) uint64 { return f.Retries }, (*Figures).Attempts, false},
	{"failover rate (failovers / attempts)", func(f *Figures) uint64 { return f.Failovers }, (*Figures).Attempts, false},
	{"dead-letter rate (dead / attempts)", func(f *Figures) uint64 { return f.Dead }, (*Figures).Attempts, false},
	{"delivery rate (delivered / accepted)", func(f *Figures) uint64 { return f.Delivered }, func(f *Figures) uint64 { return f.Accepted }, true},
	{"read rate (read / accepted)", func(f *Figures) uint64 { return f.Read }, func(f *Figures) uint64 { return f.Accepted }, true},
	{"failure after acceptance (failed / accepted)", func(f *Figures) uint64 { return f.Failed }, func(f *Figures) uint64 { return f.Accepted }, false},
}

var times = []struct {
	name string
	t    Time
}{
	{"time to acceptance", TimeAcceptance},
	{"time to delivery", TimeDelivery},
	{"time to read", TimeRead},
}

// Compare judges B against A on every figure: rates by a two-proportion z-test, times by a
// Mann-Whitney U test on the binned times (normal approximation), both two-sided at 5%.
func Compare(a, b *Figures) []Comparison {
	var out []Comparison
	for _, r := range rates {
		out = append(out, compareRate(r, a, b))
	}
	for _, t := range times {
		out = append(out, compareTime(t.name, t.t, a, b))
	}
	return out
}

func compareRate(r rate, a, b *Figures) Comparison {
	xa, na, xb, nb := r.num(a), r.den(a), r.num(b), r.den(b)
	c := Comparison{Figure: r.name, A: pct(xa, na), B: pct(xb, nb)}
	if na < MinSample || nb < MinSample {
		c.Words = fmt.Sprintf("too few to say: %d and %d messages, at least %d each needed", na, nb, MinSample)
		return c
	}
	pa, pb := float64(xa)/float64(na), float64(xb)/float64(nb)
	c.Diff = fmt.Sprintf("%+.1f points", 100*(pb-pa))
	pool := float64(xa+xb) / float64(na+nb)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(na) + 1/float64(nb)))
	if se == 0 {
		c.Judgement = Same
		c.Words = fmt.Sprintf("the same on %d and %d messages", na, nb)
		return c
	}
	z := (pb - pa) / se
	p := math.Erfc(math.Abs(z) / math.Sqrt2)
	if p >= alpha {
		c.Judgement = Same
		c.Words = fmt.Sprintf("no significant difference (two-proportion z-test, p = %.2f); with %d and %d messages a difference under %.1f points could go unseen",
			p, na, nb, 100*(1.959964+zPower)*se)
		return c
	}
	c.Judgement = Worse
	if (pb > pa) == r.higherBetter {
		c.Judgement = Better
	}
	c.Words = fmt.Sprintf("B is %s by %.1f points (two-proportion z-test, %s, %d and %d messages)",
		c.Judgement.word(), 100*math.Abs(pb-pa), pValue(p), na, nb)
	return c
}

func compareTime(name string, t Time, a, b *Figures) Comparison {
	ha, hb := &a.times[t], &b.times[t]
	na, nb := ha.count(), hb.count()
	c := Comparison{Figure: name + " (p50 / p90 / p99)", A: triple(ha), B: triple(hb)}
	if na == 0 || nb == 0 { // a vendor that posts no such receipts cannot be compared on them
		c.Judgement, c.Words = NoData, fmt.Sprintf("cannot compare: %d and %d times (one side posts no such receipts)", na, nb)
		return c
	}
	if na < MinSample || nb < MinSample {
		c.Words = fmt.Sprintf("too few to say: %d and %d times, at least %d each needed", na, nb, MinSample)
		return c
	}
	c.Diff = "p50 " + signed(hb.quantile(.5)-ha.quantile(.5))
	// U counts the pairs (a, b) with b > a, a tie (same bucket) counting half.
	var u, below float64
	for i := range hb.n {
		u += float64(hb.n[i]) * (below + float64(ha.n[i])/2)
		below += float64(ha.n[i])
	}
	fa, fb := float64(na), float64(nb)
	z := (u - fa*fb/2) / math.Sqrt(fa*fb*(fa+fb+1)/12)
	p := math.Erfc(math.Abs(z) / math.Sqrt2)
	if p >= alpha {
		c.Judgement = Same
		c.Words = fmt.Sprintf("no significant difference (Mann-Whitney U, p = %.2f, %d and %d times)", p, na, nb)
		return c
	}
	c.Judgement = Better
	if z > 0 { // B's times tend to be longer
		c.Judgement = Worse
	}
	c.Words = fmt.Sprintf("B is %s: %s at the median (Mann-Whitney U, %s, %d and %d times)",
		map[Judgement]string{Better: "faster", Worse: "slower"}[c.Judgement], c.Diff[len("p50 "):], pValue(p), na, nb)
	return c
}

// Verdict answers "is B at least as good as A" in a sentence.
func Verdict(a, b string, cs []Comparison) string {
	var worse, better, few []string
	judged := 0
	for _, c := range cs {
		if c.Judgement != NoData {
			judged++
		}
		switch c.Judgement {
		case Worse:
			worse = append(worse, c.Figure)
		case Better:
			better = append(better, c.Figure)
		case TooFew:
			few = append(few, c.Figure)
		}
	}
	switch {
	case len(worse) > 0:
		return fmt.Sprintf("No: %s is worse than %s on %s.", b, a, strings.Join(worse, "; "))
	case len(few) == judged:
		return fmt.Sprintf("Too early to say: fewer than %d messages on one side for every figure.", MinSample)
	case len(few) > 0:
		return fmt.Sprintf("So far yes: %s is at least as good as %s on every figure with enough data (better on %d), but %d figures have too few messages yet: %s.",
			b, a, len(better), len(few), strings.Join(few, "; "))
	}
	return fmt.Sprintf("Yes: %s is at least as good as %s on every figure, and better on %d of %d.", b, a, len(better), judged)
}

func (j Judgement) word() string {
	return [...]string{"too few to say", "the same", "better", "worse", "no data"}[j]
}

// String is the judgement in a word or two.
func (j Judgement) String() string { return j.word() }

func pct(x, n uint64) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*float64(x)/float64(n), x, n)
}

func triple(h *hist) string {
	if h.count() == 0 {
		return "–"
	}
	return Millis(h.quantile(.5)) + " / " + Millis(h.quantile(.9)) + " / " + Millis(h.quantile(.99))
}

// Millis formats a duration in milliseconds (seconds past ten of them).
func Millis(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + Millis(d)
	}
	return "−" + Millis(-d)
}

func pValue(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return fmt.Sprintf("p = %.3f", p)
}

// Class is the judgement as one word, for markup: toofew, same, better, worse, nodata.
func (j Judgement) Class() string {
	return [...]string{"toofew", "same", "better", "worse", "nodata"}[j]
}
