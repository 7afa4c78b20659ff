package queue

import (
	"time"

	"switchboard/canonical"
)

// Lookups are the queries that vendors' non-send operations make of the store: Wavy's status
// search and status list, FlowBot's check-sent. Each backend keeps the indexes they read in
// the same commit as the messages they index.
type Lookups interface {
	// ByRef returns the ids of a tenant's messages with that client ref, within retention.
	ByRef(tenant, ref string) ([]string, error)
	// TemplateSentSince returns, of the given recipients, those a template message was sent
	// to (for the tenant) since the time given.
	// With template set, only that template (by name) counts; "" means any template.
	TemplateSentSince(tenant string, to []string, template string, since time.Time) (map[string]time.Time, error)
	// Changes returns up to max of the tenant's messages whose status changed since the last
	// call (a persisted cursor per tenant), and advances the cursor.
	Changes(tenant string, max int) ([]*Record, error)
}

// The rules below are the backends' shared part of the lookups; each backend stores and
// reads the indexes in its own way.

// SentTemplate reports whether m, finished with its status, marks its recipient for
// TemplateSentSince: a template message sent, delivered or read.
func SentTemplate(m *canonical.Message) bool {
	if m.Template == nil {
		return false
	}
	switch m.Status {
	case canonical.StatusSent, canonical.StatusDelivered, canonical.StatusRead:
		return true
	}
	return false
}

// TemplateNames are the names a template message's sending is indexed under, so that
// TemplateSentSince answers for any template ("") and for one by name.
func TemplateNames(m *canonical.Message) []string {
	if m.Template == nil || m.Template.Name == "" {
		return []string{""}
	}
	return []string{"", m.Template.Name}
}
