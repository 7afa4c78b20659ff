package badgerfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const badgerModule = "github.com/dgraph-io/badger/v4"

// TestBadgerVersion fails when the project builds with another Badger than the one this
// package's reasoning was checked against (CheckedVersion): check it again against the new
// sources (file names, writes through mmaps, when files move on and are removed), then move
// CheckedVersion.
func TestBadgerVersion(t *testing.T) {
	if got := requiredVersion(t); got != CheckedVersion {
		t.Fatalf("go.mod requires Badger %s; badgerfs was checked against %s", got, CheckedVersion)
	}
}

// requiredVersion is Badger's version as go.mod requires it, found up from this directory.
// (A test binary's build info lists no dependencies.) A replace of Badger fails the test.
func requiredVersion(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			version := ""
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if slices.Contains(f, "=>") && slices.Contains(f, badgerModule) {
					t.Fatalf("go.mod replaces Badger: %s", strings.TrimSpace(line))
				}
				if i := slices.Index(f, badgerModule); i >= 0 && i+1 < len(f) {
					version = f[i+1]
				}
			}
			if version == "" {
				t.Fatalf("%s/go.mod does not require %s", dir, badgerModule)
			}
			return version
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package")
		}
		dir = parent
	}
}
