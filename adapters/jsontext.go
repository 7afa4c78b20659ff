package adapters

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"switchboard/canonical"
)

// CheckJSONText refuses a JSON body whose strings would not arrive as they were sent: bytes
// that are not UTF-8 (JSON decoders silently turn them into U+FFFD), a NUL character (raw
// or \u0000, which upstreams and terminals truncate at) and an escaped lone surrogate
// (\ud800, which decodes to U+FFFD). The error names the string's field as a path in the
// request's own names ("messages[2].messageText"); a key at fault is named itself.
//
// The common body costs one UTF-8 pass, one NUL search and a look at each backslash; only a
// body at fault is walked to name the field. A body that is not JSON at all is left to the
// dialect's decoder, which answers it in its own words.
func CheckJSONText(body []byte) *canonical.Error {
	if utf8.Valid(body) && bytes.IndexByte(body, 0) < 0 && !badEscape(body) {
		return nil
	}
	w := textWalker{b: body}
	w.value(skipSpace(body, 0), "")
	if w.reason == "" {
		return nil
	}
	return canonical.Invalid(w.field, "%s", w.reason)
}

// badEscape reports whether body has a \u escape of NUL or of a lone surrogate. Outside
// strings a backslash is not JSON at all, so every backslash found starts an escape.
func badEscape(b []byte) bool {
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i+1 < len(b); {
		if b[i+1] == 'u' {
			if r, ok := hex4(b, i+2); ok && (r == 0 || (r >= 0xD800 && r <= 0xDFFF && !pairedSurrogate(b, i, r))) {
				return true
			}
		}
		j := bytes.IndexByte(b[i+2:], '\\')
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// pairedSurrogate reports whether the surrogate escape r at b[i] is half of a pair: a high
// one followed by a low one, or a low one preceded by a high one.
func pairedSurrogate(b []byte, i int, r rune) bool {
	if r < 0xDC00 {
		next, ok := hex4(b, i+8)
		return ok && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' && next >= 0xDC00 && next <= 0xDFFF
	}
	prev, ok := hex4(b, i-4)
	return ok && i >= 6 && b[i-6] == '\\' && b[i-5] == 'u' && prev >= 0xD800 && prev < 0xDC00
}

func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(n), err == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// textWalker finds the first string at fault in a JSON document and the path to it. It
// stops (end -1) at anything that is not JSON: the decoder reports that.
type textWalker struct {
	b      []byte
	field  string
	reason string
}

// value walks the value at b[i], named path, and returns the index just past it.
func (w *textWalker) value(i int, path string) int {
	if i >= len(w.b) || w.reason != "" {
		return -1
	}
	switch w.b[i] {
	case '"':
		end, why := w.str(i)
		if why != "" {
			w.field, w.reason = path, why
		}
		return end
	case '{':
		i = skipSpace(w.b, i+1)
		for i >= 0 && i < len(w.b) && w.b[i] != '}' {
			if w.b[i] == ',' {
				i = skipSpace(w.b, i+1)
			}
			if i >= len(w.b) || w.b[i] != '"' {
				return -1
			}
			end, why := w.str(i)
			if end < 0 {
				return -1
			}
			name := keyText(w.b[i:end])
			if path != "" {
				name = path + "." + name
			}
			if why != "" {
				w.field, w.reason = name, "name "+why
				return -1
			}
			i = skipSpace(w.b, end)
			if i >= len(w.b) || w.b[i] != ':' {
				return -1
			}
			i = w.value(skipSpace(w.b, i+1), name)
			if i >= 0 {
				i = skipSpace(w.b, i)
			}
		}
		if i < 0 || i >= len(w.b) {
			return -1
		}
		return i + 1
	case '[':
		i = skipSpace(w.b, i+1)
		for n := 0; i >= 0 && i < len(w.b) && w.b[i] != ']'; n++ {
			if w.b[i] == ',' {
				i = skipSpace(w.b, i+1)
			}
			i = w.value(i, path+"["+strconv.Itoa(n)+"]")
			if i >= 0 {
				i = skipSpace(w.b, i)
			}
		}
		if i < 0 || i >= len(w.b) {
			return -1
		}
		return i + 1
	}
	for ; i < len(w.b); i++ { // a number, true, false or null
		switch w.b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// str returns the index just past the string at b[i] and what is wrong with its text.
func (w *textWalker) str(i int) (int, string) {
	why := ""
	for j := i + 1; j < len(w.b); {
		c := w.b[j]
		switch {
		case c == '"':
			return j + 1, why
		case c == 0 && why == "":
			why = canonical.ReasonNUL
		case c == '\\' && j+1 < len(w.b):
			if w.b[j+1] == 'u' && why == "" {
				if r, ok := hex4(w.b, j+2); ok {
					switch {
					case r == 0:
						why = canonical.ReasonNUL
					case r >= 0xD800 && r <= 0xDFFF && !pairedSurrogate(w.b, j, r):
						why = "has an escaped lone surrogate (\\u" + string(w.b[j+2:j+6]) + "), which is not a character"
					}
				}
			}
			j += 2
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(w.b[j:])
			if r == utf8.RuneError && size == 1 && why == "" {
				why = canonical.ReasonUTF8 + " (byte 0x" + strconv.FormatUint(uint64(c), 16) + " at offset " + strconv.Itoa(j) + ")"
			}
			j += size
			continue
		}
		j++
	}
	return -1, why
}

// keyText is a member name for an error message: its text without quotes, invalid bytes
// shown as U+FFFD.
func keyText(raw []byte) string {
	if len(raw) >= 2 {
		raw = raw[1 : len(raw)-1]
	}
	return string(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
}
