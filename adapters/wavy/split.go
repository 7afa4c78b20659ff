package wavy

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// splitBreakWindow is how far back from a part's end a split looks for a space or line
// break to cut at, as a share of the part (1/5): closer cuts are not worth a short part.
const splitBreakWindow = 5

// splitText cuts text, longer than max UTF-16 units (the vendor's count), into numbered
// parts "(1/3) ..." of at most max units each, prefix included, cutting after a space or line
// break near a part's end where there is one and never inside a character.
func splitText(text string, max int) []string {
	total := utf16Len(text)
	n := 1
	for { // the prefix grows with the number of parts' digits
		room := max - prefixLen(n)
		need := (total + room - 1) / room
		if need <= n {
			break
		}
		n = need
	}
	room := max - prefixLen(n)
	var chunks []string
	for rest := text; rest != ""; {
		cut, units := 0, 0
		lastBreak := -1
		for i, r := range rest {
			u := 1
			if r > 0xFFFF {
				u = 2
			}
			if units+u > room {
				break
			}
			units += u
			cut = i + utf8.RuneLen(r)
			if r == ' ' || r == '\n' {
				lastBreak = cut
			}
		}
		if cut < len(rest) && lastBreak > 0 && utf16Len(rest[lastBreak:cut]) < room/splitBreakWindow {
			cut = lastBreak
		}
		chunks = append(chunks, rest[:cut])
		rest = rest[cut:]
	}
	// Cutting at breaks may have taken more parts than counted: number what there is. Each
	// part still fits, as a longer prefix only comes with more parts than the room assumed.
	if len(chunks) > n && prefixLen(len(chunks)) > prefixLen(n) {
		return splitText(text, max-(prefixLen(len(chunks))-prefixLen(n)))
	}
	parts := make([]string, len(chunks))
	for i, c := range chunks {
		parts[i] = "(" + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(chunks)) + ") " + c
	}
	return parts
}

// prefixLen is the length of "(i/n) " at its longest for n parts.
func prefixLen(n int) int { return 2*len(strconv.Itoa(n)) + 4 }

// isLong reports whether m's text is over the vendor's limit, so goes in parts.
func isLong(m *canonical.Message) bool {
	return len(m.Text) > maxText && utf16Len(m.Text) > maxText
}

// encodeParts writes one send-bulk-sms request with m's text in numbered parts, each part
// otherwise m (the same correlationId, so the vendor's statuses of every part find it).
func (o *Outbound) encodeParts(m *canonical.Message, req *fasthttp.Request) error {
	parts := splitText(m.Text, maxText)
	bulk := bulkBody{Messages: make([]sendMessage, len(parts))}
	for i, p := range parts {
		part := *m
		part.Text = p
		var err error
		if bulk.Messages[i], err = o.message(&part); err != nil {
			return err
		}
	}
	body, err := adapters.MarshalJSON(&bulk)
	if err != nil {
		return fmt.Errorf("cannot encode a wavy request in parts: %w", err)
	}
	o.writeRequest(req, o.bulkURL, body)
	return nil
}

// TextLen is the vendor's count of a text: UTF-16 code units (adapters.TextCounter).
func (o *Outbound) TextLen(text string) int { return utf16Len(text) }

var _ adapters.TextCounter = (*Outbound)(nil)
