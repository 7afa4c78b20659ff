package gateway

import (
	"fmt"
	"net"
	"strings"

	"switchboard/config"
)

// publishedSecrets are the secrets switchboard.example.yaml falls back to when its variables
// are unset: anyone who has read the README knows them, so a gateway using them is a demo.
var publishedSecrets = map[string]string{
	"admin_token":        "admin-demo-token",
	"flowbot.jwt_secret": "demo-jwt-secret-change-me-please",
}

// DemoSecrets names the settings of cfg that hold a published secret.
func DemoSecrets(cfg *config.Config) []string {
	var out []string
	for _, kv := range []struct{ key, value string }{
		{"admin_token", cfg.AdminToken},
		{"flowbot.jwt_secret", cfg.Dialects["flowbot"].Value("jwt_secret")},
	} {
		if kv.value != "" && equalSecret(kv.value, publishedSecrets[kv.key]) {
			out = append(out, kv.key)
		}
	}
	return out
}

// CheckDemoSecrets refuses published secrets on a gateway that listens beyond this machine:
// there they would let anyone in. On loopback they are a demo's, and only warned about.
func CheckDemoSecrets(cfg *config.Config) error {
	keys := DemoSecrets(cfg)
	if len(keys) == 0 || loopbackListen(cfg.Listen) {
		return nil
	}
	return fmt.Errorf("cannot listen on %s with the published demo value of %s: set your own (see switchboard.example.yaml), "+
		"or give -insecure-demo to serve a demo beyond loopback", cfg.Listen, strings.Join(keys, " and "))
}

// loopbackListen says whether a listen address is reachable only from this machine.
func loopbackListen(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// demoWarning is what the log and /readyz say while published secrets are in use, or "".
func demoWarning(cfg *config.Config) string {
	keys := DemoSecrets(cfg)
	if len(keys) == 0 {
		return ""
	}
	return "published demo secrets in use (" + strings.Join(keys, ", ") + "): anyone who has read the README can use them; set your own before serving real traffic"
}
