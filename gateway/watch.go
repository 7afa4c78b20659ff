package gateway

import (
	"bytes"
	"crypto/sha256"
	"os"
	"time"
)

// watchConfig reloads the config file when its content changes (watch_config), reading it
// every interval until stop is closed. Polling a file of a few kilobytes needs no watcher
// library and sees a file replaced by rename as well as one edited in place. A change that
// fails validation is reported once, not at every look, and the running config stays.
func (s *Server) watchConfig(path string, every time.Duration, stop <-chan struct{}) {
	last := fileSum(path)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		sum := fileSum(path)
		if sum == nil || bytes.Equal(sum, last) {
			continue
		}
		last = sum
		s.log.Info("the config file changed: reloading", "config", path)
		s.Reload() //nolint:errcheck // Reload logs every problem itself
	}
}

// fileSum is the hash of the file's content, nil when it cannot be read (mid-replace, say).
func fileSum(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

// stopWatching ends the config watcher, if one runs.
func (s *Server) stopWatching() {
	s.reload.mu.Lock()
	defer s.reload.mu.Unlock()
	if s.reload.unwatch != nil {
		close(s.reload.unwatch)
		s.reload.unwatch = nil
	}
}
