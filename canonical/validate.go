package canonical

import (
	"strings"
	"sync"
	"time"
)

// Limits every message must keep whatever its dialect; dialects apply their own, tighter ones.
const (
	MaxTextBytes  = 64 << 10 // well above any vendor's limit; guards the queue
	MaxButtons    = 10
	MaxOptions    = 100
	MaxMedia      = 10
	MaxVars       = 100
	MaxFieldBytes = 2048 // from, client_ref, flow id, template name, a caption, a URL ...
	minE164Digits = 7
	maxE164Digits = 15
)

// Validate checks a message as decoded from any dialect, before it is queued.
// The error names the field at fault, in canonical (snake_case) terms.
func (m *Message) Validate() error {
	if err := checkE164("to", m.To); err != nil {
		return err
	}
	if m.From != "" && len(m.From) > MaxFieldBytes {
		return Invalid("from", "is longer than %d bytes", MaxFieldBytes)
	}
	switch m.Channel {
	case "", ChannelWhatsApp, ChannelSMS:
	default:
		return Invalid("channel", "must be whatsapp or sms, not %q", m.Channel)
	}
	switch m.Kind {
	case "", KindText, KindMedia, KindButtons, KindList, KindTemplate, KindFlow:
	default:
		return Invalid("kind", "unknown kind %q", m.Kind)
	}
	if err := m.checkTexts(); err != nil {
		return err
	}
	if len(m.Text) > MaxTextBytes {
		return Invalid("text", "is longer than %d bytes", MaxTextBytes)
	}
	if m.Text == "" && len(m.Media) == 0 && m.Template == nil && m.FlowID == "" {
		return Invalid("text", "is required (or media, a template or a flow)")
	}
	if len(m.Media) > MaxMedia {
		return Invalid("media", "at most %d attachments", MaxMedia)
	}
	for _, md := range m.Media {
		if md.URL == "" {
			return Invalid("media.url", "is required")
		}
		if len(md.URL) > MaxFieldBytes || len(md.Caption) > MaxFieldBytes || len(md.Filename) > MaxFieldBytes {
			return Invalid("media", "a field is longer than %d bytes", MaxFieldBytes)
		}
		if !md.Local && !strings.HasPrefix(md.URL, "https://") && !strings.HasPrefix(md.URL, "http://") {
			return Invalid("media.url", "must be an http or https URL")
		}
	}
	if len(m.Buttons) > MaxButtons {
		return Invalid("buttons", "at most %d buttons", MaxButtons)
	}
	if err := checkLabels("buttons", m.Buttons); err != nil {
		return err
	}
	if len(m.Options) > MaxOptions {
		return Invalid("options", "at most %d options", MaxOptions)
	}
	if err := checkLabels("options", m.Options); err != nil {
		return err
	}
	if t := m.Template; t != nil {
		if t.Name == "" && t.ID == "" && t.GroupID == "" {
			return Invalid("template.name", "is required (or a template id or group)")
		}
		if len(t.Name) > MaxFieldBytes || len(t.ID) > MaxFieldBytes || len(t.GroupID) > MaxFieldBytes {
			return Invalid("template", "a field is longer than %d bytes", MaxFieldBytes)
		}
	}
	if len(m.ClientRef) > MaxFieldBytes {
		return Invalid("client_ref", "is longer than %d bytes", MaxFieldBytes)
	}
	if len(m.FlowID) > MaxFieldBytes {
		return Invalid("flow_id", "is longer than %d bytes", MaxFieldBytes)
	}
	if len(m.Vars) > MaxVars {
		return Invalid("vars", "at most %d variables", MaxVars)
	}
	if !m.NotBefore.IsZero() && !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(m.NotBefore) {
		return Invalid("expires_at", "must be after not_before")
	}
	if w := m.Window; w != nil {
		if len(w.Hours) == 0 || len(w.Hours) > 24 {
			return Invalid("window.hours", "must list 1 to 24 hours")
		}
		for _, h := range w.Hours {
			if h < 0 || h > 23 {
				return Invalid("window.hours", "hour %d is not between 0 and 23", h)
			}
		}
		if w.TimeZone != "" {
			if _, err := LoadLocation(w.TimeZone); err != nil {
				return Invalid("window.time_zone", "unknown time zone %q", w.TimeZone)
			}
		}
	}
	return nil
}

func checkE164(field, s string) error {
	if s == "" {
		return Invalid(field, "is required")
	}
	if len(s) < minE164Digits || len(s) > maxE164Digits {
		return Invalid(field, "must be an E.164 number of %d to %d digits", minE164Digits, maxE164Digits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Invalid(field, "must be digits only (E.164 without +)")
		}
	}
	if s[0] == '0' {
		return Invalid(field, "must start with a country code")
	}
	return nil
}

func checkLabels(field string, labels []string) error {
	for _, l := range labels {
		if strings.TrimSpace(l) == "" {
			return Invalid(field, "an entry is empty")
		}
		if len(l) > MaxFieldBytes {
			return Invalid(field, "an entry is longer than %d bytes", MaxFieldBytes)
		}
	}
	return nil
}

// zones caches time.LoadLocation, which reads the zone database from disk on every call.
// The set of zone names is small and fixed, so the cache is bounded by it (failures are
// not cached).
var zones sync.Map // name -> *time.Location

// LoadLocation is time.LoadLocation with a cache, for the request and dispatch paths.
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
