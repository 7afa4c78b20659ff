package callbacks

import (
	"encoding/binary"
	"errors"
	"time"

	"switchboard/gateway/queue"
)

// A lane posts one tenant's callbacks. It reads a batch of the tenant's feed after its
// cursor, renders each entry's callbacks, and posts them: in order per message (a message's
// next callback waits for the one before to be delivered or dead-lettered), several
// messages at a time. A failed callback is tried again after a backoff with jitter; after
// MaxAttempts it is dead-lettered and the message's next callback goes on. The cursor moves
// past an entry once all the callbacks of it and of every entry before it are done, so a
// crash posts again only what was in flight or not yet saved (at-least-once), and a
// receiver that is down holds back only its own tenant.
//
// Messages finish out of feed order, so the saved state is the cursor and the Seqs beyond it
// that are done: a restart skips those, and a graceful stop posts nothing twice.
type lane struct {
	w      *Worker
	t      *Tenant
	cursor uint64
	skip   map[uint64]bool // entries past the cursor done before the last stop
	saved  time.Time
	wake   chan struct{}
	stop   <-chan struct{} // of the current run (see Worker.run)
}

func (l *lane) stopping() bool { return closed(l.stop) }

// pending is one callback of a batch.
type pending struct {
	d     Delivery
	entry int // index of its feed entry in the batch
	due   time.Time
}

// group is one message's callbacks of a batch, in order.
type group struct {
	q      []*pending
	flying bool
}

type result struct {
	g       *group
	err     string
	stopped bool // not sent: the worker is stopping
}

func (l *lane) run() {
	poll := time.NewTimer(pollInterval)
	defer poll.Stop()
	for !l.stopping() {
		entries, err := l.w.src.ReadFeed(l.t.ID, l.cursor, batchSize)
		if err == nil && len(entries) > 0 {
			err = l.process(entries)
		}
		if err != nil {
			l.w.log.Error("cannot read callbacks", "tenant", l.t.ID, "err", err)
			wait(readErrorWait, l.stop)
			continue
		}
		if len(entries) == batchSize {
			continue
		}
		poll.Reset(pollInterval)
		select {
		case <-l.wake:
		case <-poll.C:
		case <-l.stop:
		}
	}
}

