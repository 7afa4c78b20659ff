package queue

import (
	"errors"
	"testing"

	"switchboard/canonical"
)

// DeadLettersAfter goes on from a dead letter, in the order they died, and refuses a cursor
// that is not a dead letter.
func TestDeadLettersAfter(t *testing.T) {
	q := openQueue(t, t.TempDir(), newClock())
	var ids []string
	for i := range 5 {
		enqueue(t, q, newMsg("551190000000"+string(rune('0'+i))))
		m := leaseN(t, q, 1)[0]
		if err := q.Finish(m, canonical.Change{Status: canonical.StatusDead}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	live := newMsg("5511911111111")
	enqueue(t, q, live)
	for _, c := range []struct {
		after string
		max   int
		want  []string
	}{
		{"", 2, ids[:2]}, {ids[1], 2, ids[2:4]}, {ids[3], 10, ids[4:]}, {ids[4], 10, nil},
	} {
		recs, err := q.DeadLettersAfter(c.after, c.max)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(c.want) {
			t.Fatalf("after %q: %d letters, want %d", c.after, len(recs), len(c.want))
		}
		for i, r := range recs {
			if r.Msg.ID != c.want[i] {
				t.Fatalf("after %q: letter %d is %s, want %s", c.after, i, r.Msg.ID, c.want[i])
			}
		}
	}
	for _, bad := range []string{"no-such-id", live.ID} {
		if _, err := q.DeadLettersAfter(bad, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after %q: %v, want not found", bad, err)
		}
	}
}
