package native

import (
	"testing"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
)

func FuzzDecodeSend(f *testing.F) {
	adaptertest.Fuzz(f, New(), adapters.OpSend, "POST", "/gateway/v1/messages",
		map[string]string{"Authorization": "Bearer t"},
		`{"to":"+972501234567","text":"hi"}`,
		`{"to":"5511900000000","media":[{"url":"https://x/a.jpg"}],"buttons":["a"],"template":{"name":"otp","params":["1"]}}`)
}
