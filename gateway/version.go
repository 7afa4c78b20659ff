package gateway

import (
	"runtime/debug"
	"sync"
)

// version may be set at link time (-ldflags "-X switchboard/gateway.version=v1.2.3"); without it,
// Version reads the module version or VCS revision that `go build` and `go install` record.
var version string

var versionOnce = sync.OnceValue(func() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
})

// Version is this build's version: for logs, the build-info metric and the upstream User-Agent.
func Version() string { return versionOnce() }

// GoVersion is the Go toolchain this binary was built with.
func GoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return "unknown"
}
