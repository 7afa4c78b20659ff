package dispatch

import (
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// lossNames say what became of each thing an upstream cannot carry once the route's
// degrade policy rendered the message for it.
var lossNames = map[need]string{
	needMedia:    "media sent as links",
	needButtons:  "buttons sent as numbered lines",
	needList:     "list sent as numbered lines",
	needTemplate: "template rendered as text",
	needFlash:    "flash dropped (sent as a normal message)",
}

// sentWithout counts, per upstream and kind of content, a message sent without what the
// upstream cannot carry, and returns the reason its sent status records ("" when nothing
// was): nothing is dropped or rewritten without a trace in the message's history and in
// switchboard_degraded_total.
func sentWithout(upstream string, lost need) string {
	if lost == 0 {
		return ""
	}
	var what []string
	for i, name := range needNames {
		bit := need(1) << i
		if lost&bit == 0 {
			continue
		}
		metrics.GetOrCreateCounter(`switchboard_degraded_total{upstream="` + upstream + `",content="` + strings.ReplaceAll(name, " ", "_") + `"}`).Inc()
		if s, ok := lossNames[bit]; ok {
			what = append(what, s)
		}
	}
	return "upstream " + upstream + " cannot carry " + lost.String() + ": " + strings.Join(what, "; ")
}
