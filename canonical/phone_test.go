package canonical

import (
	"github.com/nyaruka/phonenumbers"

	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	ok := []struct{ raw, cc, want string }{
		{"972501234567", "", "972501234567"},
		{"+972 50-123-4567", "", "972501234567"},
		{"0501234567", "972", "972501234567"}, // local number: trunk 0 dropped
		{"972501234567", "972", "972501234567"},
		{"5511900000000", "", "5511900000000"},
		{"905374937766", "", "905374937766"},
		{"+1 (415) 555-2671", "", "14155552671"},
		// With a default country code, international numbers without + stay international.
		{"905374937766", "972", "905374937766"},
		{"5511900000000", "972", "5511900000000"},
		{"4155552671", "1", "14155552671"}, // a country without a trunk prefix
	}
	for _, c := range ok {
		got, err := NormalizePhone(c.raw, c.cc)
		if err != nil || got != c.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", c.raw, c.cc, got, err, c.want)
		}
	}
	bad := []struct{ raw, cc, reason string }{
		{"", "", "required"},
		{"9725xxxxxxxx", "", "unexpected character"},
		{"0501234567", "", "local number"},
		{"12", "", "too short"},
		{"999123456789", "", "unknown country code"},
		{"0501234567", "abc", "country code"},
		{"97250123456789012", "", "too long"},
	}
	for _, c := range bad {
		_, err := NormalizePhone(c.raw, c.cc)
		if err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("NormalizePhone(%q, %q) = %v; want an error saying %q", c.raw, c.cc, err, c.reason)
		}
	}
}

func TestValidate(t *testing.T) {
	good := sampleMessage()
	if err := good.Validate(); err != nil {
		t.Fatalf("sample message: %v", err)
	}
	cases := []struct {
		field string
		edit  func(m *Message)
	}{
		{"to", func(m *Message) { m.To = "" }},
		{"to", func(m *Message) { m.To = "05012345" }},
		{"text", func(m *Message) { m.Text, m.Media, m.Template, m.FlowID = "", nil, nil, "" }},
		{"text", func(m *Message) { m.Text = "\xff" }},
		{"media.url", func(m *Message) { m.Media = []Media{{URL: "file:///etc/passwd"}} }},
		{"buttons", func(m *Message) { m.Buttons = []string{" "} }},
		{"window.hours", func(m *Message) { m.Window.Hours = []int{24} }},
		{"window.time_zone", func(m *Message) { m.Window.TimeZone = "Mars/Base" }},
		{"expires_at", func(m *Message) { m.ExpiresAt = m.NotBefore }},
	}
	for _, c := range cases {
		m := sampleMessage()
		c.edit(m)
		err := m.Validate()
		e, ok := err.(*Error)
		if !ok || e.Field != c.field || e.Code != ErrInvalid {
			t.Errorf("edit of %s: got %v, want an invalid-field error naming %s", c.field, err, c.field)
		}
	}
}

func BenchmarkNormalizePhone(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NormalizePhone("5511900000000", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFastPathAgreesWithParse: the prefix-based check gives the library's own answer.
func TestFastPathAgreesWithParse(t *testing.T) {
	for _, n := range []string{"972501234567", "5511900000000", "905374937766", "14155552671", "447911123456",
		"393123456789", "390612345678", "8613812345678", "97250123", "9725012345678901", "2348031234567", "80012345678"} {
		fast := international([]byte(n))
		num, err := phonenumbers.Parse("+"+n, "")
		slow := phonenumbers.INVALID_COUNTRY_CODE
		if err == nil {
			slow = phonenumbers.IsPossibleNumberWithReason(num)
		}
		if fast != slow {
			t.Errorf("%s: fast path says %v, Parse says %v", n, fast, slow)
		}
	}
}
