package gateway

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/config"
)

// TestOpenQueueErrorWrappedOnce: a queue that cannot be opened is reported once, with its
// directory, then Badger's reason.
func TestOpenQueueErrorWrappedOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = file
	q, err := openQueue(&cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		q.Close()
		t.Fatal("opened a queue in a file")
	}
	msg, want := err.Error(), "cannot open queue in "+file+": "
	if !strings.HasPrefix(msg, want) || strings.Count(msg, "cannot open queue") != 1 {
		t.Fatalf("error %q: want it to start %q, and say so once", msg, want)
	}
}
