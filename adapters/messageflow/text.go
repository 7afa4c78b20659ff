package messageflow

import (
	"strings"
	"unicode/utf8"

	"switchboard/canonical"
)

// lineBreak is the document's stand-in for a newline, for clients that cannot send one.
const lineBreak = "MessageFlowLineBreak"

// percentDecode decodes the valid %XX escapes of a JSON Message. A '+' stays a '+' and an
// invalid escape ("50% off") stays as it is. When the escapes decode to invalid UTF-8, text
// with a space or a non-ASCII letter is plain text that happens to hold "%AB": it is kept;
// anything else was URL-encoded in another charset (Windows-1255 "%F9%EC%E5%ED"): ok is false.
func percentDecode(s string) (out string, ok bool) {
	i := strings.IndexByte(s, '%')
	for i >= 0 && !isEscape(s, i) {
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			return s, true
		}
		i += 1 + j
	}
	if i < 0 {
		return s, true
	}
	var sb strings.Builder
	sb.Grow(len(s))
	sb.WriteString(s[:i])
	for ; i < len(s); i++ {
		if isEscape(s, i) {
			sb.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		sb.WriteByte(s[i])
	}
	out = sb.String()
	if utf8.ValidString(out) {
		return out, true
	}
	if utf8.ValidString(s) && strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || r >= utf8.RuneSelf }) {
		return s, true
	}
	return s, false
}

func isEscape(s string, i int) bool {
	return i+2 < len(s) && s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// percentEncode escapes everything but RFC 3986's unreserved characters, so that any URL
// decoder (decodeURIComponent, PHP's urldecode, ours) gives the text back: spaces become
// %20 and '+' becomes %2B, never a '+' that some decoders read as a space.
func percentEncode(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// parseLink reads a DownloadLink: an http(s) URL is an attachment passed by reference; a
// path on the sending PC ("C:/...", "C:\...", "\\server\share\...", any text without a URL
// scheme) is kept as a local attachment. Other schemes (file:, ftp:, javascript: ...) are
// refused. Neither is ever fetched or read here.
func parseLink(raw string) (canonical.Media, *canonical.Error) {
	s := strings.TrimSpace(raw)
	if len(s) > maxLinkBytes {
		return canonical.Media{}, canonical.Invalid("DownloadLink", "is longer than %d bytes", maxLinkBytes)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return canonical.Media{}, canonical.Invalid("DownloadLink", "contains a control character")
		}
	}
	if !utf8.ValidString(s) {
		return canonical.Media{}, canonical.Invalid("DownloadLink", "is not valid UTF-8")
	}
	scheme := urlScheme(s)
	switch {
	case len(scheme) <= 1:
		// No scheme, or a drive letter.
		return canonical.Media{URL: s, Local: true}, nil
	case strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"):
		rest := s[len(scheme)+1:]
		if !strings.HasPrefix(rest, "//") || len(rest) == 2 || strings.IndexByte("/?#", rest[2]) >= 0 {
			return canonical.Media{}, canonical.Invalid("DownloadLink", "is not a valid URL: the host is missing")
		}
		if scheme != "http" && scheme != "https" {
			s = strings.ToLower(scheme) + s[len(scheme):]
		}
		return canonical.Media{URL: s}, nil
	}
	if len(scheme) > 16 {
		scheme = scheme[:16] + "..."
	}
	return canonical.Media{}, canonical.Invalid("DownloadLink", "must be an http(s) URL or a path on the sending PC, not a %s: link", scheme)
}

// urlScheme returns the RFC 3986 scheme of s ("https" of "https://..."), or "".
func urlScheme(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i]
		default:
			return ""
		}
	}
	return ""
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
