package flowbot

import (
	"slices"
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// ExtraTyped is the Extra key that keeps the JSON of the flow variables whose values are
// not strings (numbers, booleans, null, arrays, objects), as one compact object: canonical
// variables are text, which every other dialect takes, but a FlowBot upstream must get
// "total":149.90 back, not "total":"149.90".
const ExtraTyped = "typedData"

// typedVars gathers the variables of one request from the first whose value is not a
// string on (a string before it cannot be its last value), as name and raw JSON pairs in
// the order read: a request of strings only costs nothing.
type typedVars struct{ pairs [][2][]byte }

// note records name's raw value.
func (t *typedVars) note(name, raw []byte) {
	if t.pairs != nil || kindOf(raw) != kindString {
		t.pairs = append(t.pairs, [2][]byte{name, raw})
	}
}

// keep stores in m.Extra, sorted by name as the encoder writes variables, the typed values
// m's variables still hold: the last value of a name counts, and templateLanguage of a
// template is the template's language, a string.
func (t *typedVars) keep(m *canonical.Message) {
	var names []string
	var raws [][]byte
	for i := len(t.pairs) - 1; i >= 0; i-- { // the last value of each name
		name, raw := t.pairs[i][0], t.pairs[i][1]
		if slices.Contains(names, string(name)) {
			continue
		}
		names, raws = append(names, string(name)), append(raws, raw)
	}
	n := 0
	for i, name := range names {
		v, ok := m.Vars[name]
		if ok && kindOf(raws[i]) != kindString && v == varValue(raws[i]) && !(name == "templateLanguage" && m.Template != nil) {
			names[n], raws[n] = name, raws[i]
			n++
		}
	}
	if n == 0 {
		return
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	obj := append(make([]byte, 0, 64), '{')
	for i, j := range order {
		if i > 0 {
			obj = append(obj, ',')
		}
		obj = adapters.AppendJSONString(obj, names[j])
		obj = append(obj, ':')
		obj = appendCompact(obj, raws[j])
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
