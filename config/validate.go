package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/canonical"
)

// maxDiskReservePercent bounds queue.disk_reserve_percent: a larger reserve would refuse
// messages on a disk mostly empty, which is a typo rather than a choice.
const maxDiskReservePercent = 50

// Validate reports every problem of c at once, as Problems, or nil. Parse already calls it;
// a Config built in code should be validated before use. What only a vendor knows (its
// options, its upstream credentials, which dialects exist) the vendor checks: the gateway
// runs those checks through the vendor table and reports them with Problem.
func (c *Config) Validate() error {
	if probs := c.check(); len(probs) > 0 {
		probs.sort()
		return probs
	}
	return nil
}

type checker struct {
	c     *Config
	probs Problems
}

func (c *Config) check() Problems {
	k := &checker{c: c}
	k.server()
	k.breaker("breaker", &c.Breaker)
	k.callbacks("callbacks", &c.Callbacks)
	k.tenants()
	k.upstreams()
	k.routes()
	k.templates()
	return k.probs
}

func (k *checker) add(path, format string, args ...any) {
	k.probs = append(k.probs, k.c.Problem(path, format, args...))
}

// Problem returns a problem of c at path, with the line of path (or of its nearest
// ancestor in the file), for checks made outside this package.
func (c *Config) Problem(path, format string, args ...any) Problem {
	msg := fmt.Sprintf(format, args...)
	if name, ok := c.unset[path]; ok {
		msg += " (${" + name + "} is not set)"
	}
	return Problem{File: c.file, Line: c.lineOf(path), Path: path, Message: msg}
}

// lineOf finds the line of path, or of its nearest ancestor the file has.
func (c *Config) lineOf(path string) int {
	for {
		if line, ok := c.lines[path]; ok {
			return line
		}
		if path == "" {
			return 0
		}
		if strings.HasSuffix(path, "]") {
			if i := strings.LastIndexByte(path, '['); i >= 0 {
				path = path[:i]
				continue
			}
		}
		i := strings.LastIndexByte(path, '.')
		path = path[:max(i, 0)]
	}
}

// uniqueName reports value when an earlier entry of list already has it, and records it at i.
// An empty value is reported as required instead.
func (k *checker) uniqueName(seen map[string]int, path, what, value, list string, i int) {
	if !k.required(path, value) {
		return
	}
	if j, dup := seen[value]; dup {
		k.add(path, "%s %q is already defined at %s[%d]", what, value, list, j)
		return
	}
	seen[value] = i
}

func (k *checker) required(path, v string) bool {
	if v == "" {
		k.add(path, "is required")
		return false
	}
	return true
}

func (k *checker) oneOf(path, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	if v == "" {
		k.add(path, "is required (one of %s)", strings.Join(allowed, ", "))
		return
	}
	k.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

func (k *checker) positive(path string, d Duration) {
	if d <= 0 {
		k.add(path, "must be a positive duration, e.g. 5s, got %s", d)
	}
}

func (k *checker) atLeast(path string, v int64, least int64) {
	if v < least {
		k.add(path, "must be at least %d, got %d", least, v)
	}
}

func (k *checker) url(path, v string) {
	if !IsHTTPURL(v) {
		k.add(path, "%q is not an http(s) URL", v)
	}
}

// IsHTTPURL reports whether v is an absolute http or https URL with a host.
func IsHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (k *checker) timeZone(path, name string) {
	if _, err := time.LoadLocation(name); err != nil {
		k.add(path, "unknown time zone %q (want an IANA name, e.g. Asia/Jerusalem)", name)
	}
}

func (k *checker) server() {
	c := k.c
	if k.required("listen", c.Listen) {
		_, port, err := net.SplitHostPort(c.Listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			k.add("listen", "%q is not host:port, e.g. 127.0.0.1:8080", c.Listen)
		}
	}
	if c.Queue.Backend != "nats" {
		k.required("data_dir", c.DataDir)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		k.add("tls", "give both cert and key, or neither")
	}
	k.atLeast("max_body_bytes", int64(c.MaxBodyBytes), 1)
	k.oneOf("log_level", c.LogLevel, "debug", "info", "warn", "error")
	if c.Shutdown.Drain < 0 {
		k.add("shutdown.drain", "must not be negative (0 turns the drain off)")
	}
	k.positive("shutdown.timeout", c.Shutdown.Timeout)
	if c.WatchConfig < 0 {
		k.add("watch_config", "must not be negative (0 turns watching off)")
	}

	k.oneOf("queue.backend", c.Queue.Backend, "badger", "nats")
	if c.Queue.Backend == "nats" {
		k.nats("queue.nats", &c.Queue.Nats)
	}
	k.oneOf("queue.durability", c.Queue.Durability, "always", "interval")
	k.positive("queue.sync_interval", c.Queue.SyncInterval)
	k.atLeast("queue.max_depth", c.Queue.MaxDepth, 1)
	k.positive("queue.retention", c.Queue.Retention)
	k.positive("queue.gc_interval", c.Queue.GCInterval)
	k.atLeast("queue.memory_mb", int64(c.Queue.MemoryMB), 1)
	k.atLeast("queue.disk_reserve_bytes", c.Queue.DiskReserveBytes, 0)
	if p := c.Queue.DiskReservePercent; p < 0 || p > maxDiskReservePercent {
		k.add("queue.disk_reserve_percent", "%v is not between 0 and %d", p, maxDiskReservePercent)
	}

	k.atLeast("retry.max_attempts", int64(c.Retry.MaxAttempts), 1)
	k.positive("retry.initial_backoff", c.Retry.InitialBackoff)
	k.positive("retry.max_backoff", c.Retry.MaxBackoff)
	if c.Retry.MaxBackoff > 0 && c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		k.add("retry.max_backoff", "%s is less than initial_backoff %s", c.Retry.MaxBackoff, c.Retry.InitialBackoff)
	}
}

