package gateway

import (
	"fmt"
	"reflect"
	"slices"

	"switchboard/config"
)

// Callbacks change live: a reload that changes the tenants' callback settings (url,
// delivery_url, secret) or the callbacks section stops the running worker and starts one
// built for the new config. Stopping lets the posts in flight finish and saves the cursors,
// which are durable, so the new worker goes on where the old one stopped, posting what is
// left to the new URLs; a tenant new to callbacks starts at the feed's end (callbacks.New).

// callbacksChanged reports whether the callback settings differ between a and b.
func callbacksChanged(a, b *config.Config) bool {
	return !slices.Equal(callbackTenants(a), callbackTenants(b)) || !reflect.DeepEqual(a.Callbacks, b.Callbacks)
}

// runCallbacks starts (Serve) or stops (Shutdown) the callbacks worker. Under the reload
// lock, so that a reload neither starts a worker before Serve nor after Shutdown.
func (s *Server) runCallbacks(on bool) {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	s.reload.cbRunning = on
	if cb := s.cb.Load(); cb != nil {
		if on {
			cb.Start()
		} else {
			cb.Stop()
		}
	}
}

// swapCallbacks replaces the callbacks worker with one for cfg when its callback settings
// differ from running's. On an error (the queue cannot read or write the cursors) it puts
// back a worker for running's. Call with reload.mu held.
func (s *Server) swapCallbacks(cfg, running *config.Config) error {
	if !callbacksChanged(cfg, running) {
		return nil
	}
	// The old worker stops first: the new one reads the cursors it saved.
	if old := s.cb.Load(); old != nil {
		old.Stop()
	}
	w, err := newCallbacks(cfg, s.q, s.log)
	if err != nil {
		err = fmt.Errorf("cannot start callbacks: %w", err)
		var again error
		if w, again = newCallbacks(running, s.q, s.log); again != nil {
			s.log.Error("callbacks are off until a restart", "err", again)
		}
	}
	s.cb.Store(w)
	if w != nil && s.reload.cbRunning {
		w.Start()
	}
	return err
}
