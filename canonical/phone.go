package canonical

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone turns a phone number as clients write it into E.164 digits without the "+".
//
// A number that carries its country code ("+972 50-123-4567", "972501234567") is checked as
// it is. A local number ("0501234567") needs countryCode ("972"): the national trunk prefix
// is dropped as the numbering plan says. Anything that is not a plausible phone number for
// its country (by the length rules of github.com/nyaruka/phonenumbers) is rejected with the
// reason.
func NormalizePhone(raw, countryCode string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", Invalid("", "is required")
	}
	var buf [24]byte
	digits := buf[:0]
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == 17 {
				return "", Invalid("", "%q is not a phone number: too long", raw)
			}
			digits = append(digits, c)
		case c == '+' && len(digits) == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", Invalid("", "%q is not a phone number: unexpected character %q", raw, c)
		}
	}
	if len(digits) < 5 {
		return "", Invalid("", "%q is not a phone number: too short", raw)
	}
	if digits[0] == '0' && !plus {
		return national(raw, string(digits), countryCode)
	}
	res := international(digits)
	if res != phonenumbers.IS_POSSIBLE && !plus && countryCode != "" {
		// Countries without a trunk prefix (NANPA) write local numbers without a leading 0.
		if n, err := national(raw, string(digits), countryCode); err == nil {
			return n, nil
		}
	}
	if err := reject(raw, res); err != nil {
		return "", err
	}
	return string(digits), nil
}

// international checks "country code + national number" digits without parsing text:
// country calling codes are prefix-free, so the first one to three digits that name a
// country are its code. This is the fast path: phonenumbers.Parse costs ten times more.
func international(digits []byte) phonenumbers.ValidationResult {
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc, _ := strconv.Atoi(string(digits[:n]))
		if r := phonenumbers.GetRegionCodeForCountryCode(cc); r == "" || r == "ZZ" {
			continue
		}
		return possibleNumber(cc, digits[n:]) // phonelen.go
	}
	return phonenumbers.INVALID_COUNTRY_CODE
}

// national parses a number written as the country of countryCode dials it at home.
func national(raw, digits, countryCode string) (string, error) {
	if countryCode == "" {
		return "", Invalid("", "%q is a local number: give the country code too", raw)
	}
	cc, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(countryCode), "+"))
	if err != nil || cc <= 0 {
		return "", Invalid("", "country code %q is not a number", countryCode)
	}
	region := phonenumbers.GetRegionCodeForCountryCode(cc)
	if region == "" || region == "ZZ" {
		return "", Invalid("", "unknown country code %q", countryCode)
	}
	num, err := phonenumbers.Parse(digits, region)
	if err != nil {
		return "", Invalid("", "%q is not a phone number: %s", raw, parseReason(err))
	}
	if err := reject(raw, phonenumbers.IsPossibleNumberWithReason(num)); err != nil {
		return "", err
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), nil
}

func reject(raw string, res phonenumbers.ValidationResult) error {
	switch res {
	case phonenumbers.IS_POSSIBLE, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return nil
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Invalid("", "%q is not a phone number: unknown country code", raw)
	case phonenumbers.TOO_SHORT:
		return Invalid("", "%q is not a phone number: too short for its country", raw)
	case phonenumbers.TOO_LONG:
		return Invalid("", "%q is not a phone number: too long for its country", raw)
	}
	return Invalid("", "%q is not a phone number: wrong length for its country", raw)
}

func parseReason(err error) string {
	switch err {
	case phonenumbers.ErrInvalidCountryCode:
		return "unknown country code"
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return "too short"
	case phonenumbers.ErrNumTooLong:
		return "too long"
	}
	return "not a number"
}
