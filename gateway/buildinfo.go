package gateway

import (
	"fmt"

	"github.com/VictoriaMetrics/metrics"
)

// buildInfo is switchboard_build_info: always 1, its labels say which build is running, so a
// dashboard can show versions side by side during a rollout.
var _ = metrics.NewGauge(fmt.Sprintf(`switchboard_build_info{version=%q,goversion=%q}`, Version(), GoVersion()),
	func() float64 { return 1 })

// userAgent names this build in the User-Agent of every upstream request.
func userAgent() string { return "switchboard/" + Version() }
