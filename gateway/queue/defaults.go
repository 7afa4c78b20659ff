package queue

import (
	"time"

	"switchboard/config"
)

// Defaults are config's (config/defaults.go), the one place each is written. The gateway
// passes every setting from its configuration, which config has already defaulted and
// validated; a zero Options field takes the same default for the package's direct users
// (tests, benchmarks), so that they run the queue as the gateway does.
var Defaults = config.Defaults().Queue

// OrDefault is v, or def when v is zero or less: how every backend reads a setting.
func OrDefault[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
