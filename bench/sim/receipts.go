package sim

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters/wavy"
	"switchboard/adapters/whatsappcloud"
	"switchboard/canonical"
)

// Receipts makes a simulator post, for every message it accepts, the statuses the vendor
// would post back: "sent", then the final status, each after Delay. The format is the
// vendor's: Wavy's sent-status callback and delivery receipt (correlationId is what the
// client sent, the gateway's message id); Meta's status webhooks, signed with AppSecret and
// carrying biz_opaque_callback_data; and for the http upstream (and MessageFlow and
// MultiWhats, whose vendors post none) Switchboard's own receipt format, naming the id the
// simulator answered with (and, for http, the gateway's id).
type Receipts struct {
	// URL receives the receipts (the gateway's /receipts/{upstream}); empty: none.
	URL string `json:"url"`
	// Final is delivered (the default), read (delivered, then read), failed or none (only sent).
	Final string `json:"final"`
	// Delay comes before each receipt (default 10ms).
	Delay time.Duration `json:"delay"`
	// AppSecret signs Meta's webhooks (X-Hub-Signature-256).
	AppSecret string `json:"app_secret"`
	// Token, when set, is sent as a Bearer token (the upstream's receipt_token).
	Token string `json:"token"`
}

// Tuning of the receipt poster.
const (
	receiptWorkers = 32
	receiptBacklog = 100_000
	// receiptTries and the backoff between them let a gateway that is restarting get the
	// receipts once it is back (about half a minute), as vendors retry.
	receiptTries      = 20
	receiptMaxBackoff = 2 * time.Second
)

type receiptJob struct {
	m  *canonical.Message
	rc *Receipts
	// reply, when set, is a recipient's reply to post as is instead of m's receipts.
	reply *postedReply
}

// postedReply is a reply rendered in the vendor's shape, with its headers (a signature).
type postedReply struct {
	body    []byte
	headers map[string]string
}

// poster posts receipts from a bounded backlog; what does not fit is dropped and counted.
type poster struct {
	dialect string
	rc      atomic.Pointer[Receipts]
	jobs    chan receiptJob
	client  *fasthttp.Client
	once    sync.Once

	posted, failed, dropped atomic.Int64
	// replies counts the replies posted (replies.go) apart from the receipts.
	replies replyCounters
	// pending counts the messages whose receipts are queued or being posted: a test waits
	// for it to be 0 to know that no receipt is still to come.
	pending atomic.Int64
}

func checkReceipts(dialect string, r *Receipts) error {
	switch r.Final {
	case "":
		r.Final = "delivered"
	case "delivered", "read", "failed", "none":
	default:
		return fmt.Errorf("receipts final must be delivered, read, failed or none, not %q", r.Final)
	}
	if r.Delay <= 0 {
		r.Delay = 10 * time.Millisecond
	}
	if r.URL == "" {
		return nil
	}
	switch dialect {
	case "wavy", "messageflow", "multiwhats", httpDialect:
	case "flowbot":
		// FlowBot names no message id, so no receipt could be matched: the URL takes only
		// the recipient's replies (replies.go).
	case "whatsappcloud":
		if r.AppSecret == "" {
			return errors.New("whatsappcloud receipts need an app secret to sign them")
		}
	default:
		return fmt.Errorf("the %s simulator posts no receipts", dialect)
	}
	return nil
}