// natsSchemes are the URL schemes a NATS client connects with.
var natsSchemes = []string{"nats", "tls", "ws", "wss"}

// maxNatsShards bounds queue.nats.shards: each shard is a stream and a consumer on the
// servers, and an idle gateway keeps a pull waiting on each.
const maxNatsShards = 64

func (k *checker) nats(path string, n *Nats) {
	if len(n.Servers) == 0 {
		k.add(path+".servers", "is required with queue.backend nats: the URLs of the NATS servers, e.g. [nats://127.0.0.1:4222]")
	}
	for i, s := range n.Servers {
		p := path + ".servers[" + strconv.Itoa(i) + "]"
		u, err := url.Parse(s)
		if err != nil || !slices.Contains(natsSchemes, u.Scheme) || u.Host == "" {
			k.add(p, "%q is not a NATS URL, e.g. nats://127.0.0.1:4222 (schemes: %s)", s, strings.Join(natsSchemes, ", "))
		}
	}
	auth := 0
	for _, set := range []bool{n.CredentialsFile != "", n.User != "" || n.Password != "", n.Token != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		k.add(path, "give one of credentials_file, user and password, or token")
	}
	if (n.User == "") != (n.Password == "") {
		k.add(path+".password", "user and password go together")
	}
	if (n.TLS.Cert == "") != (n.TLS.Key == "") {
		k.add(path+".tls.key", "cert and key go together")
	}
	// Stream names become subject tokens and file names on the servers.
	if k.required(path+".stream", n.Stream) && strings.ContainsAny(n.Stream, " \t\r\n.*>/\\") {
		k.add(path+".stream", "%q may not contain spaces, '.', '*', '>', '/' or '\\'", n.Stream)
	}
	if k.required(path+".bucket", n.Bucket) && strings.Trim(n.Bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		k.add(path+".bucket", "%q may only contain letters, digits, '_' and '-'", n.Bucket)
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		k.add(path+".replicas", "must be from 1 to 5, got %d", n.Replicas)
	}
	if n.Shards < 1 || n.Shards > maxNatsShards {
		k.add(path+".shards", "must be from 1 to %d, got %d", maxNatsShards, n.Shards)
	}
	if n.AckWait < Duration(time.Second) {
		k.add(path+".ack_wait", "must be at least 1s, got %s", n.AckWait)
	}
	if n.MaxDeliver != -1 && n.MaxDeliver <= k.c.Retry.MaxAttempts {
		k.add(path+".max_deliver", "must be more than retry.max_attempts (%d), or -1 for no limit; got %d", k.c.Retry.MaxAttempts, n.MaxDeliver)
	}
}

func (k *checker) callbacks(path string, c *CallbackDelivery) {
	k.positive(path+".timeout", c.Timeout)
	k.atLeast(path+".max_attempts", int64(c.MaxAttempts), 1)
	k.positive(path+".initial_backoff", c.InitialBackoff)
	if c.MaxBackoff < c.InitialBackoff {
		k.add(path+".max_backoff", "must be at least initial_backoff (%s), got %s", c.InitialBackoff, c.MaxBackoff)
	}
	k.atLeast(path+".max_concurrent", int64(c.MaxConcurrent), 1)
	k.atLeast(path+".per_tenant", int64(c.PerTenant), 1)
	if c.PerTenant > c.MaxConcurrent && c.MaxConcurrent >= 1 {
		k.add(path+".per_tenant", "must be at most max_concurrent (%d), got %d", c.MaxConcurrent, c.PerTenant)
	}
}

