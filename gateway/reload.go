package gateway

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/dispatch"
)

// Reload (SIGHUP, POST /admin/v1/reload) reads the config file again, validates it as
// `check` does, and swaps everything that can change live at once: dispatch's plan
// (upstreams, routes, splits, mirrors, limits, templates, retry; dispatch.Apply), then a new
// generation of the request path (tenants, credentials, tenant limits, dialect options,
// admin token), which requests take from core.live as they start; and the callbacks worker,
// when the callback settings changed (reloadcallbacks.go). A request in progress
// finishes on the generation it started with; a send in flight on the upstream it started
// on. A file that fails validation changes nothing.

// reloader is the state reloads share.
type reloader struct {
	mu sync.Mutex // one reload at a time
	// path is the config file; empty until EnableReload, when reloads are refused.
	path string
	// level, when set, is the logger's level, which a reload sets from log_level.
	level *slog.LevelVar
	// generation counts the reloads applied since start.
	generation int
	// unwatch stops the config watcher (watch.go); nil when none runs.
	unwatch chan struct{}
	// insecureDemo allows published demo secrets beyond loopback (CheckDemoSecrets).
	insecureDemo bool
	// cbRunning is whether the callbacks worker runs: from Serve to Shutdown.
	cbRunning bool
}

// EnableReload names the config file reloads read and the logger's level they set;
// insecureDemo lets them bring published demo secrets beyond loopback (serve -insecure-demo).
func (s *Server) EnableReload(path string, level *slog.LevelVar, insecureDemo bool) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	s.reload.path, s.reload.level, s.reload.insecureDemo = path, level, insecureDemo
	if every := time.Duration(s.live.Load().cfg.WatchConfig); every > 0 && s.reload.unwatch == nil {
		s.reload.unwatch = make(chan struct{})
		go s.watchConfig(path, every, s.reload.unwatch)
	}
}

// ReloadResult is the answer of a reload, for the log and the admin API.
type ReloadResult struct {
	Reloaded bool `json:"reloaded"`
	// Problems are the file's mistakes, each with its line, when it was refused.
	Problems []string `json:"problems,omitempty"`
	// Warnings are what `check` warns about in the file applied, and a callbacks worker
	// that could not be rebuilt.
	Warnings []string `json:"warnings,omitempty"`
	// Changed are the top-level sections that differ from the running config.
	Changed []string `json:"changed"`
	// NotLive are settings that changed in the file but take effect only on a restart; the
	// running values are kept.
	NotLive []string `json:"not_live,omitempty"`
	// Upstreams says which upstreams were kept as they were, added, changed and removed.
	Upstreams  dispatch.Changes `json:"upstreams"`
	Generation int              `json:"generation"`
}

// Reload applies the config file again. The error is set only when nothing was applied.
func (s *Server) Reload() (ReloadResult, error) {
	rl := &s.reload
	rl.mu.Lock()
	defer rl.mu.Unlock()
	cfg, d, res, err := s.readConfig(nil)
	if err != nil {
		s.log.Error("reload refused: the config has problems; the running config is unchanged",
			"config", rl.path, "problems", res.Problems)
		return res, err
	}
	old := s.live.Load()
	cert, err := loadCert(cfg.TLS)
	if err != nil {
		res.Problems = []string{err.Error()}
		s.log.Error("reload refused; the running config is unchanged", "err", err)
		return res, err
	}
	ingress, err := newIngress(d, s.vendors, old.ingress)
	if err != nil {
		res.Problems = []string{err.Error()}
		s.log.Error("reload refused; the running config is unchanged", "err", err)
		return res, err
	}
	ch, err := s.disp.Apply(dispatch.SettingsOf(cfg))
	if err != nil {
		s.log.Error("reload refused; the running config is unchanged", "err", err)
		res.Problems = []string{err.Error()}
		return res, err
	}
	if err := s.swapCallbacks(cfg, old.cfg); err != nil {
		s.log.Error("the callback settings are kept as they were", "err", err)
		res.Warnings = append(res.Warnings, "callbacks: the running settings are kept: "+err.Error())
	}
	if cert != nil {
		s.cert.Store(cert)
	}
	s.live.Store(newGeneration(s.core, cfg, d, old, ingress))
	if rl.level != nil {
		var lv slog.Level
		if lv.UnmarshalText([]byte(cfg.LogLevel)) == nil {
			rl.level.Set(lv)
		}
	}
	rl.generation++
	res.Reloaded, res.Upstreams, res.Generation = true, ch, rl.generation
	s.log.Info("reloaded", "config", rl.path, "generation", rl.generation, "sections", res.Changed, "kept", ch.Kept,
		"added", ch.Added, "changed", ch.Changed, "removed", ch.Removed, "not_live", res.NotLive, "warnings", res.Warnings)
	return res, nil
}

// Preview says what a reload would change, changing nothing: of the config file, or of data
// when given (a file to be installed, read with this server's environment).
func (s *Server) Preview(data []byte) (ReloadResult, error) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	cfg, _, res, err := s.readConfig(data)
	if err != nil {
		return res, err
	}
	res.Upstreams = s.disp.Diff(dispatch.SettingsOf(cfg))
	return res, nil
}