// SetReceipts configures (or, with an empty URL, stops) receipt posting.
func (s *Sim) SetReceipts(r Receipts) error {
	if err := checkReceipts(s.in.Dialect(), &r); err != nil {
		return err
	}
	s.post.once.Do(func() {
		s.post.jobs = make(chan receiptJob, receiptBacklog)
		s.post.client = &fasthttp.Client{Name: s.in.Dialect() + "-simulator", ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
		for range receiptWorkers {
			go s.post.work()
		}
	})
	s.post.rc.Store(&r)
	return nil
}

// accepted queues the receipts of messages just accepted.
func (p *poster) accepted(msgs []*canonical.Message) {
	rc := p.rc.Load()
	if rc == nil || rc.URL == "" || p.dialect == "flowbot" {
		return
	}
	for _, m := range msgs {
		p.pending.Add(1)
		select {
		case p.jobs <- receiptJob{m: m, rc: rc}:
		default:
			p.pending.Add(-1)
			p.dropped.Add(1)
		}
	}
}

func (p *poster) work() {
	for j := range p.jobs {
		if j.reply != nil {
			p.postReply(j.rc, j.reply)
			continue
		}
		statuses := []canonical.Status{canonical.StatusSent}
		switch j.rc.Final {
		case "delivered":
			statuses = append(statuses, canonical.StatusDelivered)
		case "read":
			statuses = append(statuses, canonical.StatusDelivered, canonical.StatusRead)
		case "failed":
			statuses = append(statuses, canonical.StatusFailed)
		}
		var hist []canonical.Change
		for _, st := range statuses {
			time.Sleep(j.rc.Delay)
			hist = append(hist, canonical.Change{Status: st, At: time.Now().UTC()})
			body, headers := p.render(j.m, hist, j.rc)
			if body == nil {
				continue
			}
			if code, _ := p.send(j.rc, body, headers); code/100 == 2 {
				p.posted.Add(1)
			} else {
				p.failed.Add(1)
			}
		}
		p.pending.Add(-1)
	}
}

// render is the receipt of the last status of hist in the vendor's format; nil when the
// vendor has no such receipt (Wavy posts nothing for "read").
func (p *poster) render(m *canonical.Message, hist []canonical.Change, rc *Receipts) ([]byte, map[string]string) {
	last := hist[len(hist)-1]
	switch p.dialect {
	case "wavy":
		switch last.Status {
		case canonical.StatusSent:
			return wavy.AppendSentCallback(nil, m, hist), nil
		case canonical.StatusDelivered, canonical.StatusFailed:
			return wavy.AppendDeliveryCallback(nil, m, hist), nil
		}
		return nil, nil
	case "whatsappcloud":
		st := whatsappcloud.Status{MessageID: whatsappcloud.WAMID(m), RecipientID: m.To, Status: last.Status, At: last.At,
			CallbackData: m.Extra["biz_opaque_callback_data"]}
		if last.Status == canonical.StatusFailed {
			st.Code, st.Reason = "131026", "Message undeliverable: Message Undeliverable."
		}
		body := whatsappcloud.AppendStatusWebhook(nil, m.Extra["phone_number_id"], []whatsappcloud.Status{st})
		return body, map[string]string{"X-Hub-Signature-256": whatsappcloud.Signature(body, []byte(rc.AppSecret))}
	}
	r := struct {
		ID         string `json:"id,omitempty"`
		UpstreamID string `json:"upstream_id"`
		Status     string `json:"status"`
		Code       string `json:"code,omitempty"`
		Reason     string `json:"reason,omitempty"`
		At         string `json:"at"`
	}{UpstreamID: m.ID, Status: string(last.Status), At: last.At.Format(time.RFC3339Nano)}
	switch p.dialect {
	case httpDialect:
		r.ID = m.ClientRef
	case "multiwhats":
		r.UpstreamID = strconv.FormatUint(m.Seq, 10) // it answers with the Seq
	}
	if last.Status == canonical.StatusFailed {
		r.Code, r.Reason = "undeliverable", "the handset did not take it"
	}
	body, _ := json.Marshal(r)
	return body, nil
}

// send posts one receipt (or reply), trying again with a backoff while the gateway does not
// take it; it returns the gateway's last status (0 when it never answered) and error.
func (p *poster) send(rc *Receipts, body []byte, headers map[string]string) (int, error) {
	wait := 100 * time.Millisecond
	for try := 1; ; try++ {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(rc.URL)
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if rc.Token != "" {
			req.Header.Set("Authorization", "Bearer "+rc.Token)
		}
		req.SetBodyRaw(body)
		err := p.client.DoTimeout(req, resp, 5*time.Second)
		code := resp.StatusCode()
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		if err != nil {
			code = 0
		}
		if code/100 == 2 || try == receiptTries || (code/100 == 4 && code != 429) {
			return code, err
		}
		time.Sleep(wait)
		wait = min(2*wait, receiptMaxBackoff)
	}
}

// receiptStats serves GET /_sim/receipts: the settings and how many were posted, failed
// (given up) and dropped (backlog full), and how many messages have receipts still to post.
func (s *Sim) receiptStats(ctx *fasthttp.RequestCtx) {
	var rc Receipts
	if r := s.post.rc.Load(); r != nil {
		rc = *r
	}
	rc.AppSecret, rc.Token = "", "" // never shown
	writeJSON(ctx, map[string]any{"settings": rc, "posted": s.post.posted.Load(), "failed": s.post.failed.Load(),
		"dropped": s.post.dropped.Load(), "pending": s.post.pending.Load()})
}

// setReceipts serves POST /_sim/receipts {"url","final","delay":"10ms","app_secret","token"}.
func (s *Sim) setReceipts(ctx *fasthttp.RequestCtx) {
	var v struct {
		Receipts
		Delay string `json:"delay"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &v); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	rc := v.Receipts
	if v.Delay != "" {
		d, err := time.ParseDuration(v.Delay)
		if err != nil {
			ctx.Error(err.Error(), 400)
			return
		}
		rc.Delay = d
	}
	if err := s.SetReceipts(rc); err != nil {
		ctx.Error(err.Error(), 400)
		return
	}
	s.receiptStats(ctx)
}
