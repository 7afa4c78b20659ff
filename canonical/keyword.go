package canonical

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// FoldKeyword is how a whole-message keyword (an opt-out word) is compared: accents
// dropped (decomposed, combining marks removed, so "İPTAL" and "iptal" meet), case folded,
// and surrounding spaces and punctuation trimmed ("Stop." is STOP). Words inside stay:
// "stop it" is not STOP.
func FoldKeyword(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	// Turkish dotless ı is i without its dot: an accent, for this comparison.
	out = strings.ReplaceAll(cases.Fold().String(out), "ı", "i")
	return strings.TrimFunc(out, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
}
