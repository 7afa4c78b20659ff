package http

import (
	"errors"
	"slices"
	"strconv"
	"time"

	"switchboard/adapters"
	"switchboard/canonical"
)

// The request body is canonical.Message as encoding/json writes it (its json tags, a trailing
// newline), appended by hand: the reflective encoder was a tenth of the dispatcher's CPU per
// message. TestAppendMessageMatchesJSON holds the two to the same JSON value.

var errYearRange = errors.New("year outside of range [0,9999]")

// appendMessage appends the JSON body of m.
func appendMessage(b []byte, m *canonical.Message) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = adapters.AppendJSONString(b, m.ID)
	if m.Seq != 0 {
		b = strconv.AppendUint(append(b, `,"seq":`...), m.Seq, 10)
	}
	b = appendField(b, "tenant", m.Tenant)
	b = appendField(b, "dialect", m.Dialect)
	b = appendField(b, "batch_id", m.BatchID)
	b = appendField(b, "client_ref", m.ClientRef)
	b = adapters.AppendJSONString(append(b, `,"to":`...), m.To)
	b = appendField(b, "from", m.From)
	b = appendField(b, "channel", string(m.Channel))
	b = appendField(b, "kind", string(m.Kind))
	b = appendField(b, "text", m.Text)
	if len(m.Media) > 0 {
		b = append(b, `,"media":[`...)
		for i, md := range m.Media {
			if i > 0 {
				b = append(b, ',')
			}
			b = adapters.AppendJSONString(append(b, `{"url":`...), md.URL)
			b = appendField(b, "caption", md.Caption)
			b = appendField(b, "filename", md.Filename)
			if md.Local {
				b = append(b, `,"local":true`...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendStrings(b, "buttons", m.Buttons)
	b = appendStrings(b, "options", m.Options)
	if t := m.Template; t != nil {
		b = append(b, `,"template":{`...)
		n := len(b)
		b = appendField(b, "name", t.Name)
		b = appendField(b, "id", t.ID)
		b = appendField(b, "language", t.Language)
		b = appendStrings(b, "params", t.Params)
		b = appendField(b, "group_id", t.GroupID)
		if len(b) > n {
			b = append(b[:n], b[n+1:]...) // the first field's comma
		}
		b = append(b, '}')
	}
	b = appendField(b, "flow_id", m.FlowID)
	b = appendMap(b, "vars", m.Vars)
	if m.Flash {
		b = append(b, `,"flash":true`...)
	}
	var err error
	if b, err = appendTime(b, "not_before", m.NotBefore); err != nil {
		return b, err
	}
	if b, err = appendTime(b, "expires_at", m.ExpiresAt); err != nil {
		return b, err
	}
	if w := m.Window; w != nil {
		b = append(b, `,"window":{"hours":`...)
		if w.Hours == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '[')
			for i, h := range w.Hours {
				if i > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(h), 10)
			}
			b = append(b, ']')
		}
		b = append(appendField(b, "time_zone", w.TimeZone), '}')
	}
	if b, err = appendTime(b, "created_at", m.CreatedAt); err != nil {
		return b, err
	}
	if m.Attempts != 0 {
		b = strconv.AppendInt(append(b, `,"attempts":`...), int64(m.Attempts), 10)
	}
	b = appendField(b, "status", string(m.Status))
	b = appendField(b, "last_error", m.LastError)
	b = appendField(b, "upstream", m.Upstream)
	b = appendField(b, "upstream_id", m.UpstreamID)
	b = appendMap(b, "extra", m.Extra)
	return append(b, "}\n"...), nil
}

// appendField appends ,"name":"v" unless v is empty (omitempty).
func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return adapters.AppendJSONString(append(append(append(b, `,"`...), name...), `":`...), v)
}

func appendStrings(b []byte, name string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":[`...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = adapters.AppendJSONString(b, s)
	}
	return append(b, ']')
}

// appendMap appends a map with its keys sorted, as encoding/json does.
func appendMap(b []byte, name string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(append(append(b, `,"`...), name...), `":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = adapters.AppendJSONString(append(adapters.AppendJSONString(b, k), ':'), m[k])
	}
	return append(b, '}')
}

// appendTime appends a time as time.Time.MarshalJSON does, unless it is zero (omitzero).
func appendTime(b []byte, name string, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return b, nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return b, errYearRange
	}
	b = append(append(append(b, `,"`...), name...), `":"`...)
	return append(t.AppendFormat(b, time.RFC3339Nano), '"'), nil
}
