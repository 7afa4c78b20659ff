package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
)

// The simulator plays the recipient: it remembers (bounded) the messages it accepted and
// posts a reply to one of them, in the vendor's own shape and signature, to the URL its
// receipts go to (the gateway's /receipts/{upstream}): Meta's message webhook signed with
// the app secret, its context.id the wamid the simulator answered with; Wavy's SMS MO (its
// WhatsApp MO for media) with mt.id and correlationId; Switchboard's reply JSON for the
// others, with the receipt token. On demand (POST /_sim/reply) and at a rate (Replies.Rate).

// Tuning of the replies.
const (
	// maxRemembered bounds the accepted messages a simulator can reply to: the oldest go
	// first.
	maxRemembered = 100_000
	// replyTick is how often the rate loop posts the replies that have come due.
	replyTick = 10 * time.Millisecond
	// maxReplyRate bounds -replies-rate: far above what a load test needs.
	maxReplyRate = 100_000
)

// Reply kinds the simulated recipient sends.
const (
	kindText   = "text"
	kindButton = "button"
	kindList   = "list"
	kindMedia  = "media"
)

// Replies configures the replies a simulator posts at a rate.
type Replies struct {
	// Rate is replies per second, each to a message accepted while the rate is set and not
	// yet replied to at this rate (oldest first); 0 posts only on demand.
	Rate float64 `json:"rate"`
	// Kinds are taken in turn: text, button, list, media. A button or list reply to a
	// message without buttons or options is a text. Default: text.
	Kinds []string `json:"kinds"`
	// Line is the business line replied to when the message names no sender (Wavy, FlowBot).
	Line string `json:"line"`
}

type replyCounters struct {
	posted, failed, dropped, idle atomic.Int64
}

// remembered is an accepted message and the id the simulator answered it with.
type remembered struct {
	m          *canonical.Message
	upstreamID string
}

// memory remembers accepted messages, by id and by recipient, in a bounded ring.
type memory struct {
	mu   sync.Mutex
	ring []*remembered
	next int
	byID map[string]*remembered // the simulator's id, the id it answered with, the client ref
	byTo map[string]*remembered // the last message to each recipient
	// due holds the messages the rate loop has not replied to; fed only while it runs.
	due   chan *remembered
	feed  atomic.Bool
	rc    atomic.Pointer[Replies]
	stop  chan struct{}
	seq   atomic.Uint64
	kindN atomic.Uint64
}

func (mem *memory) init() {
	mem.byID = make(map[string]*remembered)
	mem.byTo = make(map[string]*remembered)
	mem.due = make(chan *remembered, maxRemembered)
	mem.rc.Store(&Replies{})
}

// upstreamID is the id the simulator answered m with, as the dialect's answer shows it.
func upstreamID(dialect string, m *canonical.Message) string {
	switch dialect {
	case "whatsappcloud":
		return whatsappcloud.WAMID(m)
	case "multiwhats":
		return strconv.FormatUint(m.Seq, 10)
	}
	return m.ID
}

// rememberAccepted remembers messages just accepted.
func (s *Sim) rememberAccepted(msgs []*canonical.Message) {
	mem := &s.mem
	mem.mu.Lock()
	for _, m := range msgs {
		e := &remembered{m: m, upstreamID: upstreamID(s.in.Dialect(), m)}
		if len(mem.ring) < maxRemembered {
			mem.ring = append(mem.ring, e)
		} else {
			old := mem.ring[mem.next]
			for _, k := range []string{old.m.ID, old.upstreamID, old.m.ClientRef} {
				if mem.byID[k] == old {
					delete(mem.byID, k)
				}
			}
			if mem.byTo[old.m.To] == old {
				delete(mem.byTo, old.m.To)
			}
			mem.ring[mem.next] = e
			mem.next = (mem.next + 1) % maxRemembered
		}
		for _, k := range []string{m.ID, e.upstreamID, m.ClientRef} {
			if k != "" {
				mem.byID[k] = e
			}
		}
		mem.byTo[m.To] = e
		if mem.feed.Load() {
			select {
			case mem.due <- e:
			default:
			}
		}
	}
	mem.mu.Unlock()
}

// find returns a remembered message by any of its ids, else the last one to a recipient.
func (mem *memory) find(id, to string) *remembered {
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if id != "" {
		return mem.byID[id]
	}
	if n, err := canonical.NormalizePhone(to, ""); err == nil {
		return mem.byTo[n]
	}
	return nil
}

// errNoChoice is a button or list reply to a message that offered none.
var errNoChoice = errors.New("the message has no such choices")

