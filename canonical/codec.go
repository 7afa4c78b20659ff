package canonical

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"time"
)

// codecVersion is the first byte of every encoded message. Decode refuses versions it does
// not know, so a queue written by a newer gateway is never misread by an older one.
const codecVersion = 1

var errCorrupt = errors.New("cannot decode message: corrupt or truncated")

// AppendBinary appends the compact queue encoding of m to dst.
// Every field is written in a fixed order: strings and lists length-prefixed (uvarint),
// integers as varints, times as Unix nanoseconds (0 for the zero time), maps sorted by key.
func (m *Message) AppendBinary(dst []byte) []byte {
	dst = append(dst, codecVersion)
	for _, s := range [...]string{m.ID, m.Tenant, m.Dialect, m.BatchID, m.ClientRef, m.To, m.From,
		string(m.Channel), string(m.Kind), m.Text, m.FlowID, string(m.Status), m.LastError, m.Upstream, m.UpstreamID} {
		dst = appendString(dst, s)
	}
	dst = binary.AppendUvarint(dst, m.Seq)
	dst = binary.AppendVarint(dst, int64(m.Attempts))
	flags := byte(0)
	if m.Flash {
		flags |= 1
	}
	if m.Template != nil {
		flags |= 2
	}
	if m.Window != nil {
		flags |= 4
	}
	dst = append(dst, flags)
	dst = appendTime(dst, m.NotBefore)
	dst = appendTime(dst, m.ExpiresAt)
	dst = appendTime(dst, m.CreatedAt)
	dst = binary.AppendUvarint(dst, uint64(len(m.Media)))
	for _, md := range m.Media {
		dst = appendString(dst, md.URL)
		dst = appendString(dst, md.Caption)
		dst = appendString(dst, md.Filename)
		dst = appendBool(dst, md.Local)
	}
	dst = appendStrings(dst, m.Buttons)
	dst = appendStrings(dst, m.Options)
	if t := m.Template; t != nil {
		dst = appendString(dst, t.Name)
		dst = appendString(dst, t.ID)
		dst = appendString(dst, t.Language)
		dst = appendString(dst, t.GroupID)
		dst = appendStrings(dst, t.Params)
	}
	if w := m.Window; w != nil {
		dst = binary.AppendUvarint(dst, uint64(len(w.Hours)))
		for _, h := range w.Hours {
			dst = binary.AppendVarint(dst, int64(h))
		}
		dst = appendString(dst, w.TimeZone)
	}
	dst = appendMap(dst, m.Vars)
	dst = appendMap(dst, m.Extra)
	return dst
}

// MarshalBinary returns the queue encoding of m.
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, 256+len(m.Text))), nil
}

// UnmarshalBinary decodes the queue encoding into m, replacing its contents.
// It never panics on corrupt input; it returns an error instead.
func (m *Message) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errCorrupt
	}
	if b[0] != codecVersion {
		return errors.New("cannot decode message: unknown encoding version")
	}
	d := decoder{b: b[1:]}
	*m = Message{}
	var ch, kind, status string
	for _, p := range [...]*string{&m.ID, &m.Tenant, &m.Dialect, &m.BatchID, &m.ClientRef, &m.To, &m.From,
		&ch, &kind, &m.Text, &m.FlowID, &status, &m.LastError, &m.Upstream, &m.UpstreamID} {
		*p = d.string()
	}
	m.Channel, m.Kind, m.Status = Channel(ch), Kind(kind), Status(status)
	m.Seq = d.uvarint()
	m.Attempts = int(d.varint())
	flags := d.byte()
	m.Flash = flags&1 != 0
	m.NotBefore = d.time()
	m.ExpiresAt = d.time()
	m.CreatedAt = d.time()
	if n := d.count(4); n > 0 {
		m.Media = make([]Media, n)
		for i := range m.Media {
			m.Media[i] = Media{URL: d.string(), Caption: d.string(), Filename: d.string(), Local: d.byte() != 0}
		}
	}
	m.Buttons = d.strings()
	m.Options = d.strings()
	if flags&2 != 0 {
		m.Template = &Template{Name: d.string(), ID: d.string(), Language: d.string(), GroupID: d.string()}
		m.Template.Params = d.strings()
	}
	if flags&4 != 0 {
		m.Window = &Window{}
		if n := d.count(1); n > 0 {
			m.Window.Hours = make([]int, n)
			for i := range m.Window.Hours {
				m.Window.Hours[i] = int(d.varint())
			}
		}
		m.Window.TimeZone = d.string()
	}
	m.Vars = d.stringMap()
	m.Extra = d.stringMap()
	if d.err || len(d.b) != 0 || flags&^7 != 0 {
		return errCorrupt
	}
	return nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(dst, 0)
	}
	return binary.AppendVarint(dst, t.UnixNano())
}

func appendMap(dst []byte, m map[string]string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, m[k])
	}
	return dst
}

// decoder reads the encoding; the first problem sets err and every later read returns zero.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads a length and checks it against what is left, at minSize bytes an element,
// so corrupt input cannot make the decoder allocate more than the input's size.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minSize) || n > math.MaxInt32 {
		d.err, d.b = true, nil
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count(1)
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

func (d *decoder) stringMap() map[string]string {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		m[k] = d.string()
	}
	return m
}

func (d *decoder) time() time.Time {
	ns := d.varint()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// AppendChange appends the queue encoding of one status change: the status, the time as
// Unix nanoseconds (0 for none), the upstream, the reason and the code. A history is these
// encodings one after another.
func AppendChange(dst []byte, ch Change) []byte {
	dst = appendString(dst, string(ch.Status))
	dst = appendTime(dst, ch.At)
	dst = appendString(dst, ch.Upstream)
	dst = appendString(dst, ch.Reason)
	return appendString(dst, ch.Code)
}

// DecodeChanges decodes a history written with AppendChange. It never panics on corrupt
// input; it returns an error instead.
func DecodeChanges(b []byte) ([]Change, error) {
	var out []Change
	d := decoder{b: b}
	for len(d.b) > 0 && !d.err {
		out = append(out, d.change())
	}
	if d.err {
		return nil, errors.New("cannot decode status history: corrupt or truncated")
	}
	return out, nil
}

// NextChange splits the first change of a history written with AppendChange off b.
func NextChange(b []byte) (change, rest []byte, ok bool) {
	d := decoder{b: b}
	d.change()
	if d.err {
		return nil, nil, false
	}
	return b[:len(b)-len(d.b)], d.b, true
}

func (d *decoder) change() Change {
	ch := Change{Status: Status(d.string()), At: d.time()}
	ch.Upstream, ch.Reason, ch.Code = d.string(), d.string(), d.string()
	return ch
}
