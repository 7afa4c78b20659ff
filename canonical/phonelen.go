package canonical

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// maxCallingCode bounds country calling codes: one to three digits.
const maxCallingCode = 999

// maxNSNDigits is the longest national number NormalizePhone looks at: 17 digits in all, less
// a calling code of at least one.
const maxNSNDigits = 16

// lengthResults is phonenumbers.IsPossibleNumberWithReason for one calling code, by the
// length of the national significant number (index 0 unused).
type lengthResults [maxNSNDigits + 1]phonenumbers.ValidationResult

// byCallingCode holds lengthResults per calling code, filled on first use. The library's
// answer depends only on the calling code's metadata and the national number's length
// (phonenumbers' testNumberLength), so a table gives its answer without the library's
// allocations: 5 a number and about 1.5 µs, on every send (bench/RESULTS.md, the seventh
// session's accepts). TestPossibleLengthsAgree checks the table against the library.
var byCallingCode [maxCallingCode + 1]atomic.Pointer[lengthResults]

// possibleNumber is phonenumbers.IsPossibleNumberWithReason for the national number nsn
// (digits) of calling code cc, which must name a country.
func possibleNumber(cc int, nsn []byte) phonenumbers.ValidationResult {
	if len(nsn) > maxNSNDigits || strings.Trim(string(nsn), "0") == "" {
		return libraryPossible(cc, nsn) // all zeros: the library counts them its own way
	}
	t := byCallingCode[cc].Load()
	if t == nil {
		t = new(lengthResults)
		nines := []byte("9999999999999999")
		for n := 1; n <= maxNSNDigits; n++ {
			t[n] = libraryPossible(cc, nines[:n])
		}
		byCallingCode[cc].Store(t)
	}
	return t[len(nsn)]
}

// libraryPossible asks phonenumbers itself, marking leading zeros as the library wants them.
func libraryPossible(cc int, nsn []byte) phonenumbers.ValidationResult {
	n, err := strconv.ParseUint(string(nsn), 10, 64)
	if err != nil {
		return phonenumbers.TOO_LONG
	}
	cc32 := int32(cc)
	num := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &n}
	if zeros := int32(len(nsn) - len(strings.TrimLeft(string(nsn), "0"))); zeros > 0 {
		lead := true
		num.ItalianLeadingZero, num.NumberOfLeadingZeros = &lead, &zeros
	}
	return phonenumbers.IsPossibleNumberWithReason(num)
}
