package canonical

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestPossibleLengthsAgree: the table gives the library's own answer, asked on the real digits,
// for every calling code, every length and numbers with and without leading zeros.
func TestPossibleLengthsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	codes := 0
	for cc := 1; cc <= maxCallingCode; cc++ {
		if r := phonenumbers.GetRegionCodeForCountryCode(cc); r == "" || r == "ZZ" {
			continue
		}
		codes++
		for n := 1; n <= maxNSNDigits; n++ {
			for _, lead := range []string{"", "0", "00", "1", "9"} {
				if len(lead) > n {
					continue
				}
				nsn := []byte(lead)
				for len(nsn) < n {
					nsn = append(nsn, byte('0'+rng.IntN(10)))
				}
				if got, want := possibleNumber(cc, nsn), libraryPossible(cc, nsn); got != want {
					t.Fatalf("+%d %s: table says %v, the library %v", cc, nsn, got, want)
				}
			}
		}
	}
	if codes < 200 {
		t.Fatalf("only %d calling codes name a country: the library's metadata is not loaded", codes)
	}
	for _, n := range []string{"972000", "3900000000", "1000"} { // all zeros after the code
		if got, want := international([]byte(n)), internationalByLibrary([]byte(n)); got != want {
			t.Errorf("%s: %v, the library %v", n, got, want)
		}
	}
}

// internationalByLibrary is international without the table.
func internationalByLibrary(digits []byte) phonenumbers.ValidationResult {
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, _ := strconv.Atoi(string(digits[:n]))
		if r := phonenumbers.GetRegionCodeForCountryCode(cc); r == "" || r == "ZZ" {
			continue
		}
		return libraryPossible(cc, digits[n:])
	}
	return phonenumbers.INVALID_COUNTRY_CODE
}
