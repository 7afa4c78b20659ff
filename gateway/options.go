package gateway

import (
	"log/slog"
	"time"

	"switchboard/config"
	"switchboard/gateway/callbacks"
	"switchboard/gateway/queue"
	"switchboard/gateway/queue/jetstream"
)

// These translate config sections into each component's options, so that no component
// below the gateway depends on the config file's shape.

// openQueue opens the backend the config names: Badger in data_dir, or JetStream.
func openQueue(cfg *config.Config, log *slog.Logger) (queue.Queue, error) {
	// Each backend's Open says what it could not open; its error is not wrapped again.
	if cfg.Queue.Backend == "nats" {
		q, err := jetstream.Open(jetstreamOptions(cfg, log))
		if err != nil {
			return nil, err
		}
		return q, nil
	}
	q, err := queue.Open(queueOptions(cfg, log)) // its errors name the directory
	if err != nil {
		return nil, err
	}
	return q, nil
}

func jetstreamOptions(cfg *config.Config, log *slog.Logger) jetstream.Options {
	n := cfg.Queue.Nats
	return jetstream.Options{
		Servers: n.Servers, CredentialsFile: n.CredentialsFile, User: n.User, Password: n.Password, Token: n.Token,
		CAFile: n.TLS.CA, CertFile: n.TLS.Cert, KeyFile: n.TLS.Key,
		Stream: n.Stream, Bucket: n.Bucket, Replicas: n.Replicas, Shards: n.Shards, AckWait: time.Duration(n.AckWait), MaxDeliver: n.MaxDeliver,
		MaxDepth: cfg.Queue.MaxDepth, Retention: time.Duration(cfg.Queue.Retention), Logger: log,
	}
}

func queueOptions(cfg *config.Config, log *slog.Logger) queue.Options {
	q := cfg.Queue
	return queue.Options{
		Dir: cfg.DataDir, Durability: queue.Durability(q.Durability), SyncInterval: time.Duration(q.SyncInterval),
		MaxDepth: q.MaxDepth, Retention: time.Duration(q.Retention), GCInterval: time.Duration(q.GCInterval),
		MemoryMB: q.MemoryMB, Logger: log,
		// The queue reads zero as "the default"; in the config file it is "none".
		DiskReserveBytes: noneIfZero(q.DiskReserveBytes), DiskReservePercent: noneIfZero(q.DiskReservePercent),
	}
}

// noneIfZero turns a config value of 0 ("none") into the queue's -1 ("none").
func noneIfZero[T int64 | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

func callbackTenants(cfg *config.Config) []callbacks.Tenant {
	var out []callbacks.Tenant
	for _, t := range cfg.Tenants {
		if c := t.Callbacks; c.URL != "" || c.DeliveryURL != "" || t.Replies.URL != "" {
			out = append(out, callbacks.Tenant{ID: t.ID, URL: c.URL, DeliveryURL: c.DeliveryURL, ReplyURL: t.Replies.URL, Secret: c.Secret})
		}
	}
	return out
}

func callbacksOptions(cfg *config.Config, log *slog.Logger) callbacks.Options {
	c := cfg.Callbacks
	return callbacks.Options{
		Timeout: time.Duration(c.Timeout), MaxAttempts: c.MaxAttempts,
		InitialBackoff: time.Duration(c.InitialBackoff), MaxBackoff: time.Duration(c.MaxBackoff),
		MaxConcurrent: c.MaxConcurrent, PerTenant: c.PerTenant,
		DeadRetention: time.Duration(cfg.Queue.Retention), Logger: log,
	}
}
