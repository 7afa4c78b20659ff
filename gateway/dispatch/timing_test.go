package dispatch

import (
	"testing"
	"time"

	"switchboard/config"
)

func TestNextOpen(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	jlm, err := time.LoadLocation("Asia/Jerusalem")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		hours []int
		loc   *time.Location
		want  time.Time
	}{
		{"inside", at(ny, 2024, 6, 3, 11, 30), []int{11, 12}, ny, at(ny, 2024, 6, 3, 11, 30)},
		{"later today", at(ny, 2024, 6, 3, 9, 15), []int{11, 18}, ny, at(ny, 2024, 6, 3, 11, 0)},
		{"between hours", at(ny, 2024, 6, 3, 13, 0), []int{11, 12, 18}, ny, at(ny, 2024, 6, 3, 18, 0)},
		{"tomorrow", at(ny, 2024, 6, 3, 19, 0), []int{9}, ny, at(ny, 2024, 6, 4, 9, 0)},
		{"next month", at(ny, 2024, 6, 30, 23, 59), []int{8}, ny, at(ny, 2024, 7, 1, 8, 0)},
		// 2024-03-10 02:00 does not exist in New York: the only allowed hour that day is skipped.
		{"spring forward gap", at(ny, 2024, 3, 10, 1, 30), []int{2}, ny, at(ny, 2024, 3, 11, 2, 0)},
		{"spring forward after gap", at(ny, 2024, 3, 10, 0, 30), []int{3}, ny, at(ny, 2024, 3, 10, 3, 0)},
		// 2024-11-03 01:00 happens twice; the second pass is still inside hour 1.
		{"fall back repeated hour", at(ny, 2024, 11, 3, 1, 30).Add(time.Hour), []int{1}, ny, at(ny, 2024, 11, 3, 1, 30).Add(time.Hour)},
		{"fall back next hour", at(ny, 2024, 11, 3, 0, 30), []int{2}, ny, at(ny, 2024, 11, 3, 2, 0)},
		// Israel moved to summer time at 02:00 on 2024-03-29; 10:00 local is 07:00 UTC.
		{"other zone", time.Date(2024, 3, 29, 5, 0, 0, 0, time.UTC), []int{10}, jlm, time.Date(2024, 3, 29, 7, 0, 0, 0, time.UTC)},
		{"no valid hours", at(ny, 2024, 6, 3, 9, 15), []int{25, -1}, ny, at(ny, 2024, 6, 3, 9, 15)},
	} {
		if got := nextOpen(tc.now, tc.hours, tc.loc); !got.Equal(tc.want) {
			t.Errorf("%s: nextOpen(%v, %v) = %v, want %v", tc.name, tc.now, tc.hours, got, tc.want)
		}
	}
}

func TestHoursWindow(t *testing.T) {
	for _, tc := range []struct {
		start, end int
		want       []int
	}{
		{9, 17, []int{9, 10, 11, 12, 13, 14, 15, 16}},
		{22, 2, []int{22, 23, 0, 1}},
		{20, 24, []int{20, 21, 22, 23}},
		{8, 8, nil},
		{30, 2, nil},
	} {
		w := hoursWindow(&config.SendingHours{TimeZone: "Asia/Jerusalem", Start: tc.start, End: tc.end})
		if tc.want == nil {
			if w != nil {
				t.Errorf("%d-%d: %+v, want no window", tc.start, tc.end, w)
			}
			continue
		}
		if w == nil || w.TimeZone != "Asia/Jerusalem" || len(w.Hours) != len(tc.want) {
			t.Fatalf("%d-%d: %+v, want %v", tc.start, tc.end, w, tc.want)
		}
		for i := range w.Hours {
			if w.Hours[i] != tc.want[i] {
				t.Fatalf("%d-%d: %v, want %v", tc.start, tc.end, w.Hours, tc.want)
			}
		}
	}
}

func TestBackoff(t *testing.T) {
	const initial, maxWait = time.Second, time.Minute
	for attempts := 1; attempts <= 70; attempts++ {
		ceil := maxWait
		if attempts < 7 { // 2^6 s is over the minute
			ceil = initial << (attempts - 1)
		}
		for i := 0; i < 200; i++ {
			if d := backoff(initial, maxWait, attempts, 0); d <= 0 || d > ceil {
				t.Fatalf("attempt %d: backoff %v outside (0, %v]", attempts, d, ceil)
			}
		}
	}
	// Full jitter spreads the waits over the whole range.
	var lo, hi int
	for i := 0; i < 1000; i++ {
		if d := backoff(initial, maxWait, 4, 0); d < 2*time.Second {
			lo++
		} else if d > 6*time.Second {
			hi++
		}
	}
	if lo < 100 || hi < 100 {
		t.Fatalf("jitter not spread: %d below 2s, %d above 6s of 1000 in (0, 8s]", lo, hi)
	}
	if d := backoff(initial, maxWait, 1, 30*time.Second); d != 30*time.Second {
		t.Fatalf("Retry-After not honoured: %v", d)
	}
	if d := backoff(initial, maxWait, 1, time.Hour); d != maxWait {
		t.Fatalf("Retry-After not capped: %v", d)
	}
}