// reply renders the recipient's reply to e in the vendor's shape: kind is text, button,
// list or media; index (1-based; 0: random) picks a button or row; text is the text or the
// caption ("" for a default).
func (s *Sim) reply(e *remembered, kind string, index int, text string, now time.Time) (*postedReply, canonical.Reply, error) {
	m := e.m
	n := s.mem.seq.Add(1)
	dialect := s.in.Dialect()
	r := canonical.Reply{From: m.To, Line: m.From, ProfileName: "Simulated Recipient", Channel: m.Channel,
		VendorID: "sim-reply-" + strconv.FormatUint(n, 10), ReceivedAt: now.UTC().Truncate(time.Millisecond),
		InReplyToUpstreamID: e.upstreamID}
	if r.Line == "" {
		r.Line = s.mem.rc.Load().Line
	}
	switch dialect {
	case "whatsappcloud":
		r.Line, r.Channel = m.Extra["phone_number_id"], canonical.ChannelWhatsApp
		r.VendorID = "wamid.sim" + strconv.FormatUint(n, 10)
		r.ReceivedAt = r.ReceivedAt.Truncate(time.Second)
	case "wavy":
		r.VendorID, r.InReplyTo, r.Channel = canonical.NewID(), m.ClientRef, canonical.ChannelSMS
	case httpDialect:
		r.InReplyTo = m.ClientRef
	case "flowbot":
		r.InReplyToUpstreamID = "" // FlowBot answers with no message id
	}
	switch kind {
	case "", kindText:
		r.Kind, r.Text = canonical.ReplyText, text
		if r.Text == "" {
			r.Text = "ok " + strconv.FormatUint(n, 10)
		}
	case kindButton, kindList:
		choices, prefix, rk := m.Buttons, "btn-", canonical.ReplyButton
		if kind == kindList {
			choices, prefix, rk = m.Options, "opt-", canonical.ReplyList
		}
		if len(choices) == 0 {
			return nil, r, fmt.Errorf("%w: %s has no %ss", errNoChoice, m.ID, kind)
		}
		if index <= 0 {
			index = 1 + rand.IntN(len(choices))
		}
		if index > len(choices) {
			return nil, r, fmt.Errorf("%w: %s has %d, not %d", errNoChoice, m.ID, len(choices), index)
		}
		r.Kind, r.Pick = rk, &canonical.Pick{ID: prefix + strconv.Itoa(index), Title: choices[index-1]}
	case kindMedia:
		if text == "" {
			text = "photo " + strconv.FormatUint(n, 10)
		}
		r.Kind = canonical.ReplyMedia
		r.Media = &canonical.Attachment{Type: "image", MIMEType: "image/jpeg", Caption: text,
			URL: "https://media.example.com/sim/" + r.VendorID + ".jpg"}
		if dialect == "whatsappcloud" {
			r.Media.URL, r.Media.ID = "", strconv.FormatUint(1_000_000+n, 10) // Meta names its media by id
		}
	default:
		return nil, r, fmt.Errorf("reply kind must be text, button, list or media, not %q", kind)
	}
	return s.renderReply(e, &r), r, nil
}

// renderReply writes r as the simulated vendor posts it.
func (s *Sim) renderReply(e *remembered, r *canonical.Reply) *postedReply {
	switch s.in.Dialect() {
	case "whatsappcloud":
		body := whatsappcloud.AppendMessageWebhook(nil, r.Line, []canonical.Reply{*r})
		var headers map[string]string
		if rc := s.post.rc.Load(); rc != nil {
			headers = map[string]string{"X-Hub-Signature-256": whatsappcloud.Signature(body, []byte(rc.AppSecret))}
		}
		return &postedReply{body: body, headers: headers}
	case "wavy":
		// Wavy's MO names its own id, and in mt the message answered: Wavy's id for it and
		// the sender's correlationId.
		w := *r
		w.ID, w.MessageID, w.ClientRef = r.VendorID, e.m.ID, e.m.ClientRef
		if r.Kind == canonical.ReplyMedia {
			w.Channel = canonical.ChannelWhatsApp // only a WhatsApp MO carries a file
		}
		return &postedReply{body: wavy.RenderReply(nil, &w)}
	}
	return &postedReply{body: adapters.AppendUpstreamReply(nil, r)}
}

func checkReplies(r *Replies) error {
	if r.Rate < 0 || r.Rate > maxReplyRate {
		return fmt.Errorf("replies rate must be between 0 and %d/s, not %v", maxReplyRate, r.Rate)
	}
	for _, k := range r.Kinds {
		switch k {
		case kindText, kindButton, kindList, kindMedia:
		default:
			return fmt.Errorf("reply kind must be text, button, list or media, not %q", k)
		}
	}
	return nil
}

// ParseRate reads a rate given as "N" or "N/s".
func ParseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil {
		return 0, fmt.Errorf("rate %q is not N or N/s", s)
	}
	return v, nil
}