// readConfig reads and validates the config file (or data), and fills what a reload of it
// would say: its problems, or its warnings, changed sections and non-live settings (whose
// running values it takes), with its dialect sections as the vendors read them. Call with
// reload.mu held.
func (s *Server) readConfig(data []byte) (*config.Config, *dialects, ReloadResult, error) {
	res := ReloadResult{Generation: s.reload.generation}
	var cfg *config.Config
	var d *dialects
	var err error
	switch {
	case data != nil:
		cfg, err = config.Parse(data, "config")
	case s.reload.path == "":
		err = fmt.Errorf("the server was not started from a config file")
	default:
		cfg, err = config.Load(s.reload.path)
	}
	if err == nil {
		d, err = checkVendors(cfg, s.vendors) // the vendors' own checks, as check and serve run them
	}
	if err == nil && !s.reload.insecureDemo {
		err = CheckDemoSecrets(cfg)
	}
	if err != nil {
		if ps, ok := err.(config.Problems); ok {
			for _, p := range ps {
				res.Problems = append(res.Problems, p.String())
			}
		} else {
			res.Problems = []string{err.Error()}
		}
		return nil, nil, res, fmt.Errorf("cannot reload: %w", err)
	}
	running := s.live.Load().cfg
	res.Changed = changedSections(cfg, running)
	res.NotLive = keepNotLive(cfg, running)
	for _, w := range config.Warnings(cfg) {
		res.Warnings = append(res.Warnings, w.String())
	}
	return cfg, d, res, nil
}

// changedSections names the top-level keys whose values differ between a and b, each
// dialect's section by its own key. Values are compared as JSON: a dialect section is the
// file's text, which compares by what it says (config.Section's MarshalJSON).
func changedSections(a, b *config.Config) []string {
	out := []string{}
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		f := va.Type().Field(i)
		if !f.IsExported() || f.Name == "Dialects" {
			continue
		}
		if !sameJSON(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, strings.Split(f.Tag.Get("yaml"), ",")[0])
		}
	}
	names := slices.Concat(slices.Collect(maps.Keys(a.Dialects)), slices.Collect(maps.Keys(b.Dialects)))
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		sa, oka := a.Dialects[name]
		sb, okb := b.Dialects[name]
		if oka != okb || !sameJSON(sa, sb) {
			out = append(out, name)
		}
	}
	return out
}

// sameJSON says whether a and b render to the same JSON.
func sameJSON(a, b any) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}

// keepNotLive gives cfg the running values of what cannot change without a restart and
// names those the file changed.
func keepNotLive(cfg, running *config.Config) []string {
	var changed []string
	keep := func(name string, dst, src any) {
		d, v := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
		if !reflect.DeepEqual(d.Interface(), v.Interface()) {
			changed = append(changed, name)
			d.Set(v)
		}
	}
	keep("listen", &cfg.Listen, &running.Listen)
	if (cfg.TLS.Cert == "") != (running.TLS.Cert == "") { // new files for TLS on are live
		keep("tls", &cfg.TLS, &running.TLS)
	}
	keep("data_dir", &cfg.DataDir, &running.DataDir)
	keep("queue", &cfg.Queue, &running.Queue)
	keep("max_body_bytes", &cfg.MaxBodyBytes, &running.MaxBodyBytes)
	keep("watch_config", &cfg.WatchConfig, &running.WatchConfig)
	return changed
}

// newGeneration builds the request path for cfg. Against the generation before it, it
// keeps what holds state and did not change: each tenant's ingress limiter. ingress are
// cfg's dialects, built from the vendor table (newIngress), which hands on the dialects'
// own state.
func newGeneration(c *core, cfg *config.Config, d *dialects, old *Server, ingress []ingressDialect) *Server {
	s := &Server{core: c, cfg: cfg, dir: newDirectory(cfg, d), ingress: ingress}
	if old != nil {
		for _, t := range s.dir.tenants {
			if o := old.dir.byID[t.id]; o != nil && o.limiter != nil && t.limiter != nil &&
				o.cfg.RatePerSecond == t.cfg.RatePerSecond && o.cfg.Burst == t.cfg.Burst {
				t.limiter = o.limiter
			}
		}
	}
	s.handler = s.router().Handler
	s.declareMetrics() // a reload's new tenants are exposed at zero too
	return s
}

// operationsRoutes serves reload and the upstream pause, behind the admin token.
func (s *Server) operationsRoutes(r *router.Router) {
	r.POST("/admin/v1/reload", s.admin(func(ctx *fasthttp.RequestCtx) {
		reload := s.Reload
		if ctx.QueryArgs().GetBool("dry_run") {
			var body []byte
			if b := ctx.PostBody(); len(b) > 0 {
				body = append(body, b...)
			}
			reload = func() (ReloadResult, error) { return s.Preview(body) }
		}
		res, err := reload()
		if err != nil && len(res.Problems) == 0 {
			res.Problems = []string{err.Error()}
		}
		code := fasthttp.StatusOK
		if err != nil {
			code = fasthttp.StatusUnprocessableEntity
		}
		s.writeValue(ctx, code, res)
	}))
	pause := func(on bool) fasthttp.RequestHandler {
		return s.admin(func(ctx *fasthttp.RequestCtx) {
			name, _ := ctx.UserValue("name").(string)
			op := s.disp.Resume
			if on {
				op = s.disp.Pause
			}
			if err := op(name); err != nil {
				s.writeNativeError(ctx, &canonical.Error{Code: canonical.ErrNotFound, Reason: "no upstream " + strconv.Quote(name)})
				return
			}
			s.log.Warn("upstream pause changed by the admin API", "upstream", name, "paused", on)
			s.writeValue(ctx, 200, map[string]any{"upstream": name, "paused": on})
		})
	}
	r.POST("/admin/v1/upstreams/{name}/pause", pause(true))
	r.POST("/admin/v1/upstreams/{name}/resume", pause(false))
}
