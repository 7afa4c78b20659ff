package marker

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestMarkerSurvivesEncodings(t *testing.T) {
	text := AppendText(nil, "0badcafe", 12345, 1700000000123456789, 200)
	if len(text) != 200 {
		t.Fatalf("text is %d bytes, want 200", len(text))
	}
	canonical, _ := json.Marshal(map[string]any{"to": "972501234567", "text": string(text), "vars": map[string]string{"k": "v"}})
	bodies := map[string][]byte{
		"raw":        text,
		"json":       canonical,
		"urlencoded": []byte("wapMessage=" + url.QueryEscape(string(text))),
	}
	for name, b := range bodies {
		m, ok := Find(b)
		if !ok || m.Run != "0badcafe" || m.Seq != 12345 || m.SentNs != 1700000000123456789 {
			t.Errorf("%s: got %+v, %v", name, m, ok)
		}
	}
	if small := AppendText(nil, "0badcafe", 1, 2, 5); !strings.HasPrefix(string(small), "sbt=0badcafe.1.2") {
		t.Errorf("a size below the marker must keep the whole marker, got %q", small)
	}
	for _, bad := range []string{"", "sbt=", "sbt=short.1.2", "sbt=0badcafe.x.2", "sbt=0badcafe.1.", "sbt=0badcafe.1"} {
		if m, ok := Find([]byte(bad)); ok {
			t.Errorf("%q parsed as %+v", bad, m)
		}
	}
}
