package gateway

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"switchboard/gateway/compare"
)

// The migration page: the upstreams side by side over a window, from the dispatcher's
// comparison ring (gateway/compare), rendered on the server with no external assets.
const migrationPath = "/admin/migration"

// windows are the page's choices, in the order of its links.
var windows = []struct {
	name      string
	span, bin time.Duration // the window, and the step of its plots
}{
	{"15m", 15 * time.Minute, time.Minute},
	{"1h", time.Hour, time.Minute},
	{"1d", 24 * time.Hour, 15 * time.Minute},
}

// topReasons is how many failure reasons the page lists per upstream.
const topReasons = 5

func (s *Server) migrationRoutes(r *router.Router) {
	r.GET(migrationPath, s.pageAuth(s.migrationPage))
	r.GET("/admin/login", s.instrument("admin", s.loginForm))
	r.POST("/admin/login", s.instrument("admin", s.login))
	r.POST("/admin/v1/login-ticket", s.admin(s.loginTicket))
}

// pageData is what the template shows.
type pageData struct {
	Version   string
	Generated string
	Window    string
	Windows   []string
	Upstreams []upstreamView
	Arms      []compare.Figures
	Routes    []routeShare
	A, B      string
	Names     []string
	Verdict   string
	Compared  []compare.Comparison
	Plots     []plot
}

type upstreamView struct {
	compare.Figures
	Reasons []compare.Reason
}

// routeShare is which share of a route's accepted messages went where.
type routeShare struct {
	Route string
	Rows  []shareRow
}

type shareRow struct {
	Upstream string
	Arm      compare.Arm
	Accepted uint64
	Share    string
}

func (s *Server) migrationPage(ctx *fasthttp.RequestCtx) {
	win := windows[0]
	for _, w := range windows {
		if string(ctx.QueryArgs().Peek("window")) == w.name {
			win = w
		}
	}
	rec := s.disp.Recorder()
	series := rec.Window(win.span)
	ups := compare.ByUpstream(series)
	d := pageData{Version: Version(), Generated: time.Now().UTC().Format("2006-01-02 15:04:05 MST"), Window: win.name, Arms: series}
	for _, w := range windows {
		d.Windows = append(d.Windows, w.name)
	}
	for _, u := range ups {
		d.Upstreams = append(d.Upstreams, upstreamView{Figures: u, Reasons: u.TopReasons(topReasons)})
		d.Names = append(d.Names, u.Upstream)
	}
	d.Routes = shares(series)
	d.A, d.B = pickAB(series, string(ctx.QueryArgs().Peek("a")), string(ctx.QueryArgs().Peek("b")))
	if d.A != "" && d.B != "" {
		a, b := find(ups, d.A), find(ups, d.B)
		d.Compared = compare.Compare(a, b)
		d.Verdict = compare.Verdict(d.A, d.B, d.Compared)
	}
	d.Plots = plots(rec.Timeline(win.span, win.bin), win.bin)
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, &d); err != nil {
		s.log.Error("cannot render the migration page", "err", err)
		ctx.Error("cannot render the page", fasthttp.StatusInternalServerError)
		return
	}
	writeHTML(ctx, 200, buf.Bytes())
}

func find(fs []compare.Figures, upstream string) *compare.Figures {
	for i := range fs {
		if fs[i].Upstream == upstream {
			return &fs[i]
		}
	}
	return &compare.Figures{Upstream: upstream}
}

// pickAB returns the upstreams to compare: those asked for when the window has them; else A
// is the one that carried the most messages for real (not as a mirror), and B the busiest
// other one.
func pickAB(series []compare.Figures, a, b string) (string, string) {
	real, all := map[string]uint64{}, map[string]uint64{}
	var names []string
	for _, f := range series {
		if _, ok := all[f.Upstream]; !ok {
			names = append(names, f.Upstream)
		}
		all[f.Upstream] += f.Attempts()
		if f.Arm != compare.ArmMirror {
			real[f.Upstream] += f.Attempts()
		}
	}
	if !slices.Contains(names, a) {
		a = ""
		for _, n := range names {
			if a == "" || real[n] > real[a] {
				a = n
			}
		}
	}
	if !slices.Contains(names, b) || b == a {
		b = ""
		for _, n := range names {
			if n != a && (b == "" || all[n] > all[b]) {
				b = n
			}
		}
	}
	return a, b
}

func shares(series []compare.Figures) []routeShare {
	byRoute := map[string]*routeShare{}
	totals := map[string]uint64{}
	var names []string
	for _, f := range series {
		if f.Accepted == 0 {
			continue
		}
		rs := byRoute[f.Route]
		if rs == nil {
			rs = &routeShare{Route: f.Route}
			byRoute[f.Route] = rs
			names = append(names, f.Route)
		}
		rs.Rows = append(rs.Rows, shareRow{Upstream: f.Upstream, Arm: f.Arm, Accepted: f.Accepted})
		if f.Arm != compare.ArmMirror { // a mirror copy is extra: it takes no share
			totals[f.Route] += f.Accepted
		}
	}
	sort.Strings(names)
	out := make([]routeShare, 0, len(names))
	for _, n := range names {
		rs := byRoute[n]
		for i := range rs.Rows {
			r := &rs.Rows[i]
			switch {
			case r.Arm == compare.ArmMirror:
				r.Share = "mirror copies"
			case totals[n] > 0:
				r.Share = fmt.Sprintf("%.1f%%", 100*float64(r.Accepted)/float64(totals[n]))
			}
		}
		out = append(out, *rs)
	}
	return out
}
