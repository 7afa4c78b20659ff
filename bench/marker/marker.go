// Package marker is the timing marker the load generator puts at the start of every message
// text, "sbt=<run>.<seq>.<unixnano>", and finds again in whatever body reaches an upstream: the
// load generator's sink and the vendor simulators use it to count a run's deliveries and time
// them. It must stay made of characters that neither JSON nor the vendors' percent-decoding
// alter.
package marker

import (
	"bytes"
	"strconv"
)

// Prefix starts the token; run is 8 hex digits.
const Prefix = "sbt="

// Marker is what is recovered from a delivered body.
type Marker struct {
	Run    string
	Seq    uint64
	SentNs int64
}

// AppendText appends a message text of size bytes (at least the marker).
func AppendText(dst []byte, run string, seq uint64, sentNs int64, size int) []byte {
	start := len(dst)
	dst = append(dst, Prefix...)
	dst = append(dst, run...)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, sentNs, 10)
	for i := 0; len(dst)-start < size; i++ {
		if i == 0 {
			dst = append(dst, ' ')
			continue
		}
		dst = append(dst, byte('a'+i%26))
	}
	return dst
}

// Find looks for the marker in b, in plain form or with '=' percent-encoded
// (an upstream may URL-encode the text, as MessageFlow's documents show).
func Find(b []byte) (Marker, bool) {
	for _, p := range [][]byte{[]byte("sbt="), []byte("sbt%3D"), []byte("sbt%3d")} {
		if i := bytes.Index(b, p); i >= 0 {
			return parse(b[i+len(p):])
		}
	}
	return Marker{}, false
}

func parse(b []byte) (Marker, bool) {
	var m Marker
	if len(b) < 9 || b[8] != '.' {
		return m, false
	}
	m.Run = string(b[:8])
	b = b[9:]
	seq, n := leadingDigits(b)
	if n == 0 || n >= len(b) || b[n] != '.' {
		return m, false
	}
	b = b[n+1:]
	ns, k := leadingDigits(b)
	if k == 0 {
		return m, false
	}
	m.Seq, m.SentNs = seq, int64(ns)
	return m, true
}

func leadingDigits(b []byte) (v uint64, n int) {
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + uint64(b[n]-'0')
		n++
	}
	return v, n
}
