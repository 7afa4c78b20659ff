package gateway

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/canonical"
	"switchboard/gateway/queue"
)

// The admin API's lookup of the messages sent to one recipient:
// GET /admin/v1/messages?to=E164[&tenant=][&since=][&until=][&limit=][&before=]. No index is
// kept for it (that would be a write per message on the enqueue path): the queue scans the
// window's status records, so the window and the records read in one call are bounded.

const (
	// recipientWindow is the window of a lookup without since: the last hour.
	recipientWindow = time.Hour
	// recipientPage is the number of messages answered without limit; maxRecipientPage the most.
	recipientPage    = 100
	maxRecipientPage = 1000
	// recipientScan is the most status records one lookup reads, whatever it finds: a busy
	// hour holds far more messages than one call should read.
	recipientScan = 50_000
)

// errNoRecipientLookup answers a lookup by recipient on a queue backend that cannot scan its
// messages by time.
var errNoRecipientLookup = canonical.Errorf(canonical.ErrUnavailable,
	"this queue backend offers no lookup by recipient: look a message up by id or by tenant and client_ref")

// messagesByRecipient answers GET /admin/v1/messages?to=.
func (s *Server) messagesByRecipient(ctx *fasthttp.RequestCtx) {
	rq, e := parseRecipientQuery(ctx.QueryArgs(), time.Now())
	if e != nil {
		s.writeNativeError(ctx, e)
		return
	}
	l, ok := s.q.(queue.RecipientLookup)
	if !ok {
		s.writeNativeError(ctx, errNoRecipientLookup)
		return
	}
	p, err := l.ByRecipient(rq)
	if err != nil {
		s.writeNativeError(ctx, canonical.AsError(err))
		return
	}
	ans := map[string]any{"messages": p.Records, "since": p.Since, "until": rq.Until,
		"examined": p.Examined, "truncated": p.Truncated}
	if p.Truncated {
		ans["next"] = p.Next // pass as before= for the next page
		if p.ScanBound {
			ans["scan_bound"] = recipientScan // records read: narrow the window or go on with next
		}
	}
	s.writeValue(ctx, 200, ans)
}

// parseRecipientQuery reads the lookup's arguments; the window ends at now without until.
func parseRecipientQuery(args *fasthttp.Args, now time.Time) (queue.RecipientQuery, *canonical.Error) {
	rq := queue.RecipientQuery{Tenant: string(args.Peek("tenant")), Before: string(args.Peek("before")),
		Limit: recipientPage, Scan: recipientScan, Until: now.UTC()}
	to, e := phoneArg("to", string(args.Peek("to")), "")
	if e != nil {
		return rq, e
	}
	rq.To = to
	if e := windowArgs(args, &rq.Since, &rq.Until); e != nil {
		return rq, e
	}
	if rq.Since.IsZero() {
		rq.Since = rq.Until.Add(-recipientWindow)
	}
	if !rq.Since.Before(rq.Until) {
		return rq, canonical.Invalid("since", "must be before until")
	}
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n <= 0 || n > maxRecipientPage {
			return rq, canonical.Invalid("limit", "must be a number from 1 to %d", maxRecipientPage)
		}
		rq.Limit = n
	}
	return rq, nil
}

// phoneArg writes an admin argument naming a phone number as recipients are written
// (countryCode for a local number), or refuses it naming field.
func phoneArg(field, raw, countryCode string) (string, *canonical.Error) {
	n, err := canonical.NormalizePhone(raw, countryCode)
	if err != nil {
		var ce *canonical.Error
		if errors.As(err, &ce) {
			return "", canonical.Invalid(field, "%s", ce.Reason)
		}
		return "", canonical.Invalid(field, "is not a phone number")
	}
	return n, nil
}
