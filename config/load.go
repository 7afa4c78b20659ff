package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Load reads, expands, decodes and validates the file at path. Its error is Problems when
// the file could be read, listing every problem found.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return Parse(data, path)
}

// Parse is Load for a file already read; filename only names it in problems. ${VAR} and
// ${VAR:-default} in values are expanded from the environment, keys a file leaves out take
// their defaults, and the result is validated. The error is always Problems.
func Parse(data []byte, filename string) (*Config, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problems{syntaxProblem(err, filename)}
	}
	d := newDecoder(filename, os.LookupEnv)
	c := Defaults()
	var docs []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc.Body)
		}
	}
	if len(docs) > 1 {
		d.problem(lineOf(docs[1]), "", "want one YAML document, found %d", len(docs))
	}
	if len(docs) > 0 {
		d.resolveAliases(docs[0], map[string]ast.Node{})
		d.src = &source{file: filename, lookup: d.lookup, aliases: d.aliases}
		d.decode(docs[0], reflect.ValueOf(&c).Elem(), "")
	}
	c.file, c.lines, c.unset = filename, d.lines, d.unset
	c.complete(func(path string) bool { _, ok := d.lines[path]; return ok })

	probs := append(d.probs, c.check()...)
	if len(probs) > 0 {
		probs.sort()
		return nil, probs
	}
	return &c, nil
}

func syntaxProblem(err error, filename string) Problem {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) {
		p := Problem{File: filename, Message: "cannot parse YAML: " + ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line = tk.Position.Line
		}
		return p
	}
	return Problem{File: filename, Message: "cannot parse YAML: " + err.Error()}
}
