package flowbot

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxCachedTokens bounds the cache of verified tokens; when full it is emptied (clients
// keep one token for its lifetime, so the working set is small).
const maxCachedTokens = 10_000

// maxWindowKeys bounds the memory of a per-key limit; past it, expired windows are
// dropped, and if none has expired the oldest are.
const maxWindowKeys = 100_000

// tokenCache remembers tokens whose signature was checked until they expire.
type tokenCache struct {
	m    sync.Map // token -> verifiedToken
	size atomic.Int64
}

type verifiedToken struct {
	clientID string
	expires  time.Time
}

func (tc *tokenCache) get(token string, now time.Time) (string, bool) {
	v, ok := tc.m.Load(token)
	if !ok {
		return "", false
	}
	vt := v.(verifiedToken)
	if !now.Before(vt.expires) {
		tc.m.Delete(token)
		return "", false
	}
	return vt.clientID, true
}

func (tc *tokenCache) put(token, clientID string, expires time.Time) {
	if tc.size.Add(1) > maxCachedTokens {
		tc.m.Clear()
		tc.size.Store(1)
	}
	tc.m.Store(token, verifiedToken{clientID: clientID, expires: expires})
}

// windows counts requests per key in fixed windows, as the vendor's limits are stated
// ("10 requests / 15 min per IP", "30 requests / min"): a key's window starts at its first
// request and admits limit requests.
type windows struct {
	limit  int
	window time.Duration

	mu sync.Mutex
	m  map[string]fixedWindow
}

type fixedWindow struct {
	start time.Time
	count int
}

// newWindows returns a limit of limit requests per window; limit 0 admits everything.
func newWindows(limit int, window time.Duration) *windows {
	return &windows{limit: limit, window: window, m: map[string]fixedWindow{}}
}

// allow counts a request of key and reports whether it is within the limit, and if not,
// how long until its window ends.
func (w *windows) allow(key string, now time.Time) (bool, time.Duration) {
	if w.limit <= 0 {
		return true, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	fw, ok := w.m[key]
	if !ok || now.Sub(fw.start) >= w.window {
		if !ok && len(w.m) >= maxWindowKeys {
			w.evict(now)
		}
		fw = fixedWindow{start: now}
	}
	fw.count++
	w.m[key] = fw
	if fw.count <= w.limit {
		return true, 0
	}
	return false, fw.start.Add(w.window).Sub(now)
}

func (w *windows) evict(now time.Time) {
	for key, fw := range w.m {
		if now.Sub(fw.start) >= w.window || len(w.m) >= maxWindowKeys {
			delete(w.m, key)
		}
		if len(w.m) < maxWindowKeys*9/10 {
			return
		}
	}
}
