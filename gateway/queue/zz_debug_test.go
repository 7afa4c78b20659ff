package queue

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

func BenchmarkZZDumpMetrics(t *testing.B) {
	var b bytes.Buffer
	metrics.WritePrometheus(&b, false)
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "_sum") || strings.Contains(l, "_count") || strings.Contains(l, "enqueued_total") {
			fmt.Println(l)
		}
	}
}
