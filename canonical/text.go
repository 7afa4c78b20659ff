package canonical

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reasons a string is refused whatever its dialect: the gateway forwards text byte for
// byte, and these would not arrive as sent (U+FFFD in place of bad bytes, text cut at NUL).
const (
	ReasonUTF8 = "is not valid UTF-8"
	ReasonNUL  = "contains a NUL character (U+0000)"
)

// CheckText refuses a string that is not UTF-8 or holds a NUL, naming field.
func CheckText(field, s string) error {
	if clean(s) {
		return nil
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Invalid(field, "%s", ReasonNUL)
	}
	return Invalid(field, "%s", ReasonUTF8)
}

// shortText is the length up to which clean looks at each byte itself: for the short
// fields of a message that is cheaper than calling two searches; longer text (the body)
// takes the vectorised ones.
const shortText = 64

// clean reports whether s is UTF-8 without NUL.
func clean(s string) bool {
	if len(s) > shortText {
		return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return false
		case c >= utf8.RuneSelf:
			return strings.IndexByte(s[i:], 0) < 0 && utf8.ValidString(s[i:])
		}
	}
	return true
}

// checkTexts applies CheckText to every string of m a client writes, in canonical names.
func (m *Message) checkTexts() error {
	if err := checkFields("text", m.Text, "from", m.From, "client_ref", m.ClientRef, "flow_id", m.FlowID); err != nil {
		return err
	}
	for _, md := range m.Media {
		if err := checkFields("media.url", md.URL, "media.caption", md.Caption, "media.filename", md.Filename); err != nil {
			return err
		}
	}
	if err := checkList("buttons", m.Buttons); err != nil {
		return err
	}
	if err := checkList("options", m.Options); err != nil {
		return err
	}
	if t := m.Template; t != nil {
		if err := checkFields("template.name", t.Name, "template.id", t.ID, "template.language", t.Language, "template.group_id", t.GroupID); err != nil {
			return err
		}
		if err := checkList("template.params", t.Params); err != nil {
			return err
		}
	}
	if err := checkMap("vars", m.Vars); err != nil {
		return err
	}
	return checkMap("extra", m.Extra)
}

// checkFields checks field name, value pairs.
func checkFields(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := CheckText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func checkList(field string, l []string) error {
	for _, s := range l {
		if err := CheckText(field, s); err != nil {
			return err
		}
	}
	return nil
}

// checkMap names the map's field and, in the reason, the entry at fault.
func checkMap(field string, kv map[string]string) error {
	for k, v := range kv {
		if err := CheckText(field, k); err != nil {
			return err
		}
		if err := CheckText(field, v); err != nil {
			e := err.(*Error)
			e.Reason = strconv.Quote(k) + " " + e.Reason
			return e
		}
	}
	return nil
}
