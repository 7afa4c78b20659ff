package gateway

import (
	"slices"
	"strings"
	"testing"

	"switchboard/config"
)

// TestChangedSections: a reload names what changed by content, dialect sections by their
// own key: two readings of one file change nothing, however the YAML spells it.
func TestChangedSections(t *testing.T) {
	const src = checkUpstreams + checkRoutes + `wavy: &w { single_reply: object }
tenants:
  - id: t1
    wavy: { username: u, token: tok }
`
	parse := func(s string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(s), "sb.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := parse(src)
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{src, []string{}},
		{strings.Replace(src, "wavy: &w { single_reply: object }", "wavy:\n  single_reply: object", 1), []string{}},
		{strings.Replace(src, "single_reply: object", "single_reply: array", 1), []string{"wavy"}},
		{strings.Replace(src, "token: tok", "token: other", 1), []string{"tenants"}},
		{src + "multiwhats: { reply: actual }\n", []string{"multiwhats"}},
	} {
		if got := changedSections(parse(tc.src), a); !slices.Equal(got, tc.want) {
			t.Errorf("changed = %q, want %q, for:\n%s", got, tc.want, tc.src)
		}
	}
}
