package config

import (
	"strconv"

	"switchboard/canonical"
)

// OptOut is a tenant's opt-out keywords. A recipient whose reply is, as a whole message, one
// of the Stop words (case and accents ignored) is put on the tenant's opt-out list, and every
// later message to that number fails at once, before any upstream; a Start word takes the
// number off. An empty list (`stop: []`) turns that half off; left out, the defaults apply.
type OptOut struct {
	Stop  []string `yaml:"stop"`
	Start []string `yaml:"start"`
}

// DefaultStopWords are the opt-out words in the languages of the vendors' markets (English,
// Portuguese, Turkish, Hebrew); DefaultStartWords the opt-in.
var (
	DefaultStopWords  = []string{"STOP", "SAIR", "PARAR", "İPTAL", "הסר"}
	DefaultStartWords = []string{"START"}
)

// optOut checks a tenant's opt-out words: none empty, none in both lists (compared as
// replies are, canonical.FoldKeyword).
func (k *checker) optOut(p string, o OptOut) {
	stops := map[string]bool{}
	for i, w := range o.Stop {
		f := canonical.FoldKeyword(w)
		if f == "" {
			k.add(p+".stop["+strconv.Itoa(i)+"]", "is empty")
		}
		stops[f] = true
	}
	for i, w := range o.Start {
		switch f := canonical.FoldKeyword(w); {
		case f == "":
			k.add(p+".start["+strconv.Itoa(i)+"]", "is empty")
		case stops[f]:
			k.add(p+".start["+strconv.Itoa(i)+"]", "%q is also a stop word", w)
		}
	}
}
