package native

import (
	"testing"

	"switchboard/adapters/adaptertest"
)

func TestGolden(t *testing.T) { adaptertest.RunGolden(t, New(), "testdata/golden") }

func TestErrors(t *testing.T) { adaptertest.CheckErrors(t, New()) }
