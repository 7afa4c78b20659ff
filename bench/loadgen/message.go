package loadgen

import (
	"bytes"
	"strconv"
)

// markerPrefix starts the token every message text begins with:
// "sbt=<run>.<seq>.<unixnano>", run being 8 hex digits. It is made of
// characters that neither JSON nor the vendors' percent-decoding alter, so
// the sink finds it in whatever body the gateway's upstream sends.
const markerPrefix = "sbt="

// appendText appends a message text of size bytes (at least the marker).
func appendText(dst []byte, run string, seq uint64, sentNs int64, size int) []byte {
	start := len(dst)
	dst = append(dst, markerPrefix...)
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

// marker is what the sink recovers from a delivered body.
type marker struct {
	run    string
	seq    uint64
	sentNs int64
}

// findMarker looks for the marker in b, in plain form or with '=' percent-encoded
// (an upstream may URL-encode the text, as MessageFlow's documents show).
func findMarker(b []byte) (marker, bool) {
	for _, p := range [][]byte{[]byte("sbt="), []byte("sbt%3D"), []byte("sbt%3d")} {
		if i := bytes.Index(b, p); i >= 0 {
			return parseMarker(b[i+len(p):])
		}
	}
	return marker{}, false
}

func parseMarker(b []byte) (marker, bool) {
	var m marker
	if len(b) < 9 || b[8] != '.' {
		return m, false
	}
	m.run = string(b[:8])
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
	m.seq, m.sentNs = seq, int64(ns)
	return m, true
}

func leadingDigits(b []byte) (v uint64, n int) {
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		v = v*10 + uint64(b[n]-'0')
		n++
	}
	return v, n
}

// appendRecipient appends a valid mobile number, one of n distinct ones, for
// request seq. Half are Israeli (97250[2-9]xxxxxx), half Brazilian
// (55119[6-9]xxxxxxx), so both country prefixes and sticky splits see spread.
func appendRecipient(dst []byte, seq uint64, n int) []byte {
	k := mix64(seq) % uint64(n)
	if k%2 == 0 {
		dst = append(dst, "97250"...)
		dst = append(dst, byte('2'+(k/2)%8))
		return appendPadded(dst, (k/16)%1_000_000, 6)
	}
	dst = append(dst, "55119"...)
	dst = append(dst, byte('6'+(k/2)%4))
	return appendPadded(dst, (k/8)%10_000_000, 7)
}

func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// mix64 is splitmix64's finaliser: consecutive sequence numbers map to
// unrelated recipients.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
