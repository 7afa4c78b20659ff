package gateway

import (
	"strings"
	"testing"

	"switchboard/config"
)

func TestDemoSecrets(t *testing.T) {
	demo, err := config.Parse([]byte(`listen: 127.0.0.1:8080
admin_token: admin-demo-token
flowbot: { jwt_secret: demo-jwt-secret-change-me-please }
upstreams: [{ name: s, dialect: sandbox }]
routes: [{ name: r, upstreams: [s] }]
`), "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := DemoSecrets(demo); strings.Join(got, ",") != "admin_token,flowbot.jwt_secret" {
		t.Fatalf("DemoSecrets = %v", got)
	}
	own := &config.Config{Listen: "0.0.0.0:8080", AdminToken: "a-token-of-our-own"}
	if got := DemoSecrets(own); len(got) != 0 {
		t.Fatalf("own secrets taken for demo ones: %v", got)
	}
	for listen, refused := range map[string]bool{
		"127.0.0.1:8080": false, "localhost:8080": false, "[::1]:8080": false,
		"0.0.0.0:8080": true, ":8080": true, "10.1.2.3:8080": true, "[::]:8080": true,
	} {
		demo.Listen = listen
		err := CheckDemoSecrets(demo)
		if (err != nil) != refused {
			t.Errorf("listen %s: %v, want refused %v", listen, err, refused)
		}
		if err != nil && !strings.Contains(err.Error(), "-insecure-demo") {
			t.Errorf("listen %s: the refusal does not say how to serve a demo anyway: %v", listen, err)
		}
	}
	own.Listen = "0.0.0.0:8080"
	if err := CheckDemoSecrets(own); err != nil {
		t.Errorf("own secrets refused: %v", err)
	}
}
