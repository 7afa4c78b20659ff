package flowbot

import (
	"bytes"
	"unicode/utf8"

	"github.com/goccy/go-json"
)

// The decoders walk request bodies with this small scanner instead of unmarshalling into
// maps: FlowBot answers the lead's variables in the order the client wrote them, every
// wrong type must name the vendor's field, and the hot path should not allocate a map per
// JSON object. The scanner trusts its input: callers check it with json.Valid first.
//
// Measured (jsonscan_timing_test.go: the same outbound body read into the same fields and
// variables; 8 interleaved runs of 200,000 iterations, medians, go1.26.8, 2 shared cores):
// the scanner 3.7 µs, 288 B and 17 allocations per body; goccy/go-json into a struct and a
// map of raw values 6.6 µs, 992 B and 34 allocations. It stays for that, and for the key
// order a map cannot keep.

// jsonKind is the kind of a JSON value, from its first byte.
type jsonKind uint8

const (
	kindNull jsonKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func kindOf(raw []byte) jsonKind {
	if len(raw) == 0 {
		return kindNull
	}
	switch raw[0] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	return kindNumber
}

func (k jsonKind) String() string {
	switch k {
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "null"
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// trimValue returns the one JSON value in a valid document, without surrounding space.
func trimValue(b []byte) []byte {
	i := skipWS(b, 0)
	return b[i:valueEnd(b, i)]
}

// iter walks the members of an object or the elements of an array.
type iter struct {
	b []byte
	i int
}

// members starts walking raw, which must be an object.
func members(raw []byte) iter { return iter{b: raw, i: 1} }

// elements starts walking raw, which must be an array.
func elements(raw []byte) iter { return iter{b: raw, i: 1} }

// nextMember returns the next key (still quoted) and raw value.
func (it *iter) nextMember() (key, val []byte, ok bool) {
	i := skipWS(it.b, it.i)
	if i < len(it.b) && it.b[i] == ',' {
		i = skipWS(it.b, i+1)
	}
	if i >= len(it.b) || it.b[i] != '"' {
		return nil, nil, false
	}
	e := stringEnd(it.b, i)
	key = it.b[i:e]
	i = skipWS(it.b, e) + 1 // the colon
	i = skipWS(it.b, i)
	e = valueEnd(it.b, i)
	it.i = e
	return key, it.b[i:e], true
}

// nextElement returns the next raw element.
func (it *iter) nextElement() (val []byte, ok bool) {
	i := skipWS(it.b, it.i)
	if i < len(it.b) && it.b[i] == ',' {
		i = skipWS(it.b, i+1)
	}
	if i >= len(it.b) || it.b[i] == ']' {
		return nil, false
	}
	e := valueEnd(it.b, i)
	it.i = e
	return it.b[i:e], true
}

// keyName returns a member key without its quotes; only escaped keys (and invalid UTF-8,
// which becomes U+FFFD like string values) allocate.
func keyName(raw []byte) []byte {
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return in
	}
	s, _ := unquote(raw)
	return []byte(s)
}

// unquote returns the text of a JSON string token. Invalid UTF-8 becomes U+FFFD, as it
// does in the vendor's JavaScript server.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return string(in), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return toValidUTF8(s), true
}

func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
}

// appendCompact appends raw (valid JSON) without insignificant white space.
func appendCompact(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			e := stringEnd(raw, i)
			dst = append(dst, raw[i:e]...)
			i = e - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
