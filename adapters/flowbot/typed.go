package flowbot

import (
	"maps"
	"slices"

	"switchboard/adapters"
	"switchboard/canonical"
)

// ExtraTyped is the Extra key that keeps the JSON of the flow variables whose values are
// not strings (numbers, booleans, null, arrays, objects), as one compact object: canonical
// variables are text, which every other dialect takes, but a FlowBot upstream must get
// "total":149.90 back, not "total":"149.90".
const ExtraTyped = "typedData"

// typedVars gathers the variables of one request, as name and raw JSON pairs in the order
// read, once one of them is not a string (until then it holds nothing).
type typedVars struct {
	pairs [][2][]byte
	typed bool
}

// note records name's raw value.
func (t *typedVars) note(name, raw []byte) {
	t.typed = t.typed || kindOf(raw) != kindString
	t.pairs = append(t.pairs, [2][]byte{name, raw})
}

// keep stores in m.Extra, sorted by name as the encoder writes variables, the typed values
// m's variables still hold: a later value of the same name wins, and templateLanguage of a
// template is the template's language, a string.
func (t *typedVars) keep(m *canonical.Message) {
	if !t.typed {
		return
	}
	last := make(map[string][]byte, len(t.pairs))
	for _, p := range t.pairs {
		name := string(p[0])
		if v, ok := m.Vars[name]; ok && kindOf(p[1]) != kindString && v == varValue(p[1]) &&
			!(name == "templateLanguage" && m.Template != nil) {
			last[name] = p[1]
		} else {
			delete(last, name)
		}
	}
	if len(last) == 0 {
		return
	}
	obj := append(make([]byte, 0, 64), '{')
	for i, name := range slices.Sorted(maps.Keys(last)) {
		if i > 0 {
			obj = append(obj, ',')
		}
		obj = adapters.AppendJSONString(obj, name)
		obj = append(obj, ':')
		obj = appendCompact(obj, last[name])
	}
	m.Extra = setExtra(m.Extra, ExtraTyped, string(append(obj, '}')))
}

// typedPairs returns, as name and raw JSON pairs for appendVars, the typed values kept
// with m whose variable still holds the text that value was read as.
func typedPairs(m *canonical.Message) []string {
	obj := m.Extra[ExtraTyped]
	if obj == "" || m.Dialect != Dialect {
		return nil
	}
	raw := []byte(obj)
	if kindOf(trimValue(raw)) != kindObject {
		return nil
	}
	var pairs []string
	for it := members(trimValue(raw)); ; {
		key, val, ok := it.nextMember()
		if !ok {
			return pairs
		}
		name := string(keyName(key))
		if v, ok := m.Vars[name]; ok && v == varValue(val) {
			pairs = append(pairs, name, string(val))
		}
	}
}
