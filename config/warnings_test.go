package config

import (
	"os"
	"strings"
	"testing"
)

// TestWarnings: each risky pattern is warned about once, at its path and line; the parts
// of the file that are fine are not.
func TestWarnings(t *testing.T) {
	os.Unsetenv("SWB_UNSET_ADMIN_TOKEN")
	src := `admin_token: "${SWB_UNSET_ADMIN_TOKEN}"
tenants:
  - id: t1
    native: { token: tok1 }
upstreams:
  - name: sink
    dialect: sandbox
  - name: other
    dialect: sandbox
  - name: idle
    dialect: sandbox
routes:
  - name: twice
    match: { tenants: [t1] }
    upstreams: [sink]
    mirror: sink
  - name: split
    match: { dialects: [native] }
    split: [{ upstream: sink, weight: 10 }, { upstream: other, weight: 100 }]
    mirror: other
  - name: all
    upstreams: [sink]
  - name: late
    match: { kinds: [text] }
    upstreams: [other]
`
	c, probs := parse(t, src)
	if probs != nil {
		t.Fatalf("the file is valid, got problems:\n%v", probs)
	}
	want := []struct {
		line        int
		path, words string
	}{
		{1, "admin_token", "the admin API is off (${SWB_UNSET_ADMIN_TOKEN} is not set)"},
		{10, "upstreams[2].name", `upstream "idle" is used by no route`},
		{16, "routes[0].mirror", `"sink" is also in the route's upstreams`},
		{19, "routes[1].split", "the weights add to 110, not 100"},
		{20, "routes[1].mirror", `"other" is also an arm of the route's split`},
		{23, "routes[3]", `route "late" never matches: route "all" before it matches every message`},
	}
	ws := Warnings(c)
	if len(ws) != len(want) {
		t.Fatalf("got %d warnings, want %d:\n%v", len(ws), len(want), ws)
	}
	for i, w := range want {
		got := ws[i]
		if got.Line != w.line || got.Path != w.path || !strings.Contains(got.Message, w.words) || got.File != "switchboard.yaml" {
			t.Errorf("warning %d: got %s\nwant line %d, %s: ...%s...", i, got, w.line, w.path, w.words)
		}
	}
}

// TestNoWarnings: the shipped example and a plain file draw none.
func TestNoWarnings(t *testing.T) {
	for name, src := range map[string]string{"plain": okFile, "example": string(mustRead(t, "../switchboard.example.yaml"))} {
		c, probs := parse(t, src)
		if probs != nil {
			t.Fatalf("%s: %v", name, probs)
		}
		if ws := Warnings(c); len(ws) > 0 {
			t.Errorf("%s: unexpected warnings:\n%v", name, ws)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
