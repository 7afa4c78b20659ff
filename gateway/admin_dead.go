package gateway

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The admin API for a bad day: the dead-letter list with filters and paging, bulk replay
// with a dry run, and lookups of any tenant's message by id or client reference.

const (
	// deadScan is the most dead letters one filtered list or bulk replay reads, so that a
	// huge dead list cannot take the gateway's memory; the answer's next goes on from there
	// (with a backend that pages, queue.DeadPager; without, the oldest deadScan only).
	deadScan = 20_000
	// deadPage is the page size of the dead list without limit; maxDeadPage its largest.
	deadPage    = 100
	maxDeadPage = 10_000
)

// deadFilter selects dead letters; a zero field matches all.
type deadFilter struct {
	upstream, tenant, reason, to, after string
	since, until                        time.Time
}

func parseDeadFilter(args *fasthttp.Args) (deadFilter, *canonical.Error) {
	f := deadFilter{
		upstream: string(args.Peek("upstream")), tenant: string(args.Peek("tenant")),
		reason: strings.ToLower(string(args.Peek("reason"))), after: string(args.Peek("after")),
		to: strings.TrimPrefix(string(args.Peek("to")), "+"),
	}
	return f, windowArgs(args, &f.since, &f.until)
}

// windowArgs reads the since and until arguments, RFC 3339 times, into since and until;
// an absent one leaves its destination as it was.
func windowArgs(args *fasthttp.Args, since, until *time.Time) *canonical.Error {
	for name, dst := range map[string]*time.Time{"since": since, "until": until} {
		if v := args.Peek(name); len(v) > 0 {
			t, err := time.Parse(time.RFC3339, string(v))
			if err != nil {
				return canonical.Invalid(name, "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
			}
			*dst = t.UTC()
		}
	}
	return nil
}

// diedAt is when the message was dead-lettered: its last dead change, else its creation.
func diedAt(r *queue.Record) time.Time {
	for i := len(r.History) - 1; i >= 0; i-- {
		if r.History[i].Status == canonical.StatusDead {
			return r.History[i].At
		}
	}
	return r.Msg.CreatedAt
}

func (f *deadFilter) match(r *queue.Record) bool {
	m := r.Msg
	at := diedAt(r)
	return (f.upstream == "" || m.Upstream == f.upstream) && (f.tenant == "" || m.Tenant == f.tenant) &&
		(f.to == "" || m.To == f.to) && (f.reason == "" || strings.Contains(strings.ToLower(m.LastError), f.reason)) &&
		(f.since.IsZero() || !at.Before(f.since)) && (f.until.IsZero() || at.Before(f.until))
}

// requestedDead answers the request's filters: up to limit matching dead letters (after
// its after= cursor) and the cursor to go on from ("" at the end of the list). It has
// answered the request when ok is false.
func (s *Server) requestedDead(ctx *fasthttp.RequestCtx, limit int) (recs []*queue.Record, next string, ok bool) {
	f, e := parseDeadFilter(ctx.QueryArgs())
	if e != nil {
		s.writeNativeError(ctx, e)
		return nil, "", false
	}
	recs, next, err := s.selectDead(f, limit, deadScan)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return nil, "", false
	}
	return recs, next, true
}

// deadChunk is how many dead letters a paging backend is asked for at a time.
const deadChunk = 1000

// selectDead returns up to limit dead letters that match f, after f.after, reading at most
// scan of them, and the cursor to go on from: the last one returned when more match beyond
// it, the last one read when the scan bound stopped it (so a sparse filter still moves on),
// "" at the end. Without a paging backend it reads the oldest scan letters only.
func (s *Server) selectDead(f deadFilter, limit, scan int) ([]*queue.Record, string, error) {
	out := []*queue.Record{}
	pager, ok := s.q.(queue.DeadPager)
	if !ok {
		recs, err := s.q.DeadLetters(scan)
		if err != nil {
			return nil, "", err
		}
		skipping := f.after != ""
		for _, r := range recs {
			if skipping {
				skipping = r.Msg.ID != f.after
				continue
			}
			if !f.match(r) {
				continue
			}
			if len(out) == limit {
				return out, out[len(out)-1].Msg.ID, nil
			}
			out = append(out, r)
		}
		return out, "", nil
	}
	cursor, read := f.after, 0
	for read < scan {
		recs, err := pager.DeadLettersAfter(cursor, min(deadChunk, scan-read))
		if err != nil {
			return nil, "", err
		}
		if len(recs) == 0 {
			return out, "", nil
		}
		for _, r := range recs {
			if f.match(r) {
				if len(out) == limit {
					return out, out[len(out)-1].Msg.ID, nil
				}
				out = append(out, r)
			}
			read++
			cursor = r.Msg.ID
		}
	}
	return out, cursor, nil
}