func (k *checker) breaker(path string, b *Breaker) {
	k.positive(path+".window", b.Window)
	k.atLeast(path+".consecutive_failures", int64(b.ConsecutiveFailures), 1)
	if !(b.FailureRatio > 0 && b.FailureRatio <= 1) {
		k.add(path+".failure_ratio", "must be more than 0 and at most 1, got %g", b.FailureRatio)
	}
	k.atLeast(path+".min_requests", int64(b.MinRequests), 1)
	k.positive(path+".open_for", b.OpenFor)
	k.atLeast(path+".half_open_probes", int64(b.HalfOpenProbes), 1)
}

func (k *checker) tenants() {
	ids := map[string]int{}
	for i, t := range k.c.Tenants {
		p := "tenants[" + strconv.Itoa(i) + "]"
		k.uniqueName(ids, p+".id", "tenant", t.ID, "tenants", i)
		if t.RatePerSecond < 0 {
			k.add(p+".rate_per_second", "must not be negative")
		}
		if t.RatePerSecond > 0 {
			k.atLeast(p+".burst", int64(t.Burst), 1)
		} else {
			k.atLeast(p+".burst", int64(t.Burst), 0)
		}
		if cc := t.DefaultCountryCode; cc != "" && (len(cc) > 3 || strings.Trim(cc, "0123456789") != "") {
			k.add(p+".default_country_code", "%q is not a country calling code, e.g. 972", cc)
		}
		if h := t.SendingHours; h != nil {
			hp := p + ".sending_hours"
			k.timeZone(hp+".time_zone", h.TimeZone)
			if h.Start < 0 || h.Start > 23 {
				k.add(hp+".start", "must be an hour from 0 to 23, got %d", h.Start)
			}
			if h.End < 0 || h.End > 23 {
				k.add(hp+".end", "must be an hour from 0 to 23, got %d", h.End)
			}
			if h.Start == h.End {
				k.add(hp, "start and end are both %d: the window would be empty", h.Start)
			}
		}
		if u := t.Callbacks.URL; u != "" {
			k.url(p+".callbacks.url", u)
		}
		k.optOut(p+".opt_out", t.OptOut)
		if u := t.Callbacks.DeliveryURL; u != "" && u != t.Callbacks.URL {
			k.url(p+".callbacks.delivery_url", u)
		}
		if u := t.Replies.URL; u != "" {
			k.url(p+".replies.url", u)
		}
	}
}

func (k *checker) upstreams() {
	names := map[string]int{}
	for i, u := range k.c.Upstreams {
		p := "upstreams[" + strconv.Itoa(i) + "]"
		k.uniqueName(names, p+".name", "upstream", u.Name, "upstreams", i)
		k.positive(p+".timeout", u.Timeout)
		k.atLeast(p+".max_conns", int64(u.MaxConns), 1)
		if u.RatePerSecond < 0 {
			k.add(p+".rate_per_second", "must not be negative")
		}
		if u.Breaker != nil {
			k.breaker(p+".breaker", u.Breaker)
		}
		if r := u.Replies; r != nil {
			k.replies(p+".replies", r)
		}
		if u.Receipts != "" {
			k.oneOf(p+".receipts", u.Receipts, ReceiptsOpen)
		}
		if px := u.Proxy; px != "" && px != "direct" {
			pu, err := url.Parse(px)
			if err != nil || pu.Host == "" || !slices.Contains([]string{"http", "socks5", "socks5h"}, pu.Scheme) {
				k.add(p+".proxy", "%q is not a proxy URL: http://host:port, socks5://host:port or direct", px)
			}
		}
	}
}

