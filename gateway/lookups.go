package gateway

import (
	"time"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// lookups is the queue's vendor lookups (Wavy's status queries, FlowBot's check-sent), or,
// for a backend without them, lookups that answer each query as unavailable.
func (s *Server) lookups() queue.Lookups {
	if l, ok := s.q.(queue.Lookups); ok {
		return l
	}
	return noLookups{}
}

// errNoLookups answers a vendor query on a queue backend that keeps no indexes for it.
var errNoLookups = canonical.Errorf(canonical.ErrUnavailable, "this queue backend answers no status queries")

type noLookups struct{}

func (noLookups) ByRef(string, string) ([]string, error) { return nil, errNoLookups }

func (noLookups) TemplateSentSince(string, []string, string, time.Time) (map[string]time.Time, error) {
	return nil, errNoLookups
}

func (noLookups) Changes(string, int) ([]*queue.Record, error) { return nil, errNoLookups }
