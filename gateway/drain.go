package gateway

import (
	"context"
	"time"
)

// Drain takes the gateway out of a load balancer's rotation ahead of Shutdown: /readyz
// answers 503 for the config's shutdown.drain while every request is still served, each
// answer closing its connection so that clients reconnect through the balancer. It returns
// early when ctx ends (a second signal, say).
func (s *Server) Drain(ctx context.Context) {
	s.ready.Store(false)
	d := time.Duration(s.live.Load().cfg.Shutdown.Drain)
	if d <= 0 {
		return
	}
	s.log.Info("draining: /readyz answers 503 while requests are still served", "drain", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ShutdownTimeout bounds Shutdown: the config's shutdown.timeout, as last reloaded.
func (s *Server) ShutdownTimeout() time.Duration {
	return time.Duration(s.live.Load().cfg.Shutdown.Timeout)
}