// replies checks an upstream's reply owners: each a tenant defined.
func (k *checker) replies(path string, r *UpstreamReplies) {
	if r.Tenant == "" && len(r.Lines) == 0 {
		k.add(path, "names no tenant: give tenant, lines or both")
	}
	if r.Tenant != "" {
		k.tenantRef(path+".tenant", r.Tenant)
	}
	lines := make([]string, 0, len(r.Lines))
	for line := range r.Lines {
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, line := range lines {
		if line == "" {
			k.add(path+".lines", "a line is empty")
			continue
		}
		k.tenantRef(path+".lines."+line, r.Lines[line])
	}
}

func (k *checker) tenantRef(path, id string) {
	for _, t := range k.c.Tenants {
		if t.ID == id {
			return
		}
	}
	k.add(path, "tenant %q is not defined", id)
}

func (k *checker) upstreamRef(path, name string) {
	if name == "" {
		k.add(path, "names no upstream")
		return
	}
	for _, u := range k.c.Upstreams {
		if u.Name == name {
			return
		}
	}
	k.add(path, "upstream %q is not defined", name)
}

func (k *checker) routes() {
	if len(k.c.Routes) == 0 {
		k.add("routes", "at least one route is required")
	}
	names := map[string]int{}
	for i, r := range k.c.Routes {
		p := "routes[" + strconv.Itoa(i) + "]"
		k.uniqueName(names, p+".name", "route", r.Name, "routes", i)
		k.match(p+".match", &r.Match)
		if len(r.Upstreams) == 0 && len(r.Split) == 0 {
			k.add(p+".upstreams", "a route needs upstreams or split")
		}
		for j, name := range r.Upstreams {
			k.upstreamRef(p+".upstreams["+strconv.Itoa(j)+"]", name)
		}
		total := 0
		for j, s := range r.Split {
			sp := p + ".split[" + strconv.Itoa(j) + "]"
			k.upstreamRef(sp+".upstream", s.Upstream)
			// 0 stages an arm before it takes traffic; the first step of a migration.
			if s.Weight < 0 {
				k.add(sp+".weight", "must not be negative, got %d", s.Weight)
			}
			total += max(s.Weight, 0)
		}
		if len(r.Split) > 0 && total == 0 && len(r.Upstreams) == 0 {
			k.add(p+".split", "the weights add to 0 and the route has no upstreams: it could send nothing")
		}
		if r.Mirror != "" {
			k.upstreamRef(p+".mirror", r.Mirror)
		}
		k.oneOf(p+".degrade", r.Degrade, "degrade", "next", "fail")
		k.oneOf(p+".foreign_flow", r.ForeignFlow, "fail", "text")
		k.oneOf(p+".long_text", r.LongText, "split", "fail")
		switch rt := r.ReceiptTimeout; {
		case rt < 0:
			k.add(p+".receipt_timeout", "must not be negative")
		case rt > 0 && rt < Duration(time.Second):
			k.add(p+".receipt_timeout", "must be at least 1s (or 0: off), got %s", rt)
		case rt > 0 && len(r.Upstreams) < 2 && len(r.Split) < 2:
			k.add(p+".receipt_timeout", "resends through the next upstream: the route needs two or more upstreams")
		}
	}
}

func (k *checker) match(p string, m *Match) {
	for j, id := range m.Tenants {
		found := false
		for _, t := range k.c.Tenants {
			found = found || t.ID == id
		}
		if !found {
			k.add(p+".tenants["+strconv.Itoa(j)+"]", "tenant %q is not defined", id)
		}
	}
	for j, pre := range m.ToPrefixes {
		if pre == "" || strings.Trim(pre, "0123456789") != "" {
			k.add(p+".to_prefixes["+strconv.Itoa(j)+"]", "%q is not a number prefix: digits, country code first", pre)
		}
	}
	for j, ch := range m.Channels {
		k.oneOf(p+".channels["+strconv.Itoa(j)+"]", ch, string(canonical.ChannelWhatsApp), string(canonical.ChannelSMS))
	}
	for j, kind := range m.Kinds {
		k.oneOf(p+".kinds["+strconv.Itoa(j)+"]", kind,
			string(canonical.KindText), string(canonical.KindMedia), string(canonical.KindButtons),
			string(canonical.KindList), string(canonical.KindTemplate), string(canonical.KindFlow))
	}
}

func (k *checker) templates() {
	type nameLang struct{ name, lang string }
	seen := map[nameLang]int{}
	names := map[string]bool{}
	for i, t := range k.c.Templates {
		p := "templates[" + strconv.Itoa(i) + "]"
		k.required(p+".body", t.Body)
		if !k.required(p+".name", t.Name) {
			continue
		}
		names[t.Name] = true
		if j, dup := seen[nameLang{t.Name, t.Language}]; dup {
			k.add(p, "template %q in language %q is already defined at templates[%d]", t.Name, t.Language, j)
		} else {
			seen[nameLang{t.Name, t.Language}] = i
		}
	}
	ids := map[string]int{}
	for i, g := range k.c.TemplateGroups {
		p := "template_groups[" + strconv.Itoa(i) + "]"
		k.uniqueName(ids, p+".id", "template group", g.ID, "template_groups", i)
		k.oneOf(p+".strategy", g.Strategy, "preferred_then_others", "round_robin", "random")
		if len(g.Templates) == 0 {
			k.add(p+".templates", "a template group needs at least one template")
		}
		for j, name := range g.Templates {
			if !names[name] {
				k.add(p+".templates["+strconv.Itoa(j)+"]", "template %q is not defined in templates", name)
			}
		}
	}
}
