package gateway

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/goccy/go-json"

	"switchboard/canonical"
	"switchboard/config"
	"switchboard/gateway/queue"
)

// Opt-out: a recipient who replies with one of the tenant's stop words (config OptOut) is put
// on the tenant's opt-out list, and every message of the tenant to that number then fails at
// once with canonical.CodeOptedOut (Wavy clients see 204 DESTINATION_BLOCKED_BY_OPTOUT) and
// reaches no upstream; a start word, or an operator (admin_optout.go), takes it off.
//
// The list is kept in the queue's State, one key per number, made durable before a change is
// acknowledged where the backend can sync (queue.StateSyncer), and mirrored in memory: the
// dispatcher asks it for every message it leases.

// optOutPrefix is the State key space of the lists: optOutPrefix + tenant + "/" + number.
const optOutPrefix = "optout/"

var (
	optOutsAdded   = metrics.NewCounter(`switchboard_opt_outs_total{event="added"}`)
	optOutsRemoved = metrics.NewCounter(`switchboard_opt_outs_total{event="removed"}`)
)

// OptOut is one number on a tenant's opt-out list.
type OptOut struct {
	Tenant string    `json:"tenant"`
	Number string    `json:"number"`
	At     time.Time `json:"at"`
	// Source is "reply" (the recipient sent Word) or "admin".
	Source string `json:"source"`
	Word   string `json:"word,omitempty"`
}

// optOuts is every tenant's list. It outlives reloads (core).
type optOuts struct {
	st queue.State // nil: the backend keeps no state, and the lists are empty

	mu sync.RWMutex
	m  map[string]map[string]OptOut // tenant -> number -> entry
}

// errNoOptOuts answers a change to the lists on a backend without State.
var errNoOptOuts = canonical.Errorf(canonical.ErrUnavailable, "this queue backend keeps no opt-out lists")

// loadOptOuts reads the lists from q's State.
func loadOptOuts(q queue.Queue) (*optOuts, error) {
	o := &optOuts{m: map[string]map[string]OptOut{}}
	st, ok := q.(queue.State)
	if !ok {
		return o, nil
	}
	o.st = st
	const page = 1000
	for after := ""; ; {
		es, err := st.ListState(optOutPrefix, after, page)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			var v OptOut
			if json.Unmarshal(e.Value, &v) == nil && v.Tenant != "" && v.Number != "" {
				o.put(v)
			}
		}
		if len(es) < page {
			return o, nil
		}
		after = es[len(es)-1].Key
	}
}

// Blocked reports whether number is on tenant's list. The dispatcher calls it per message.
func (o *optOuts) Blocked(tenant, number string) bool {
	o.mu.RLock()
	_, ok := o.m[tenant][number]
	o.mu.RUnlock()
	return ok
}

func (o *optOuts) put(v OptOut) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.m[v.Tenant]
	if t == nil {
		t = map[string]OptOut{}
		o.m[v.Tenant] = t
	}
	t[v.Number] = v
}

// Add puts v on its tenant's list, durably, before it returns.
func (o *optOuts) Add(v OptOut) error {
	if o.st == nil {
		return errNoOptOuts
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := o.st.PutState(optOutKey(v.Tenant, v.Number), b, 0); err != nil {
		return err
	}
	if err := o.sync(); err != nil {
		return err
	}
	o.put(v)
	optOutsAdded.Inc()
	return nil
}

// Remove takes number off tenant's list, durably; false when it was not on it.
func (o *optOuts) Remove(tenant, number string) (bool, error) {
	if !o.Blocked(tenant, number) {
		return false, nil
	}
	if err := o.st.DeleteState(optOutKey(tenant, number)); err != nil {
		return false, err
	}
	if err := o.sync(); err != nil {
		return false, err
	}
	o.mu.Lock()
	delete(o.m[tenant], number)
	o.mu.Unlock()
	optOutsRemoved.Inc()
	return true, nil
}

func (o *optOuts) sync() error {
	if s, ok := o.st.(queue.StateSyncer); ok {
		return s.SyncState()
	}
	return nil
}

// List returns tenant's entries ("" for every tenant), by tenant and number.
func (o *optOuts) List(tenant string) []OptOut {
	o.mu.RLock()
	var out []OptOut
	for t, nums := range o.m {
		if tenant != "" && t != tenant {
			continue
		}
		for _, v := range nums {
			out = append(out, v)
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(out, func(a, b OptOut) int {
		if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
			return c
		}
		return strings.Compare(a.Number, b.Number)
	})
	return out
}

func optOutKey(tenant, number string) string { return optOutPrefix + tenant + "/" + number }

// optOutWord says what a reply's whole text does to its sender under the tenant's words:
// "stop", "start" or "".
func optOutWord(words config.OptOut, text string) string {
	f := canonical.FoldKeyword(text)
	if f == "" {
		return ""
	}
	for _, w := range words.Stop {
		if canonical.FoldKeyword(w) == f {
			return "stop"
		}
	}
	for _, w := range words.Start {
		if canonical.FoldKeyword(w) == f {
			return "start"
		}
	}
	return ""
}

// OptOutReply applies a recipient's reply to the opt-out list of its tenant: a reply whose
// whole text (or the title of the button picked) is a stop word puts from on the list, a
// start word takes it off. The replies' intake calls it for every reply matched to a tenant,
// after the reply is stored. It reports what it did: "stop", "start" or "".
func (s *Server) OptOutReply(r *canonical.Reply) (string, error) {
	if r.Kind != canonical.ReplyText && r.Kind != canonical.ReplyButton && r.Kind != canonical.ReplyList {
		return "", nil // a caption, a place or an emoji is not a keyword
	}
	t := s.cfg.Tenant(r.Tenant)
	if t == nil || r.From == "" {
		return "", nil
	}
	text := r.Text
	if r.Pick != nil && text == "" {
		text = r.Pick.Title
	}
	switch optOutWord(t.OptOut, text) {
	case "stop":
		if s.optOuts.Blocked(r.Tenant, r.From) {
			return "stop", nil
		}
		at := r.ReceivedAt
		if at.IsZero() {
			at = time.Now().UTC()
		}
		if err := s.optOuts.Add(OptOut{Tenant: r.Tenant, Number: r.From, At: at, Source: "reply", Word: text}); err != nil {
			return "", err
		}
		s.log.Info("opted out", "tenant", r.Tenant, "source", "reply")
		return "stop", nil
	case "start":
		removed, err := s.optOuts.Remove(r.Tenant, r.From)
		if err != nil {
			return "", err
		}
		if removed {
			s.log.Info("opted in", "tenant", r.Tenant, "source", "reply")
		}
		return "start", nil
	}
	return "", nil
}
