package gateway

import (
	"log/slog"
	"time"

	"switchboard/adapters/flowbot"
	"switchboard/adapters/messageflow"
	"switchboard/adapters/multiwhats"
	"switchboard/adapters/wavy"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// These translate config sections into each component's options, so that no component
// below the gateway depends on the config file's shape.

func queueOptions(cfg *config.Config, log *slog.Logger) queue.Options {
	q := cfg.Queue
	return queue.Options{
		Dir: cfg.DataDir, Durability: queue.Durability(q.Durability), SyncInterval: time.Duration(q.SyncInterval),
		MaxDepth: q.MaxDepth, Retention: time.Duration(q.Retention), GCInterval: time.Duration(q.GCInterval),
		MemoryMB: q.MemoryMB, Logger: log,
	}
}

func messageflowOptions(cfg *config.Config) messageflow.Options {
	return messageflow.Options{DefaultCountryCode: cfg.MessageFlow.DefaultCountryCode}
}

func multiwhatsOptions(cfg *config.Config) multiwhats.Options {
	return multiwhats.Options{Reply: cfg.MultiWhats.Reply}
}

func wavyOptions(cfg *config.Config) wavy.Options {
	return wavy.Options{SingleReply: cfg.Wavy.SingleReply}
}

func flowbotOptions(cfg *config.Config) flowbot.Options {
	return flowbot.Options{JWTSecret: []byte(cfg.FlowBot.JWTSecret), MaxTokenTTL: time.Duration(cfg.FlowBot.MaxTokenTTL)}
}
