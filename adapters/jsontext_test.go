package adapters

import (
	"strings"
	"testing"
)

func TestCheckJSONText(t *testing.T) {
	cases := []struct {
		body, field, reason string // reason "" : accepted
	}{
		{`{"to":"1","text":"hello שלום 😀"}`, "", ""},
		{`{"text":"a\\u0000b"}`, "", ""}, // an escaped backslash, then the letters u0000
		{`{"text":"\ud83d\ude00 pair"}`, "", ""},
		{`{"text":"a` + "\xff" + `b"}`, "text", "is not valid UTF-8 (byte 0xff at offset 10)"},
		{`{"messages":[{"t":"ok"},{"t":"x","messageText":"a` + "\xc3" + `"}]}`, "messages[1].messageText", "is not valid UTF-8"},
		{`{"text":"a\u0000b"}`, "text", "contains a NUL character (U+0000)"},
		{`{"data":{"tags":["a","b\u0000"]}}`, "data.tags[1]", "contains a NUL"},
		{"{\"text\":\"a\x00b\"}", "text", "contains a NUL"},
		{`{"text":"a\ud800b"}`, "text", "lone surrogate"},
		{`{"text":"a\udc00b"}`, "text", "lone surrogate"},
		{`{"k` + "\xfe" + `":"v"}`, "k\uFFFD", "name is not valid UTF-8"},
		{`{"text":` + "\xff", "", ""}, // not JSON: the decoder says so
	}
	for _, c := range cases {
		err := CheckJSONText([]byte(c.body))
		if c.reason == "" {
			if err != nil {
				t.Errorf("%q: refused: %v", c.body, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: accepted, want %s: %s", c.body, c.field, c.reason)
			continue
		}
		if want := c.field; err.Field != want || !strings.Contains(err.Reason, c.reason) {
			t.Errorf("%q: %q %q, want %q %q", c.body, err.Field, err.Reason, want, c.reason)
		}
	}
}

// BenchmarkCheckJSONText is the cost the check adds to every JSON send: a body as the
// dialects' own benchmarks send, with Hebrew text and a few escapes.
func BenchmarkCheckJSONText(b *testing.B) {
	body := []byte(`{"destination":"5511987000001","messageText":"שלום, your code is 123456\nThanks \"friend\"","correlationId":"c-1","extraInfo":"x","flashSMS":false}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if CheckJSONText(body) != nil {
			b.Fatal("refused")
		}
	}
}
