package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one mistake in a configuration file.
type Problem struct {
	// File is the file's name as given to Load or Parse; empty for a Config built in code.
	File string
	// Line is the 1-based line of the offending key, or of its parent when the key is
	// missing; 0 when unknown.
	Line int
	// Path names the key with yaml keys and indexes: "routes[0].upstreams[1]".
	Path    string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if p.File == "" {
			b.WriteString("line ")
		} else {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every mistake found in a configuration, in file order. It is the error
// Load, Parse and Validate return, so that an operator fixes them all in one pass.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sort orders problems by line; problems without a line (missing top-level keys) go last.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}

// Err returns ps in file order as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sort()
	return ps
}
