package main

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
)

// dashboardMetrics returns every switchboard metric the Grafana dashboard queries.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/grafana/switchboard-migration.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Definition string
			}
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	name := regexp.MustCompile(`\bswitchboard_[a-z_]+`)
	seen := map[string]bool{}
	var out []string
	add := func(expr string) {
		for _, n := range name.FindAllString(expr, -1) {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			add(tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		add(v.Definition)
	}
	if len(out) < 10 {
		t.Fatalf("the dashboard queries only %d metrics: %v", len(out), out)
	}
	return out
}

// TestDashboardMetricsExist: every metric the Grafana dashboard queries is on a live
// gateway's /metrics once traffic went through it (a refusal and failed receipts included),
// with HELP and TYPE.
func TestDashboardMetricsExist(t *testing.T) {
	want := dashboardMetrics(t)
	m := startMigration(t, mirrorRoutes, "failed")
	m.send(t, "5511987", 60)
	m.send(t, "4400", 3) // to the refuser: a 422 for good
	deadline := time.Now().Add(30 * time.Second)
	var body string
	for {
		_, body = get("http://"+m.addr+"/metrics", nil)
		if strings.Contains(body, `switchboard_upstream_undelivered_total{route="everything",upstream="multiwhats",arm="mirror",code=`) &&
			strings.Contains(body, `switchboard_upstream_refused_total{route="refused",upstream="refuser",arm="primary",code="422"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal or failed receipt counted within 30s:\n%s", grepLines(body, "switchboard_upstream_"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, n := range want {
		if !regexp.MustCompile(`(?m)^` + n + `[{ ]`).MatchString(body) {
			t.Errorf("the dashboard queries %s, which /metrics does not have", n)
		}
		family := strings.TrimSuffix(n, "_bucket")
		if !strings.Contains(body, "# TYPE "+family+" ") || !regexp.MustCompile(`(?m)^# HELP `+family+` \S`).MatchString(body) {
			t.Errorf("%s has no HELP text or TYPE", family)
		}
	}
	if !regexp.MustCompile(`(?m)^switchboard_build_info\{version="[^"]+",go="go[^"]+"\} 1$`).MatchString(body) {
		t.Errorf("no build info:\n%s", grepLines(body, "build_info"))
	}
	if strings.Contains(body, "vmrange") && regexp.MustCompile(`(?m)^switchboard_(upstream|ingress)\w*_bucket\{[^}]*vmrange`).MatchString(body) {
		t.Errorf("an upstream or ingress histogram has vmrange buckets, not le")
	}
}

// TestPrometheusQuantilePerUpstream runs a stock Prometheus on the repository's scrape config
// against a live gateway and asks it the p99 time to delivery per upstream.
func TestPrometheusQuantilePerUpstream(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("no prometheus: apt-get install prometheus (Debian) to run this test")
	}
	m := startMigration(t, mirrorRoutes, "delivered")
	raw, err := os.ReadFile("../../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := strings.NewReplacer(`"127.0.0.1:8080"`, strconv.Quote(m.addr), "15s", "1s").Replace(string(raw))
	cfgPath := dir + "/prometheus.yml"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	cmd := exec.Command(prom, "--config.file="+cfgPath, "--storage.tsdb.path="+dir+"/data",
		"--web.listen-address="+promAddr)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// Traffic goes on while Prometheus starts scraping: a rate needs two scrapes that differ.
	q := `histogram_quantile(0.99, sum by (le, upstream) (rate(switchboard_upstream_delivery_seconds_bucket[1m])))`
	deadline := time.Now().Add(90 * time.Second)
	for batch := 0; ; batch++ {
		m.send(t, fmt.Sprintf("55119%02d", batch%100), 20)
		got := promQuery(promAddr, q)
		if got["wavy"] > 0 && got["multiwhats"] > 0 {
			if got["wavy"] <= got["multiwhats"] {
				t.Errorf("p99 time to delivery: wavy %vs, multiwhats %vs; wavy's receipts come later", got["wavy"], got["multiwhats"])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus gave no p99 per upstream within 90s: %v\n%s", got, out.String())
		}
		time.Sleep(time.Second)
	}
}

// promQuery runs an instant query and returns the finite values by upstream.
func promQuery(addr, q string) map[string]float64 {
	_, body := get("http://"+addr+"/api/v1/query?query="+url.QueryEscape(q), nil)
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string
				Value  []any
			}
		}
	}
	out := map[string]float64{}
	if json.Unmarshal([]byte(body), &r) != nil {
		return out
	}
	for _, s := range r.Data.Result {
		if len(s.Value) == 2 {
			if v, err := strconv.ParseFloat(s.Value[1].(string), 64); err == nil && v == v {
				out[s.Metric["upstream"]] = v
			}
		}
	}
	return out
}
