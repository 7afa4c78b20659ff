package config

import (
	"strings"
	"testing"
)

// TestOpenReceipts: `receipts: open` is the one value receipts take, and it is warned about
// at its line, naming the endpoint that takes anything from anyone.
func TestOpenReceipts(t *testing.T) {
	src := `tenants:
  - id: t1
    native: { token: tok1 }
upstreams:
  - name: hook
    dialect: http
    url: "http://127.0.0.1:1/m"
    receipts: open
routes:
  - name: r
    upstreams: [hook]
`
	c, probs := parse(t, src)
	if probs != nil {
		t.Fatalf("the file is valid, got problems:\n%v", probs)
	}
	ws := Warnings(c)
	if len(ws) != 1 || ws[0].Line != 8 || ws[0].Path != "upstreams[0].receipts" ||
		!strings.Contains(ws[0].Message, "/receipts/hook are taken unauthenticated") {
		t.Fatalf("warnings: %v", ws)
	}
	_, probs = parse(t, strings.Replace(src, "receipts: open", "receipts: opne", 1))
	if len(probs) != 1 || probs[0].Path != "upstreams[0].receipts" || !strings.Contains(probs[0].Message, `"opne" is not one of open`) {
		t.Fatalf("problems: %v", probs)
	}
}
