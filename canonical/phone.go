package canonical

import (
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone turns a phone number as clients write it into E.164 digits without the "+".
//
// A number that already carries its country code ("+972 50-123-4567", "972501234567") is
// checked as it is. A local number ("0501234567") needs countryCode ("972"): the national
// trunk prefix is dropped as the numbering plan says. Anything that is not a plausible phone
// number for its country is rejected with the reason.
func NormalizePhone(raw, countryCode string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", Invalid("", "is required")
	}
	digits := make([]byte, 0, len(s))
	plus := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' && len(digits) == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", Invalid("", "%q is not a phone number: unexpected character %q", raw, c)
		}
	}
	if len(digits) == 0 {
		return "", Invalid("", "%q is not a phone number: no digits", raw)
	}
	if len(digits) > 17 {
		return "", Invalid("", "%q is not a phone number: too long", raw)
	}
	region := ""
	number := "+" + string(digits)
	if !plus && countryCode != "" {
		cc, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(countryCode), "+"))
		if err != nil || cc <= 0 {
			return "", Invalid("", "country code %q is not a number", countryCode)
		}
		ccs := strconv.Itoa(cc)
		if strings.HasPrefix(string(digits), ccs) && !strings.HasPrefix(string(digits), "0") {
			// Already international: the client sent the country code twice.
		} else {
			region = phonenumbers.GetRegionCodeForCountryCode(cc)
			if region == "" || region == "ZZ" {
				return "", Invalid("", "unknown country code %q", countryCode)
			}
			number = string(digits)
		}
	} else if !plus && digits[0] == '0' {
		return "", Invalid("", "%q is a local number: give the country code too", raw)
	}
	if len(digits) < 5 {
		return "", Invalid("", "%q is not a phone number: too short", raw)
	}
	num, err := phonenumbers.Parse(number, region)
	if err != nil {
		return "", Invalid("", "%q is not a phone number: %s", raw, parseReason(err))
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.IS_POSSIBLE, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", Invalid("", "%q is not a phone number: unknown country code", raw)
	case phonenumbers.TOO_SHORT:
		return "", Invalid("", "%q is not a phone number: too short for its country", raw)
	case phonenumbers.TOO_LONG:
		return "", Invalid("", "%q is not a phone number: too long for its country", raw)
	default:
		return "", Invalid("", "%q is not a phone number: wrong length for its country", raw)
	}
	return strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+"), nil
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