// SetReplies configures (or, with a zero rate, stops) replies at a rate. A rate needs the
// receipts' URL (SetReceipts) to post to.
func (s *Sim) SetReplies(r Replies) error {
	if err := checkReplies(&r); err != nil {
		return err
	}
	if r.Rate > 0 && s.post.rc.Load() == nil {
		return errors.New("replies need a receipts URL to post to (-receipts)")
	}
	mem := &s.mem
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if mem.stop != nil {
		close(mem.stop)
		mem.stop = nil
	}
	mem.rc.Store(&r)
	mem.feed.Store(r.Rate > 0)
	if r.Rate > 0 {
		mem.stop = make(chan struct{})
		go s.replyLoop(r, mem.stop)
	}
	return nil
}

// replyLoop posts r.Rate replies a second, each to the oldest message not yet replied to,
// through the receipt poster's backlog, until stop closes. A tick with nothing to reply to
// counts as idle.
func (s *Sim) replyLoop(r Replies, stop chan struct{}) {
	t := time.NewTicker(replyTick)
	defer t.Stop()
	start, sent := time.Now(), int64(0)
	kinds := r.Kinds
	if len(kinds) == 0 {
		kinds = []string{kindText}
	}
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			due := int64(r.Rate*now.Sub(start).Seconds()) - sent
			for ; due > 0; due-- {
				var e *remembered
				select {
				case e = <-s.mem.due:
				default:
				}
				if e == nil {
					s.post.replies.idle.Add(1)
					sent += due // what could not be posted now is not owed later
					break
				}
				sent++
				kind := kinds[s.mem.kindN.Add(1)%uint64(len(kinds))]
				p, _, err := s.reply(e, kind, 0, "", now)
				if errors.Is(err, errNoChoice) {
					p, _, err = s.reply(e, kindText, 0, "", now)
				}
				if err != nil {
					continue
				}
				s.post.queueReply(p)
			}
		}
	}
}

// queueReply hands a reply to the poster's workers, or counts it dropped.
func (p *poster) queueReply(r *postedReply) {
	rc := p.rc.Load()
	if rc == nil || rc.URL == "" {
		p.replies.dropped.Add(1)
		return
	}
	select {
	case p.jobs <- receiptJob{rc: rc, reply: r}:
	default:
		p.replies.dropped.Add(1)
	}
}

// postReply posts one reply and counts it.
func (p *poster) postReply(rc *Receipts, r *postedReply) int {
	code, _ := p.send(rc, r.body, r.headers)
	if code/100 == 2 {
		p.replies.posted.Add(1)
	} else {
		p.replies.failed.Add(1)
	}
	return code
}

// simReply serves POST /_sim/reply {"id" or "to", "kind", "index", "text"}: the recipient
// replies to the message with that id (the simulator's, the one it answered with, or the
// client's reference), or to the last message to that recipient, now. It answers once the
// gateway did: {"status": the gateway's status, "reply": what was sent, "body": as posted}.
func (s *Sim) simReply(ctx *fasthttp.RequestCtx) {
	var v struct {
		ID    string `json:"id"`
		To    string `json:"to"`
		Kind  string `json:"kind"`
		Index int    `json:"index"`
		Text  string `json:"text"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &v); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	rc := s.post.rc.Load()
	if rc == nil || rc.URL == "" {
		ctx.Error("replies need a receipts URL to post to (POST /_sim/receipts or -receipts)", 409)
		return
	}
	e := s.mem.find(v.ID, v.To)
	if e == nil {
		ctx.Error("no message accepted with that id or to that recipient", 404)
		return
	}
	p, r, err := s.reply(e, v.Kind, v.Index, v.Text, time.Now())
	if err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	code := s.post.postReply(rc, p)
	writeJSON(ctx, map[string]any{"status": code, "reply": r, "body": string(p.body)})
}

// replyStats serves GET /_sim/replies: the settings, and the replies posted, failed (given
// up), dropped (backlog full) and the ticks with nothing to reply to.
func (s *Sim) replyStats(ctx *fasthttp.RequestCtx) {
	c := &s.post.replies
	writeJSON(ctx, map[string]any{"settings": s.mem.rc.Load(), "posted": c.posted.Load(), "failed": c.failed.Load(),
		"dropped": c.dropped.Load(), "idle": c.idle.Load()})
}

// setReplies serves POST /_sim/replies {"rate": N, "kinds": [...], "line": "..."}.
func (s *Sim) setReplies(ctx *fasthttp.RequestCtx) {
	var r Replies
	if err := json.Unmarshal(ctx.PostBody(), &r); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	if err := s.SetReplies(r); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	s.replyStats(ctx)
}
