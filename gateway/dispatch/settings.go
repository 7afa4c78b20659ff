package dispatch

import (
	"time"

	"switchboard/config"
)

const (
	// leaseBatch is the most messages taken from the queue at once: enough to amortise the
	// queue's locking, few enough that a stop has little to hand back.
	leaseBatch = 256
	// maxWorkers caps the sender goroutines; otherwise there are sendersPerConn per
	// upstream connection.
	maxWorkers = 1024
	// sendersPerConn is how many senders share an upstream connection: a sender holds one
	// during its POST only, and then waits for the message's finish to be durable (a group
	// commit and its syncs), during which another sender can use it.
	sendersPerConn = 2
	// leaseErrorWait is the pause after a failed Lease, so a broken queue is not spun on.
	leaseErrorWait = 100 * time.Millisecond
	// maxRateWait is the longest a sender sleeps for an upstream's rate limit; a message that
	// would wait longer goes back to the queue, holding its place in the limiter.
	maxRateWait = 250 * time.Millisecond
	// rateBurstWindow sizes an upstream's burst: this long's worth of its rate (at least 1).
	rateBurstWindow = 100 * time.Millisecond
	// minOpenWait is the shortest a message waits in the queue when every upstream of its route
	// is open, so a breaker about to probe is not spun on.
	minOpenWait = 10 * time.Millisecond
	// maxHalfOpenWait bounds the wait when a breaker is half-open and its probes are out:
	// the probes finish within the upstream's timeout, this or less.
	maxHalfOpenWait = time.Second
	// breakerBuckets splits a breaker's window, so it rolls instead of resetting at once.
	breakerBuckets = 10
	// maxResponseBody bounds what is read of an upstream's answer.
	maxResponseBody = 1 << 20
	// mirrorWorkers send shadow copies; mirrorQueue copies may wait for them, beyond which
	// copies are dropped (and counted): a mirror must never slow the primary.
	mirrorWorkers = 32
	mirrorQueue   = 1024
	// pausedWait is how long a message waits in the queue when the upstreams of its route
	// are paused: a resume takes effect within it.
	pausedWait = 500 * time.Millisecond
)

// defaultAgent is the User-Agent without WithUserAgent.
const defaultAgent = "switchboard"

// Settings are what the dispatcher reads of the configuration: the upstreams, routes,
// templates, retry policy and tenants' sending hours. SettingsOf builds them from a Config
// once, filling from config's defaults whatever a Config built in code left at zero, so
// nothing past SettingsOf knows a default.
type Settings struct {
	Retry config.Retry
	// Upstreams, in config order, each with its Timeout and MaxConns set and its Breaker
	// (never nil) resolved: the upstream's override, the global breaker for what it leaves
	// out, and config's defaults for what both leave out.
	Upstreams      []config.Upstream
	Routes         []config.Route
	Templates      []config.Template
	TemplateGroups []config.TemplateGroup
	// SendingHours are the tenants' sending hours by tenant id; a tenant without any is absent.
	SendingHours map[string]*config.SendingHours
	// TemplateLanguage is the language of templates named without one (config's
	// template_language); TenantTemplateLanguage a tenant's own, by tenant id.
	TemplateLanguage       string
	TenantTemplateLanguage map[string]string
}

// SettingsOf takes the dispatcher's settings from cfg. Zero values in a Config that did not
// come through config.Load (which fills every key) take config's own defaults, so that a
// hand-built Config cannot, say, trip a breaker on its first failure.
func SettingsOf(cfg *config.Config) Settings {
	def := config.Defaults()
	s := Settings{
		Retry:          cfg.Retry,
		Routes:         cfg.Routes,
		Templates:      cfg.Templates,
		TemplateGroups: cfg.TemplateGroups,
		SendingHours:   map[string]*config.SendingHours{},
	}
	or(&s.Retry.MaxAttempts, def.Retry.MaxAttempts)
	or(&s.Retry.InitialBackoff, def.Retry.InitialBackoff)
	or(&s.Retry.MaxBackoff, def.Retry.MaxBackoff)
	s.Retry.MaxBackoff = max(s.Retry.MaxBackoff, s.Retry.InitialBackoff)
	global := cfg.Breaker
	mergeBreaker(&global, def.Breaker)
	defUp := config.DefaultUpstream()
	for _, u := range cfg.Upstreams {
		or(&u.Timeout, defUp.Timeout)
		or(&u.MaxConns, defUp.MaxConns)
		b := global
		if u.Breaker != nil {
			b = *u.Breaker
			mergeBreaker(&b, global)
		}
		u.Breaker = &b
		s.Upstreams = append(s.Upstreams, u)
	}
	s.TemplateLanguage, s.TenantTemplateLanguage = cfg.TemplateLanguage, map[string]string{}
	for _, t := range cfg.Tenants {
		if t.SendingHours != nil {
			h := *t.SendingHours
			s.SendingHours[t.ID] = &h
		}
		if t.TemplateLanguage != "" {
			s.TenantTemplateLanguage[t.ID] = t.TemplateLanguage
		}
	}
	return s
}

func mergeBreaker(b *config.Breaker, from config.Breaker) {
	or(&b.Window, from.Window)
	or(&b.ConsecutiveFailures, from.ConsecutiveFailures)
	or(&b.FailureRatio, from.FailureRatio)
	or(&b.MinRequests, from.MinRequests)
	or(&b.OpenFor, from.OpenFor)
	or(&b.HalfOpenProbes, from.HalfOpenProbes)
}

func or[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