// process posts the callbacks of a batch of entries and moves the cursor past them; when
// the worker stops, it moves it past those done.
func (l *lane) process(entries []queue.FeedEntry) error {
	left := make([]int, len(entries)) // callbacks not yet done, per entry
	var groups []*group
	byID := map[string]*group{}
	// A record read after the batch holds every change of the batch: one read per message.
	recs := map[string]*queue.Record{}
	for i, e := range entries {
		if l.skip[e.Seq] {
			continue
		}
		if e.Reply != nil {
			if l.t.ReplyURL == "" || e.Reply.Tenant != l.t.ID {
				continue
			}
			// A reply is a group of its own: replies need no order among themselves.
			groups = append(groups, &group{q: []*pending{{d: l.w.renderReply(e), entry: i}}})
			left[i]++
			continue
		}
		if !l.t.statusOn() {
			continue
		}
		rec, ok := recs[e.ID]
		if !ok {
			var err error
			rec, err = l.w.src.Get(e.ID)
			if err != nil && !errors.Is(err, queue.ErrNotFound) {
				return err
			}
			recs[e.ID] = rec // nil: past retention
		}
		if rec != nil && indexOf(rec.History, e.Change) < 0 {
			var err error
			if rec, err = l.catchUp(e, rec); err != nil {
				return err
			}
			recs[e.ID] = rec
		}
		if rec == nil || rec.Msg.Tenant != l.t.ID {
			continue
		}
		for _, d := range l.w.render(e, rec) {
			g := byID[e.ID]
			if g == nil {
				g = &group{}
				byID[e.ID] = g
				groups = append(groups, g)
			}
			g.q = append(g.q, &pending{d: d, entry: i})
			left[i]++
		}
	}
	done := 0 // entries done, from the start
	advance := func(force bool) {
		for done < len(entries) && left[done] == 0 {
			done++
		}
		var beyond []uint64
		for i := done; i < len(entries); i++ {
			if left[i] == 0 {
				beyond = append(beyond, entries[i].Seq)
			}
		}
		if done > 0 {
			l.cursor = max(l.cursor, entries[done-1].Seq)
		}
		l.save(beyond, force)
	}
	results := make(chan result, l.w.opts.PerTenant)
	flying := 0
	for {
		if len(groups) == 0 && flying == 0 {
			break
		}
		now := time.Now()
		var next time.Time // the earliest head not yet due
		if !l.stopping() {
			for _, g := range groups {
				if flying >= l.w.opts.PerTenant {
					break
				}
				if g.flying {
					continue
				}
				p := g.q[0]
				if p.due.After(now) {
					if next.IsZero() || p.due.Before(next) {
						next = p.due
					}
					continue
				}
				g.flying = true
				flying++
				go l.send(g, p, results)
			}
		}
		if flying == 0 {
			if l.stopping() {
				break
			}
			if !next.IsZero() {
				wait(time.Until(next), l.stop)
			}
			continue
		}
		var r result
		select {
		case r = <-results:
		case <-l.timer(next):
			continue
		}
		flying--
		r.g.flying = false
		p := r.g.q[0]
		if r.stopped {
			continue
		}
		if r.err != "" {
			p.d.Attempts++
			p.d.LastError = r.err
			if p.d.Attempts < l.w.opts.MaxAttempts {
				failedTotal.Inc()
				p.due = time.Now().Add(l.w.backoff(p.d.Attempts))
				continue
			}
			if err := l.w.deadLetter(&p.d); err != nil {
				l.w.log.Error("cannot dead-letter a callback; it is tried again", "tenant", l.t.ID, "key", p.d.Key, "err", err)
				p.due = time.Now().Add(l.w.opts.MaxBackoff)
				continue
			}
		} else {
			deliveredTotal.Inc()
			if p.d.Kind == KindReply {
				repliesDelivered.Inc()
			}
		}
		left[p.entry]--
		r.g.q = r.g.q[1:]
		if left[p.entry] == 0 {
			advance(false)
		}
		if len(r.g.q) == 0 {
			groups = remove(groups, r.g)
		}
	}
	advance(true)
	for _, e := range entries {
		delete(l.skip, e.Seq)
	}
	return nil
}

// timer fires at t, or never when t is zero.
func (l *lane) timer(t time.Time) <-chan time.Time {
	if t.IsZero() {
		return nil
	}
	return time.After(time.Until(t))
}

func (l *lane) send(g *group, p *pending, results chan<- result) {
	select {
	case l.w.sem <- struct{}{}:
		err := l.w.post(l.t, &p.d)
		<-l.w.sem
		results <- result{g: g, err: err}
	case <-l.stop:
		results <- result{g: g, stopped: true}
	}
}

// save writes the cursor and the Seqs done beyond it, at most every cursorEvery unless
// forced.
func (l *lane) save(beyond []uint64, force bool) {
	if !force && time.Since(l.saved) < cursorEvery {
		return
	}
	l.saved = time.Now()
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+2*len(beyond)), l.cursor)
	for _, s := range beyond {
		v = binary.AppendUvarint(v, s-l.cursor)
	}
	if err := l.w.src.PutState(cursorKey(l.t.ID), v, 0); err != nil {
		l.w.log.Error("cannot save the callbacks cursor", "tenant", l.t.ID, "err", err)
	}
}

func remove(gs []*group, g *group) []*group {
	for i := range gs {
		if gs[i] == g {
			return append(gs[:i], gs[i+1:]...)
		}
	}
	return gs
}

// catchUp reads a message's record again until it holds the change its feed entry announces,
// for at most staleTries reads: a queue shared by several gateways may answer a read from a
// replica that has not yet applied the write (JetStream's direct gets are served by
// followers), and passing such an entry over would lose its callback. A record that still
// lacks the change after that is taken as it is (its entry then gives no callback).
func (l *lane) catchUp(e queue.FeedEntry, rec *queue.Record) (*queue.Record, error) {
	for try := 0; try < staleTries && !l.stopping(); try++ {
		wait(staleWait, l.stop)
		r, err := l.w.src.Get(e.ID)
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return nil, err
		}
		if r != nil {
			rec = r
			if indexOf(r.History, e.Change) >= 0 {
				break
			}
		}
	}
	return rec, nil
}
