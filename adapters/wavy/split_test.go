package wavy

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

var partPrefix = regexp.MustCompile(`^\((\d+)/(\d+)\) `)

// checkParts: every part is numbered i/n, fits the vendor's count, and the parts without
// their prefixes are the text.
func checkParts(t *testing.T, text string, parts []string, max int) {
	t.Helper()
	var joined strings.Builder
	for i, p := range parts {
		m := partPrefix.FindStringSubmatch(p)
		if m == nil || m[1] != strconv.Itoa(i+1) || m[2] != strconv.Itoa(len(parts)) {
			t.Fatalf("part %d is numbered %q of %d parts", i, p[:min(len(p), 12)], len(parts))
		}
		if n := utf16Len(p); n > max {
			t.Fatalf("part %d has %d UTF-16 units, over %d", i, n, max)
		}
		joined.WriteString(p[len(m[0]):])
	}
	if joined.String() != text {
		t.Fatal("the parts do not make the text")
	}
}

func TestSplitText(t *testing.T) {
	words := strings.Repeat("שלום world 😀 ", 400)       // spaces to cut at, surrogate pairs
	solid := strings.Repeat("😀", 3000)                  // no break at all, two units each
	tenParts := strings.Repeat("x", 9*(maxText-10)+100) // nine parts' worth and more: the prefix grows
	for name, text := range map[string]string{"words": words, "solid": solid, "ten parts": tenParts} {
		parts := splitText(text, maxText)
		checkParts(t, text, parts, maxText)
		if name == "words" {
			for _, p := range parts[:len(parts)-1] {
				if !strings.HasSuffix(p, " ") {
					t.Errorf("a part of words ends inside a word: %q", p[len(p)-12:])
				}
			}
		}
	}
}

// A text over 1280 characters goes as numbered parts in one send-bulk-sms request, each
// with the message's correlationId; the answer's first id is the message's.
func TestEncodeLongTextInParts(t *testing.T) {
	o := newOutbound(t)
	text := strings.Repeat("a b ", 800) // 3200 characters: three parts
	m := &canonical.Message{ID: "id-1", Dialect: "native", To: "5511900000000", Text: text, Flash: true}
	req := &fasthttp.Request{}
	if err := o.Encode(m, req); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(req.URI().Path()), "/v1/send-bulk-sms") {
		t.Fatalf("sent to %s", req.URI().Path())
	}
	var body struct {
		Messages []struct {
			Destination, MessageText, CorrelationID string
			FlashSMS                                bool
		}
	}
	if err := json.Unmarshal(req.Body(), &body); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, p := range body.Messages {
		if p.Destination != m.To || p.CorrelationID != m.ID || !p.FlashSMS {
			t.Errorf("a part lost the message's fields: %+v", p)
		}
		parts = append(parts, p.MessageText)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	checkParts(t, text, parts, maxText)

	resp := &fasthttp.Response{}
	resp.SetStatusCode(200)
	resp.SetBodyString(`{"id":"bulk-1","messages":[{"id":"p1","correlationId":"id-1"},{"id":"p2"},{"id":"p3"}]}`)
	if r := o.Classify(m, resp); r.Outcome != adapters.Sent || r.UpstreamID != "p1" {
		t.Errorf("Classify = %+v, want sent as p1", r)
	}
	if err := o.EncodeBulk([]*canonical.Message{m}, &fasthttp.Request{}); err == nil {
		t.Error("EncodeBulk took a message that goes in parts")
	}
}
