package adapters

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" and \\ slash", "line\nbreak\r\ttab\x01", "שלום 👋 olá çağ",
		"\u2028\u2029", "bad \xff utf8"} {
		out := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: not JSON: %s", s, out)
		}
		want := []rune(s)
		for i, r := range want {
			if r == 0xFFFD || (r == '\uFFFD') {
				want[i] = '\uFFFD'
			}
		}
		if back != string(want) {
			t.Errorf("%q came back as %q", s, back)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2023, 4, 26, 11, 11, 58, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"120": 2 * time.Minute, " 5 ": 5 * time.Second, "-1": 0, "": 0, "soon": 0,
		"Wed, 26 Apr 2023 11:12:58 GMT": time.Minute, "Wed, 26 Apr 2023 11:10:58 GMT": 0,
	} {
		if got := RetryAfter([]byte(h), now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}
