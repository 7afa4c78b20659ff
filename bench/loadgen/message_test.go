package loadgen

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func TestMarkerSurvivesEncodings(t *testing.T) {
	text := appendText(nil, "0badcafe", 12345, 1700000000123456789, 200)
	if len(text) != 200 {
		t.Fatalf("text is %d bytes, want 200", len(text))
	}
	canonical, _ := json.Marshal(map[string]any{"to": "972501234567", "text": string(text), "vars": map[string]string{"k": "v"}})
	bodies := map[string][]byte{
		"raw":        text,
		"json":       canonical,
		"urlencoded": []byte("wapMessage=" + url.QueryEscape(string(text))),
	}
	for name, b := range bodies {
		m, ok := findMarker(b)
		if !ok || m.run != "0badcafe" || m.seq != 12345 || m.sentNs != 1700000000123456789 {
			t.Errorf("%s: got %+v, %v", name, m, ok)
		}
	}
	if small := appendText(nil, "0badcafe", 1, 2, 5); !strings.HasPrefix(string(small), "sbt=0badcafe.1.2") {
		t.Errorf("a size below the marker must keep the whole marker, got %q", small)
	}
	for _, bad := range []string{"", "sbt=", "sbt=short.1.2", "sbt=0badcafe.x.2", "sbt=0badcafe.1.", "sbt=0badcafe.1"} {
		if m, ok := findMarker([]byte(bad)); ok {
			t.Errorf("%q parsed as %+v", bad, m)
		}
	}
}

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
