package native

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestUnmarshalAgreesWithTheStream holds the one-call decode to the Decoder it replaced:
// for every body, the same request or the same error. The bodies are the golden cases'
// and the edges where the two readers differ in how they reach the end of the input.
func TestUnmarshalAgreesWithTheStream(t *testing.T) {
	for _, body := range agreeBodies(t) {
		checkAgree(t, body)
	}
}

// FuzzUnmarshalAgreesWithTheStream is the same property on any body.
func FuzzUnmarshalAgreesWithTheStream(f *testing.F) {
	for _, body := range agreeBodies(f) {
		f.Add(body)
	}
	f.Fuzz(checkAgree)
}

func agreeBodies(t testing.TB) []string {
	bodies := []string{
		`{"to":"972501234567","text":"hi"}`,
		"{\"to\":\"972501234567\",\"text\":\"hi\"}\n \t",
		`{"to":"972501234567","text":"hi"} {}`,
		`{"to":"972501234567","text":"hi"}x`,
		`{"to":"972501234567","txt":"hi"}`,
		`{"to":"972501234567","media":[{"url":"https://x/a.jpg","size":1}]}`,
		`{"to":"972501234567","template":{"name":"otp","lang":"en"}}`,
		`{"to":"972501234567","text":"hi","TEXT":"ho"}`,
		`{"to":"972501234567","text":"\u05e9\u05dc\u05d5\u05dd \ud83d\ude00"}`,
		`{"to":972501234567}`,
		`{"to":"972501234567","vars":{"a":"1","a":"2"},"flash":true}`,
		`{"to":"972501234567","not_before":"2026-01-02T03:04:05Z","expires_at":"bad"}`,
		`[]`, `null`, ``, `{`, `{"to":"1",}`, `{"to":"1"}}`,
	}
	golden, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, g := range golden {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Body string }
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		bodies = append(bodies, c.Body)
	}
	return bodies
}

func checkAgree(t *testing.T, body string) {
	var fast, slow request
	ferr, serr := unmarshalSend([]byte(body), &fast), decodeStream([]byte(body), &slow)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
		t.Errorf("%q: unmarshalSend says %v, the Decoder %v", body, ferr, serr)
		return
	}
	if ferr == nil && !reflect.DeepEqual(fast, slow) {
		t.Errorf("%q: unmarshalSend reads %+v, the Decoder %+v", body, fast, slow)
	}
}
