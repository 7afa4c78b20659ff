package canonical

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	long := strings.Repeat("a", shortText)
	for _, c := range []struct {
		s, reason string // reason "": accepted
	}{
		{"", ""}, {"hello", ""}, {"שלום 😀", ""}, {long + "שלום", ""},
		{"a\x00b", ReasonNUL}, {"ש\x00", ReasonNUL}, {long + "\x00", ReasonNUL}, {long + "ש\x00", ReasonNUL},
		{"a\xffb", ReasonUTF8}, {"ש\xff", ReasonUTF8}, {long + "\xc3", ReasonUTF8},
	} {
		err := CheckText("f", c.s)
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("%q refused: %v", c.s, err)
		case c.reason != "" && (err == nil || err.(*Error).Reason != c.reason || err.(*Error).Field != "f"):
			t.Errorf("%q: %v, want f: %s", c.s, err, c.reason)
		}
	}
	m := &Message{To: "972501234567", Text: "x", Vars: map[string]string{"name": "a\x00"}}
	if err := m.Validate(); err == nil || err.(*Error).Field != "vars" || !strings.Contains(err.Error(), `"name" contains a NUL`) {
		t.Errorf("a NUL in a variable: %v", err)
	}
}
