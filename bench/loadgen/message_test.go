package loadgen

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestRecipientsAreValidAndSpread(t *testing.T) {
	const n, draws = 1000, 3000
	seen := map[string]bool{}
	countries := map[int32]int{}
	for seq := uint64(0); seq < draws; seq++ {
		num := string(appendRecipient(nil, seq, n))
		p, err := phonenumbers.Parse("+"+num, "")
		if err != nil || !phonenumbers.IsValidNumber(p) {
			t.Fatalf("seq %d: %s is not a valid number (%v)", seq, num, err)
		}
		if tp := phonenumbers.GetNumberType(p); tp != phonenumbers.MOBILE && tp != phonenumbers.FIXED_LINE_OR_MOBILE {
			t.Errorf("%s is not a mobile number (type %v)", num, tp)
		}
		seen[num] = true
		countries[p.GetCountryCode()]++
	}
	// 3000 draws from 1000 numbers leave about 1000*(1-e^-3) = 950 distinct.
	if len(seen) < 900 || len(seen) > n {
		t.Errorf("%d distinct recipients, want about 950 of %d", len(seen), n)
	}
	if countries[972] < draws/3 || countries[55] < draws/3 {
		t.Errorf("countries %v, want both Israel and Brazil well represented", countries)
	}
}
