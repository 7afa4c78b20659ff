package whatsappcloud

import (
	"encoding/base64"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Answers and webhooks are small and fixed in shape, so they are appended by hand: no
// reflection, no allocation beyond the destination's growth. json_timing_test.go measures
// goccy/go-json at 10 times the CPU on the send's answer. Requests vary with the message and
// are structs (send.go): appending them saved too little.

const hexDigits = "0123456789abcdef"

// appendField appends `,"key":"value"` (or `"key":"value"` when first).
func appendField(dst []byte, first bool, key, value string) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return adapters.AppendJSONString(dst, value)
}

// maxWAMIDRef bounds the message reference inside a wamid, so its length fits one byte.
const maxWAMIDRef = 64

// WAMID returns the Cloud API message id ("wamid.…") the simulator gives m. It has the shape
// of Meta's ids — base64 of a small record holding the recipient's WhatsApp id and a hex
// message reference — with the reference taken from m.ID (the hex digits of its UUID), or
// from m.Seq when m has no ID, so the same message always gets the same wamid.
func WAMID(m *canonical.Message) string {
	return string(appendWAMID(nil, m))
}

// appendWAMID appends WAMID(m) to dst.
func appendWAMID(dst []byte, m *canonical.Message) []byte {
	var ref [maxWAMIDRef]byte
	n := 0
	for i := 0; i < len(m.ID) && n < len(ref); i++ {
		switch c := m.ID[i]; {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			ref[n] = c
			n++
		case c >= 'a' && c <= 'z':
			ref[n] = c - 'a' + 'A'
			n++
		}
	}
	if n == 0 {
		n = len(strconv.AppendUint(ref[:0], m.Seq, 16))
		for i := range n {
			if ref[i] >= 'a' {
				ref[i] -= 'a' - 'A'
			}
		}
	}
	to := m.To
	if len(to) > 32 {
		to = to[:32]
	}
	// 0x1C 0x18 <len> <wa_id> 0x15 0x02 0x00 0x11 0x18 <len> <ref> 0x00, as in Meta's ids.
	var rec [3 + 32 + 6 + maxWAMIDRef + 1]byte
	b := append(rec[:0], 0x1C, 0x18, byte(len(to)))
	b = append(b, to...)
	b = append(b, 0x15, 0x02, 0x00, 0x11, 0x18, byte(n))
	b = append(b, ref[:n]...)
	b = append(b, 0x00)
	dst = append(dst, "wamid."...)
	return base64.StdEncoding.AppendEncode(dst, b)
}

// appendTraceID appends an fbtrace_id for the request: 23 URL-safe characters, like Meta's,
// derived from the request so that the same request always gets the same id.
func appendTraceID(dst []byte, req *fasthttp.Request) []byte {
	h := fnv.New128a()
	if req != nil {
		h.Write(req.Header.Method())
		h.Write(req.RequestURI())
		h.Write(req.Body())
	}
	var sum [16]byte
	dst = append(dst, 'A')
	return base64.RawURLEncoding.AppendEncode(dst, h.Sum(sum[:0]))
}

// runes counts characters as the Cloud API's limits do.
func runes(s string) int { return utf8.RuneCountInString(s) }

// truncate shortens s to at most n characters, ending with "…" when it cut.
func truncate(s string, n int) string {
	if runes(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return strings.TrimRight(s[:i], " ") + "…"
}
