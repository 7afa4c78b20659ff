package compare

import (
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

func TestHistQuantileWithinItsBucket(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * 100 * time.Microsecond) // 0.1 ms .. 100 ms, uniform
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{.5, 50 * time.Millisecond}, {.9, 90 * time.Millisecond}, {.99, 99 * time.Millisecond}} {
		got := h.quantile(c.q)
		if ratio := float64(got) / float64(c.want); ratio < 0.9 || ratio > 1.1 {
			t.Errorf("p%v = %v, want %v within 10%%", c.q*100, got, c.want)
		}
	}
	if (&hist{}).quantile(.5) != 0 {
		t.Error("an empty histogram has a quantile")
	}
}

// A mirror copy's receipt is found by its own id and said to be the mirror's; the primary's
// by the vendor's id; a receipt names the upstream it came from; each outcome counts once
// and read implies delivered.
func TestReceiptsMatchTheirSend(t *testing.T) {
	r, clock := stoppedClock()
	now := func() time.Time { return *clock }
	a := r.Series(Key{"route", "a", ArmPrimary})
	b := r.Series(Key{"route", "b", ArmMirror})
	a.Accepted(now().Add(-time.Second), "msg-1", "vendor-a-1")
	b.Accepted(now().Add(-time.Second), "copy-1", "vendor-b-1")
	*clock = now().Add(2 * time.Second)

	if found, mirror := r.Receipt("b", "copy-1", "", canonical.StatusRead, "", ""); !found || !mirror {
		t.Errorf("mirror receipt by our id: found %v mirror %v", found, mirror)
	}
	if found, mirror := r.Receipt("a", "", "vendor-a-1", canonical.StatusDelivered, "", ""); !found || mirror {
		t.Errorf("primary receipt by the vendor's id: found %v mirror %v", found, mirror)
	}
	r.Receipt("a", "", "vendor-a-1", canonical.StatusDelivered, "", "") // a repeat
	if found, _ := r.Receipt("b", "msg-1", "", canonical.StatusDelivered, "", ""); found {
		t.Error("a receipt from b matched a's send")
	}
	fs := ByUpstream(r.Window(time.Minute))
	if len(fs) != 2 || fs[0].Upstream != "a" || fs[1].Upstream != "b" {
		t.Fatalf("figures %+v", fs)
	}
	if fs[0].Delivered != 1 || fs[0].Read != 0 || fs[1].Delivered != 1 || fs[1].Read != 1 {
		t.Errorf("a delivered %d read %d, b delivered %d read %d; want 1 0 1 1", fs[0].Delivered, fs[0].Read, fs[1].Delivered, fs[1].Read)
	}
	if d := fs[0].Percentile(TimeDelivery, .5); d < 1800*time.Millisecond || d > 2200*time.Millisecond {
		t.Errorf("time to delivery %v, want about 2s", d)
	}
	if d := fs[0].Percentile(TimeAcceptance, .5); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("time to acceptance %v, want about 1s", d)
	}
}

func TestTrackerForgetsTheOldest(t *testing.T) {
	r := New()
	r.sent = newTracker(2)
	s := r.Series(Key{"r", "a", ArmPrimary})
	for _, id := range []string{"1", "2", "3"} {
		s.Accepted(time.Now(), id, "v"+id)
	}
	if found, _ := r.Receipt("a", "1", "v1", canonical.StatusDelivered, "", ""); found {
		t.Error("the oldest send is still remembered past the capacity")
	}
	if found, _ := r.Receipt("a", "3", "", canonical.StatusDelivered, "", ""); !found {
		t.Error("the newest send is forgotten")
	}
}

// Receipts count in the minute their send was accepted in, and the ring forgets a day.
func TestWindowAttributesReceiptsToTheirAcceptance(t *testing.T) {
	r, clock := stoppedClock()
	now := func() time.Time { return *clock }
	s := r.Series(Key{"r", "a", ArmPrimary})
	s.Accepted(now(), "1", "")
	*clock = now().Add(5 * time.Minute)
	r.Receipt("a", "1", "", canonical.StatusFailed, "x", "undeliverable")
	if fs := r.Window(time.Minute); len(fs) != 0 {
		t.Errorf("the last minute shows %+v; the message was accepted 5 minutes ago", fs)
	}
	fs := r.Window(15 * time.Minute)
	if len(fs) != 1 || fs[0].Accepted != 1 || fs[0].Failed != 1 || fs[0].NoReceipt() != 0 {
		t.Fatalf("15m window %+v", fs)
	}
	if rs := fs[0].TopReasons(5); len(rs) != 1 || !strings.Contains(rs[0].Text, "undeliverable") {
		t.Errorf("reasons %v", rs)
	}
	*clock = now().Add(25 * time.Hour)
	if fs := r.Window(24 * time.Hour); len(fs) != 0 {
		t.Errorf("a day later the window still shows %+v", fs)
	}
}

func TestCompareJudges(t *testing.T) {
	a := &Figures{Accepted: 950, Retries: 50, Delivered: 900}
	b := &Figures{Accepted: 1000, Delivered: 990}
	for i := 0; i < 200; i++ {
		a.times[tAcceptance].add(80 * time.Millisecond)
		b.times[tAcceptance].add(20 * time.Millisecond)
		a.times[tDelivery].add(time.Second)
		b.times[tDelivery].add(time.Second)
	}
	got := map[string]Judgement{}
	for _, c := range Compare(a, b) {
		got[strings.Fields(c.Figure)[0]+" "+strings.Fields(c.Figure)[1]] = c.Judgement
	}
	want := map[string]Judgement{"acceptance rate": Better, "retry rate": Better, "delivery rate": Better, "refusal rate": Same}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
	}
	cs := Compare(a, b)
	if j := cs[len(cs)-3].Judgement; j != Better {
		t.Errorf("time to acceptance: %v, want better", j)
	}
	if j := cs[len(cs)-2].Judgement; j != Same {
		t.Errorf("time to delivery: %v, want the same", j)
	}
	if j := cs[len(cs)-1].Judgement; j != NoData {
		t.Errorf("time to read: %v, want no data", j)
	}
	if v := Verdict("a", "b", cs); !strings.HasPrefix(v, "Yes: b is at least as good as a") {
		t.Errorf("verdict %q", v)
	}
	if v := Verdict("b", "a", Compare(b, a)); !strings.HasPrefix(v, "No: a is worse than b") {
		t.Errorf("reverse verdict %q", v)
	}
	small := &Figures{Accepted: 10}
	if v := Verdict("a", "s", Compare(a, small)); !strings.HasPrefix(v, "Too early") {
		t.Errorf("verdict on 10 messages %q", v)
	}
}

// stoppedClock is a Recorder whose clock reads *now.
func stoppedClock() (*Recorder, *time.Time) {
	r := New()
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }
	return r, &now
}
