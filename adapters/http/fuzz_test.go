package http

import (
	"testing"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
)

// FuzzClassify: Classify decides every answer.
func FuzzClassify(f *testing.F) {
	out, err := NewOutbound(adapters.UpstreamConfig{Name: "hook", URL: "http://127.0.0.1:9000/messages"})
	if err != nil {
		f.Fatal(err)
	}
	adaptertest.FuzzClassify(f, out, `{"id":"42"}`, `{"id":42}`, `not json`)
}