func limitArg(args *fasthttp.Args, def int) (int, *canonical.Error) {
	v := args.Peek("limit")
	if len(v) == 0 {
		return def, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n <= 0 || n > maxDeadPage {
		return 0, canonical.Invalid("limit", "must be a number from 1 to %d", maxDeadPage)
	}
	return n, nil
}

func (s *Server) deadRoutes(r *router.Router) {
	// GET /admin/v1/dead?upstream=&tenant=&reason=&to=&since=&until=&after=&limit=
	r.GET("/admin/v1/dead", s.admin(func(ctx *fasthttp.RequestCtx) {
		limit, e := limitArg(ctx.QueryArgs(), deadPage)
		if e != nil {
			s.writeNativeError(ctx, e)
			return
		}
		recs, next, ok := s.requestedDead(ctx, limit)
		if !ok {
			return
		}
		ans := map[string]any{"dead": recs}
		if next != "" {
			ans["next"] = next // pass as after= for the next page
		}
		s.writeValue(ctx, 200, ans)
	}))
	// POST /admin/v1/dead/replay?<filters>[&dry_run=true]: replays every match, or counts them.
	r.POST("/admin/v1/dead/replay", s.admin(func(ctx *fasthttp.RequestCtx) {
		recs, _, ok := s.requestedDead(ctx, deadScan)
		if !ok {
			return
		}
		if ctx.QueryArgs().GetBool("dry_run") {
			s.writeValue(ctx, 200, map[string]any{"matched": len(recs), "replayed": 0, "dry_run": true})
			return
		}
		replayed, failed := 0, []string{}
		for _, r := range recs {
			if err := s.q.Replay(r.Msg.ID); err != nil {
				failed = append(failed, r.Msg.ID)
				continue
			}
			replayed++
		}
		s.log.Warn("dead letters replayed by the admin API", "matched", len(recs), "replayed", replayed, "failed", len(failed))
		s.writeValue(ctx, 200, map[string]any{"matched": len(recs), "replayed": replayed, "failed": failed})
	}))
	// GET /admin/v1/messages/{id}: any tenant's message with its history.
	r.GET("/admin/v1/messages/{id}", s.admin(func(ctx *fasthttp.RequestCtx) {
		id, _ := ctx.UserValue("id").(string)
		rec, err := s.q.Get(id)
		if err != nil {
			s.writeNativeError(ctx, canonical.AsError(err))
			return
		}
		s.writeValue(ctx, 200, rec)
	}))
	// GET /admin/v1/messages?tenant=T&client_ref=R: the messages a client sent with that reference;
	// with to= instead, the messages to that recipient (admin_recipient.go).
	r.GET("/admin/v1/messages", s.admin(func(ctx *fasthttp.RequestCtx) {
		args := ctx.QueryArgs()
		if args.Has("to") {
			s.messagesByRecipient(ctx) // admin_recipient.go
			return
		}
		tenant, ref := string(args.Peek("tenant")), string(args.Peek("client_ref"))
		if tenant == "" || ref == "" {
			s.writeNativeError(ctx, canonical.Invalid("client_ref", "give tenant and client_ref, or to (a recipient)"))
			return
		}
		ids, err := s.lookups().ByRef(tenant, ref)
		if err != nil {
			s.writeNativeError(ctx, canonical.AsError(err))
			return
		}
		out := []*queue.Record{}
		for _, id := range ids {
			rec, err := s.q.Get(id)
			if errors.Is(err, queue.ErrNotFound) {
				continue // past retention since the reference was read
			}
			if err != nil {
				s.writeNativeError(ctx, canonical.AsError(err))
				return
			}
			out = append(out, rec)
		}
		s.writeValue(ctx, 200, map[string]any{"messages": out})
	}))
}
