package adapters

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Helpers every dialect needs to write answers and read upstream answers. Answers are small
// and fixed in shape, so dialects append them by hand: no reflection, no allocation beyond
// the destination's growth. Each dialect that does keeps a benchmark against goccy/go-json
// beside it (json_timing_test.go; bench/RESULTS.md has the figures).

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Non-ASCII text stays UTF-8 (as the vendors'
// documents show it); invalid UTF-8 becomes U+FFFD; U+2028 and U+2029 are escaped so the
// output is also valid JavaScript.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendJSONStringContent(dst, s)
	return append(dst, '"')
}

// AppendJSONStringContent is AppendJSONString without the quotes, for a string or bytes.
func AppendJSONStringContent[T string | []byte](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

func decodeRune[T string | []byte](s T) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

// RetryAfter reads an upstream's Retry-After header: delay-seconds or an HTTP date.
// Anything else, or a time already past, is 0.
func RetryAfter(h []byte, now time.Time) time.Duration {
	h = bytes.TrimSpace(h)
	if len(h) == 0 {
		return 0
	}
	if n, err := strconv.Atoi(string(h)); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := fasthttp.ParseHTTPDate(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
