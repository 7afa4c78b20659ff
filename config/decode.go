package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// maxValues bounds how many values one file may decode to, counting every use of an alias:
// aliases of aliases would expand a small file into millions of values (and as many
// recorded lines). Real files have a few thousand.
const maxValues = 1 << 18

// decoder fills the typed structs from the YAML tree itself rather than through a generic
// decoder, so that every unknown key and bad value is reported (not only the first), each
// scalar is read as the type its field needs after ${VAR} expansion (a secret full of YAML
// syntax stays one string), and the line of every key is kept for Validate.
type decoder struct {
	file    string
	lookup  func(string) (string, bool)
	lines   map[string]int    // path -> line of its key or list item
	unset   map[string]string // path -> variable that was unset and expanded to ""
	aliases map[*ast.AliasNode]ast.Node
	// src is what the sections kept for their owners need to be decoded later.
	src    *source
	probs  Problems
	values int
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{
		file:    file,
		lookup:  lookup,
		lines:   map[string]int{},
		unset:   map[string]string{},
		aliases: map[*ast.AliasNode]ast.Node{},
	}
}

func (d *decoder) problem(line int, path, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}

// resolveAliases binds every alias to the anchor defined before it in the text. Binding
// statically, and registering an anchor only once its own value is walked, keeps the
// alias graph acyclic: "&x {b: *x}" and anchors redefined later cannot make a loop.
func (d *decoder) resolveAliases(n ast.Node, anchors map[string]ast.Node) {
	switch x := n.(type) {
	case *ast.MappingNode:
		for _, kv := range x.Values {
			d.resolveAliases(kv, anchors)
		}
	case *ast.MappingValueNode:
		d.resolveAliases(x.Key, anchors)
		d.resolveAliases(x.Value, anchors)
	case *ast.MappingKeyNode:
		d.resolveAliases(x.Value, anchors)
	case *ast.SequenceNode:
		for _, v := range x.Values {
			d.resolveAliases(v, anchors)
		}
	case *ast.TagNode:
		d.resolveAliases(x.Value, anchors)
	case *ast.AnchorNode:
		d.resolveAliases(x.Value, anchors)
		if x.Name != nil && x.Value != nil {
			anchors[x.Name.GetToken().Value] = x.Value
		}
	case *ast.AliasNode:
		if x.Value != nil {
			if target, ok := anchors[x.Value.GetToken().Value]; ok {
				d.aliases[x] = target
			}
		}
	}
}

// unwrap strips tags and anchors and follows aliases. It reports false, having said why,
// when there is nothing to decode.
func (d *decoder) unwrap(n ast.Node, path string) (ast.Node, bool) {
	for {
		d.values++
		if d.values > maxValues {
			if d.values == maxValues+1 {
				d.problem(lineOf(n), path, "too many values (more than %d, counting each use of an alias)", maxValues)
			}
			return nil, false
		}
		switch x := n.(type) {
		case *ast.TagNode:
			n = x.Value
		case *ast.AnchorNode:
			n = x.Value
		case *ast.AliasNode:
			target, ok := d.aliases[x]
			if !ok {
				d.problem(lineOf(n), path, "alias %s has no anchor before it", x.String())
				return nil, false
			}
			n = target
		case nil:
			return nil, false
		default:
			return n, true
		}
	}
}

// decode fills v from n. An empty or null value leaves v as it is (its default), except
// that it unsets an optional section.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return
	}
	if _, null := n.(*ast.NullNode); null {
		if v.Kind() == reflect.Pointer {
			v.SetZero()
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			setDefaults(v)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		fields := fieldsOf(v.Type())
		rest := restField(v.Type())
		d.eachPair(n, path, func(key string, kv *ast.MappingValueNode) {
			p := join(path, key)
			i, ok := fields[key]
			if !ok && rest >= 0 {
				d.lines[p] = lineOf(kv.Key)
				d.rest(v.Field(rest), key, kv, p, fields)
				return
			}
			if !ok {
				d.problem(lineOf(kv.Key), p, "unknown key %q%s", key, suggest(key, fields))
				return
			}
			d.lines[p] = lineOf(kv.Key)
			d.decode(kv.Value, v.Field(i), p)
		})
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		d.eachPair(n, path, func(key string, kv *ast.MappingValueNode) {
			p := join(path, key)
			d.lines[p] = lineOf(kv.Key)
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(kv.Value, e, p)
			v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), e)
		})
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.problem(lineOf(n), path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.lines[p] = lineOf(item)
			setDefaults(s.Index(i).Addr())
			d.decode(item, s.Index(i), p)
		}
		v.Set(s)
	default:
		d.scalar(n, v, path)
	}
}

