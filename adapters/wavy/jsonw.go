package wavy

import (
	"strconv"
	"switchboard/adapters"
	"time"
)

// The answers are small and fixed in shape, so they are appended by hand: no reflection,
// no allocation beyond dst's growth. json_timing_test.go measures goccy/go-json at 5-6
// times the CPU on the same answers. Requests are structs (outbound.go): appending them
// saved too little.

const hexDigits = "0123456789abcdef"

// appendStringOrNull appends s, or null when it is empty.
func appendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return adapters.AppendJSONString(dst, s)
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
