package config

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults returns the configuration used for every key a file leaves out.
func Defaults() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		DataDir:      "./data",
		MaxBodyBytes: 1 << 20,
		LogLevel:     "info",
		Shutdown:     Shutdown{Drain: Duration(5 * time.Second), Timeout: Duration(20 * time.Second)},
		Queue: Queue{
			Backend:      "badger",
			Durability:   "always",
			SyncInterval: Duration(100 * time.Millisecond),
			MaxDepth:     1_000_000,
			Retention:    Duration(72 * time.Hour),
			GCInterval:   Duration(5 * time.Minute),
			MemoryMB:     64,
			// What Badger may still write once new messages are refused (v4.9.6, the
			// queue's sizing in gateway/queue/badger.go): the current value-log file, which
			// it maps at twice its 64 MiB size (128 MiB, the most it can write there); the memtable WALs, mapped at twice
			// the memtable size, two of them at memory_mb 64 (32 MiB); the L0 table a flush
			// writes (8 MiB); value-log GC, which copies a file's live values (up to a
			// 64 MiB file) before removing it; and the queue's journal, two 8 MiB segments
			// (gateway/queue/redo.go). 248 MiB, rounded up.
			DiskReserveBytes: 256 << 20,
			// As ext4 reserves for root by default (mke2fs -m 5): room for whatever else
			// shares the disk, on disks where 256 MiB is little.
			DiskReservePercent: 5,
			Nats: Nats{
				Stream:     "SWITCHBOARD",
				Bucket:     "switchboard",
				Replicas:   1,
				Shards:     1,
				AckWait:    Duration(30 * time.Second),
				MaxDeliver: 100,
			},
		},
		Retry: Retry{
			MaxAttempts:    10,
			InitialBackoff: Duration(time.Second),
			MaxBackoff:     Duration(10 * time.Minute),
		},
		// Not gobreaker's defaults, which never trip on a ratio and stay open 60s.
		Breaker: Breaker{
			Window:              Duration(10 * time.Second),
			ConsecutiveFailures: 5,
			FailureRatio:        0.5,
			MinRequests:         20,
			OpenFor:             Duration(30 * time.Second),
			HalfOpenProbes:      3,
		},
		Callbacks: CallbackDelivery{
			Timeout:        Duration(5 * time.Second),
			MaxAttempts:    20,
			InitialBackoff: Duration(time.Second),
			MaxBackoff:     Duration(2 * time.Minute),
			MaxConcurrent:  64,
			PerTenant:      8,
		},
	}
}

// DefaultUpstream returns an upstream entry with nothing but its defaults, for components
// given a Config built in code.
func DefaultUpstream() Upstream {
	var u Upstream
	u.setDefaults()
	return u
}

// setDefaults gives a new upstream entry its defaults before the file's values.
func (u *Upstream) setDefaults() {
	u.Timeout = Duration(5 * time.Second)
	u.MaxConns = 64
}

func (r *Route) setDefaults() { r.Degrade, r.ForeignFlow, r.LongText = "degrade", "fail", "split" }

func (g *TemplateGroup) setDefaults() { g.Strategy = "preferred_then_others" }

// complete fills what depends on other keys, once the whole file is decoded; set tells
// whether the file gave a path.
func (c *Config) complete(set func(path string) bool) {
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if u.Breaker == nil {
			continue
		}
		// An override names only what differs from the global breaker.
		p := "upstreams[" + strconv.Itoa(i) + "].breaker."
		b, g := u.Breaker, c.Breaker
		if !set(p + "window") {
			b.Window = g.Window
		}
		if !set(p + "consecutive_failures") {
			b.ConsecutiveFailures = g.ConsecutiveFailures
		}
		if !set(p + "failure_ratio") {
			b.FailureRatio = g.FailureRatio
		}
		if !set(p + "min_requests") {
			b.MinRequests = g.MinRequests
		}
		if !set(p + "open_for") {
			b.OpenFor = g.OpenFor
		}
		if !set(p + "half_open_probes") {
			b.HalfOpenProbes = g.HalfOpenProbes
		}
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		// A rate limiter with no burst would refuse everything.
		if t.RatePerSecond > 0 && !set("tenants["+strconv.Itoa(i)+"].burst") {
			t.Burst = max(1, int(min(math.Ceil(t.RatePerSecond), 1e9)))
		}
		if t.Callbacks.DeliveryURL == "" {
			t.Callbacks.DeliveryURL = t.Callbacks.URL
		}
		t.DefaultCountryCode = strings.TrimPrefix(t.DefaultCountryCode, "+")
		if t.OptOut.Stop == nil {
			t.OptOut.Stop = slices.Clone(DefaultStopWords)
		}
		if t.OptOut.Start == nil {
			t.OptOut.Start = slices.Clone(DefaultStartWords)
		}
	}
	for i := range c.Routes {
		for j, p := range c.Routes[i].Match.ToPrefixes {
			c.Routes[i].Match.ToPrefixes[j] = strings.TrimPrefix(p, "+")
		}
	}
}
