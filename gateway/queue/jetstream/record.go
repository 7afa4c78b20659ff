package jetstream

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"switchboard/canonical"
)

// A status record (KV s.<id>, and the body of a dead letter): version, kind, due time
// (Unix nanoseconds, 0 for none), the message in its codec (uvarint length first), then
// its status changes, each: status, at (varint), upstream, reason, code; strings uvarint-
// length prefixed.

const recordVersion = 1

// Record kinds.
const (
	kindLive  = 'L' // retried, replayed or given a receipt while waiting: still to be sent
	kindFinal = 'F' // finished: every delivery of it is turned away
	kindDead  = 'D' // dead-lettered
)

var errCorrupt = errors.New("corrupt status record")

type record struct {
	kind byte
	due  time.Time
	msg  *canonical.Message
	hist []canonical.Change
}

func (r *record) final() bool { return r.kind == kindFinal || r.kind == kindDead }

func (r *record) encode() []byte {
	b := make([]byte, 0, 256+len(r.msg.Text)+64*len(r.hist))
	b = append(b, recordVersion, r.kind)
	var due int64
	if !r.due.IsZero() {
		due = r.due.UnixNano()
	}
	b = binary.AppendVarint(b, due)
	msg := r.msg.AppendBinary(nil)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	b = append(b, msg...)
	for _, ch := range r.hist {
		b = canonical.AppendChange(b, ch)
	}
	return b
}

func decodeRecord(b []byte) (*record, error) {
	if len(b) < 2 || b[0] != recordVersion {
		return nil, errCorrupt
	}
	r := &record{kind: b[1], msg: new(canonical.Message)}
	b = b[2:]
	due, n := binary.Varint(b)
	if n <= 0 {
		return nil, errCorrupt
	}
	if due != 0 {
		r.due = time.Unix(0, due).UTC()
	}
	b = b[n:]
	size, n := binary.Uvarint(b)
	if n <= 0 || size > uint64(len(b)-n) {
		return nil, errCorrupt
	}
	if err := r.msg.UnmarshalBinary(b[n : n+int(size)]); err != nil {
		return nil, err
	}
	b = b[n+int(size):]
	hist, err := canonical.DecodeChanges(b)
	if err != nil {
		return nil, errCorrupt
	}
	r.hist = hist
	return r, nil
}

func appendLP(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func readLP(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || n > math.MaxInt32 {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

// initial is the first change of a message's history: what Enqueue made it.
func initial(m *canonical.Message) canonical.Change {
	return canonical.Change{Status: m.Status, At: m.CreatedAt}
}

// newChanges returns the changes of cur that base does not hold (receipts recorded by
// another call since base was read).
func newChanges(cur, base []canonical.Change) []canonical.Change {
	var out []canonical.Change
	seen := make(map[string]int, len(base)) // by encoding: times compare by instant
	for _, c := range base {
		seen[string(canonical.AppendChange(nil, c))]++
	}
	for _, c := range cur {
		if k := string(canonical.AppendChange(nil, c)); seen[k] > 0 {
			seen[k]--
			continue
		}
		out = append(out, c)
	}
	return out
}

// An idempotency entry (KV i.<ref>.<key>): content hash (8 bytes), seq, created at,
// status, id. A client-ref index entry without a key has hash 0.

type idemEntry struct {
	hash    uint64
	seq     uint64
	created time.Time
	status  canonical.Status
	id      string
}

func (e *idemEntry) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 64+len(e.id)), e.hash)
	b = binary.AppendUvarint(b, e.seq)
	b = binary.AppendVarint(b, e.created.UnixNano())
	b = appendLP(b, string(e.status))
	return append(b, e.id...)
}

func decodeIdem(b []byte) (*idemEntry, error) {
	if len(b) < 8 {
		return nil, errCorrupt
	}
	e := &idemEntry{hash: binary.BigEndian.Uint64(b)}
	b = b[8:]
	var n int
	if e.seq, n = binary.Uvarint(b); n <= 0 {
		return nil, errCorrupt
	}
	b = b[n:]
	created, n := binary.Varint(b)
	if n <= 0 {
		return nil, errCorrupt
	}
	e.created = time.Unix(0, created).UTC()
	s, rest, ok := readLP(b[n:])
	if !ok || len(rest) == 0 {
		return nil, errCorrupt
	}
	e.status, e.id = canonical.Status(s), string(rest)
	return e, nil
}

func entryOf(m *canonical.Message, hash uint64) *idemEntry {
	return &idemEntry{hash: hash, seq: m.Seq, created: m.CreatedAt, status: m.Status, id: m.ID}
}

func (e *idemEntry) apply(m *canonical.Message) {
	m.ID, m.Seq, m.CreatedAt, m.Status = e.id, e.seq, e.created, e.status
}

// Names. Ids, tenants and recipients become subject tokens and KV key tokens: those made
// of letters, digits, '-' and '_' as they are, anything else as '=' and its base64.

func token(s string) string {
	if s != "" && len(s) <= 128 && plain(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// digest is a 128-bit hash of its parts as a key token; a collision of two idempotency
// keys would make one message a repeat of another, so 64 bits are not enough.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [sha256.Size]byte
	return base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

func statusKey(id string) string { return "s." + token(id) }

func refPrefix(tenant, ref string) string { return "i." + digest(tenant, ref) + "." }

// templateKey indexes the last template sent to a recipient: any template, or one by name.
func templateKey(tenant, to, name string) string {
	if name == "" {
		return "t." + token(tenant) + "." + token(to)
	}
	return "tn." + token(tenant) + "." + token(to) + "." + token(name)
}