// eachPair calls fn for every key of mapping n, merge keys ("<<: *base") first so that the
// mapping's own keys override what they bring in.
func (d *decoder) eachPair(n ast.Node, path string, fn func(key string, kv *ast.MappingValueNode)) {
	var kvs []*ast.MappingValueNode
	switch x := n.(type) {
	case *ast.MappingNode:
		kvs = x.Values
	case *ast.MappingValueNode:
		kvs = []*ast.MappingValueNode{x}
	default:
		d.problem(lineOf(n), path, "want a mapping (key: value), got %s", describe(n))
		return
	}
	for _, kv := range kvs {
		if kv.Key == nil || !kv.Key.IsMergeKey() {
			continue
		}
		src, ok := d.unwrap(kv.Value, path)
		if !ok {
			continue
		}
		if seq, ok := src.(*ast.SequenceNode); ok {
			// In "<<: [*a, *b]" the first mapping wins, so the last is applied first.
			for i := len(seq.Values) - 1; i >= 0; i-- {
				if m, ok := d.unwrap(seq.Values[i], path); ok {
					d.eachPair(m, path, fn)
				}
			}
			continue
		}
		d.eachPair(src, path, fn)
	}
	for _, kv := range kvs {
		if kv.Key == nil || kv.Key.IsMergeKey() {
			continue
		}
		key, ok := d.key(kv.Key)
		if !ok {
			d.problem(lineOf(kv), path, "keys must be plain words, got %s", describe(kv.Key))
			continue
		}
		fn(key, kv)
	}
}

func (d *decoder) key(k ast.MapKeyNode) (string, bool) {
	switch x := k.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return x.GetToken().Value, true
	}
	return "", false
}

// scalar reads n as v's type.
func (d *decoder) scalar(n ast.Node, v reflect.Value, path string) {
	var text string
	switch x := n.(type) {
	case *ast.StringNode:
		text = d.expand(x.Value, lineOf(n), path)
	case *ast.LiteralNode:
		if x.Value != nil {
			text = d.expand(x.Value.Value, lineOf(n), path)
		}
	case *ast.IntegerNode:
		// The parsed value, so that 0x1F and 1_000 read as YAML means them.
		text = fmt.Sprint(x.Value)
		if v.Kind() == reflect.String {
			text = x.GetToken().Value
		}
	case *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		text = x.GetToken().Value
	default:
		d.problem(lineOf(n), path, "want a single value, got %s", describe(n))
		return
	}
	line := lineOf(n)
	if v.Type() == reflect.TypeFor[Duration]() || v.Type() == durationType {
		dur, err := parseDuration(text)
		if err != nil {
			d.problem(line, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			d.problem(line, path, "want a whole number, got %q", text)
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, v.Type().Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.problem(line, path, "want a number, got %q", text)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			d.problem(line, path, "want true or false, got %q", text)
			return
		}
		v.SetBool(b)
	default:
		panic("config: no decoding for " + v.Type().String())
	}
}

// expand replaces ${VAR} and ${VAR:-default} (default when VAR is unset or empty) with the
// environment's values. A "$" not followed by "{" is kept, so secrets may contain "$";
// "$${" is a literal "${".
func (d *decoder) expand(s string, line int, path string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 2
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			d.problem(line, path, "unterminated ${ (write $${ for a literal ${)")
			return s
		}
		name, def, hasDef := strings.Cut(s[i+2:i+2+end], ":-")
		i += 2 + end
		if !isVarName(name) {
			d.problem(line, path, "${%s}: %q is not a variable name", s[i-end:i], name)
			continue
		}
		val, ok := d.lookup(name)
		if val == "" && hasDef {
			val = def
		} else if !ok {
			d.unset[path] = name
		}
		b.WriteString(val)
	}
	return b.String()
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case nil:
		return "nothing"
	}
	s := n.String()
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// setDefaults fills a new list entry or section with its own defaults (Upstream's timeout,
// Route's degrade...), before the file's values are decoded over them.
func setDefaults(ptr reflect.Value) {
	if s, ok := ptr.Interface().(interface{ setDefaults() }); ok {
		s.setDefaults()
	}
}

// fieldsOf maps the yaml keys of struct type t to field indexes.
func fieldsOf(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "" || key == "-" {
			continue
		}
		m[key] = i
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest names the known key closest to a misspelt one.
func suggest(key string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(key, k); dist < bestDist || dist == bestDist && k < best {
			best, bestDist = k, dist
		}
	}
	if best == "" || bestDist >= len(key) {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt32
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
