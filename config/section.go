package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/goccy/go-yaml/ast"
)

// Section is a part of the file whose shape config leaves to the package that owns it: a
// dialect's section, at the top level (wavy:) or in a tenant (tenants[0].wavy:), which the
// vendor of that name decodes into its own typed options or credentials. A struct field
// tagged `yaml:",rest"` (a map of Sections) takes every key its struct does not know; the
// gateway's check hands each to its vendor and reports the keys no vendor owns. Config
// keeps where a section is, so every problem found in it carries its line.
type Section struct {
	path string
	node ast.Node
	src  *source
	// siblings are the keys of the struct the section sits in, to suggest for a misspelt one.
	siblings []string
}

// source is what decoding a section later needs of the file it came from.
type source struct {
	file    string
	lookup  func(string) (string, bool)
	aliases map[*ast.AliasNode]ast.Node
}

// Path is where the section is in the file: "wavy", "tenants[0].wavy".
func (s Section) Path() string { return s.path }

// Key is the section's own key: "wavy".
func (s Section) Key() string {
	for i := len(s.path) - 1; i >= 0; i-- {
		if s.path[i] == '.' {
			return s.path[i+1:]
		}
	}
	return s.path
}

// Decode fills v, a pointer to a struct whose fields carry yaml tags and already hold their
// defaults, from the section, exactly as config decodes its own: ${VAR} expanded, every
// unknown key and bad value a problem at its line. time.Duration fields read "5s", "15m".
func (s Section) Decode(v any) Problems {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("config: Section.Decode needs a non-nil pointer, got %T", v))
	}
	if s.src == nil {
		return nil
	}
	d := s.decoder()
	d.decode(s.node, rv.Elem(), s.path)
	return d.probs
}

// Unknown is the problem of a section no one owns: its key is unknown where it stands.
// owned are the keys that would have been taken (the vendors' names), for the suggestion.
func (s Section) Unknown(c *Config, owned []string) Problem {
	fields := map[string]int{}
	for i, k := range slices.Concat(s.siblings, owned) {
		fields[k] = i
	}
	key := s.Key()
	return c.Problem(s.path, "unknown key %q%s", key, suggest(key, fields))
}

// MarshalJSON renders the section's values, aliases and merges resolved, so that two
// readings of a file compare equal when the section's content is the same (a reload names
// the sections that changed).
func (s Section) MarshalJSON() ([]byte, error) {
	if s.src == nil {
		return []byte("null"), nil
	}
	return json.Marshal(s.decoder().generic(s.node, s.path))
}

func (s Section) decoder() *decoder {
	d := newDecoder(s.src.file, s.src.lookup)
	d.aliases = s.src.aliases
	return d
}

// generic reads n as plain values: maps, lists and each scalar's text.
func (d *decoder) generic(n ast.Node, path string) any {
	n, ok := d.unwrap(n, path)
	if !ok {
		return nil
	}
	switch x := n.(type) {
	case *ast.NullNode:
		return nil
	case *ast.MappingNode, *ast.MappingValueNode:
		m := map[string]any{}
		d.eachPair(n, path, func(key string, kv *ast.MappingValueNode) { m[key] = d.generic(kv.Value, join(path, key)) })
		return m
	case *ast.SequenceNode:
		l := make([]any, len(x.Values))
		for i, item := range x.Values {
			l[i] = d.generic(item, path+"["+strconv.Itoa(i)+"]")
		}
		return l
	}
	var text string
	d.scalar(n, reflect.ValueOf(&text).Elem(), path)
	return text
}

// rest keeps the value of an unknown key in a `yaml:",rest"` map for its owner to decode,
// noting the lines of its keys and the variables it names that are unset (walk).
func (d *decoder) rest(m reflect.Value, key string, kv *ast.MappingValueNode, path string, siblings map[string]int) {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	keys := make([]string, 0, len(siblings))
	for k := range siblings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	d.walk(kv.Value, path)
	m.SetMapIndex(reflect.ValueOf(key), reflect.ValueOf(Section{path: path, node: kv.Value, src: d.src, siblings: keys}))
}

// walk records the lines of every key under n and the unset variables its values name,
// without decoding them: their problems are the owner's to report when it decodes.
func (d *decoder) walk(n ast.Node, path string) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return
	}
	switch x := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		d.eachPair(n, path, func(key string, kv *ast.MappingValueNode) {
			p := join(path, key)
			d.lines[p] = lineOf(kv.Key)
			d.walk(kv.Value, p)
		})
	case *ast.SequenceNode:
		for i, item := range x.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.lines[p] = lineOf(item)
			d.walk(item, p)
		}
	case *ast.StringNode, *ast.LiteralNode:
		probs := len(d.probs)
		var text string
		d.scalar(n, reflect.ValueOf(&text).Elem(), path)
		d.probs = d.probs[:probs]
	}
}

// restField is the index of t's `yaml:",rest"` field, or -1.
func restField(t reflect.Type) int {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("yaml") == ",rest" && t.Field(i).Type == reflect.TypeFor[map[string]Section]() {
			return i
		}
	}
	return -1
}

// durationType is time.Duration, which sections' owners use where config uses Duration.
var durationType = reflect.TypeFor[time.Duration]()

// Value is the text of the single value at key in the section, ${VAR} expanded, or "".
func (s Section) Value(key string) string {
	if s.src == nil {
		return ""
	}
	m, _ := s.decoder().generic(s.node, s.path).(map[string]any)
	v, _ := m[key].(string)
	return v
}
