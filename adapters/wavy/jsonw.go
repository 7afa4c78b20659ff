package wavy

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The answers are small and fixed in shape, so they are appended by hand: no reflection,
// no allocation beyond dst's growth.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD; U+2028 and
// U+2029 are escaped so the output is also valid JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
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
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStringOrNull appends s, or null when it is empty.
func appendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

func appendInt(dst []byte, v int64) []byte {
	return strconv.AppendInt(dst, v, 10)
}

// dateFormat is the ISO-8601 UTC form of the status records' *Date fields.
const dateFormat = "2006-01-02T15:04:05Z"

// appendAtDate appends `"<name>At":<epoch ms>,"<name>Date":"<ISO-8601 UTC>"`, or nulls
// when t is zero. at and date are the full key names.
func appendAtDate(dst []byte, at, date string, t time.Time) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, at...)
	dst = append(dst, '"', ':')
	if t.IsZero() {
		dst = append(dst, "null"...)
	} else {
		dst = appendInt(dst, t.UnixMilli())
	}
	dst = append(dst, ',', '"')
	dst = append(dst, date...)
	dst = append(dst, '"', ':')
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, dateFormat)
	return append(dst, '"')
}
