package wavy

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Outbound sends canonical messages to a Wavy upstream: POST {base}/v1/send-sms, or
// {base}/v1/send-bulk-sms for several messages at once. It is safe for concurrent use.
//
// Wavy carries SMS text only (and its own bot flows): the dispatcher degrades media,
// buttons, lists and templates to text before Encode. NotBefore is not forwarded: the
// dispatcher holds a message until it is due, and the vendor refuses schedules less than
// 30 minutes ahead. ExpiresAt and the allowed hours are forwarded, with an explicit
// timeZone, so the vendor's own queue honours them too.
type Outbound struct {
	sendURL, bulkURL string
	user, token      string
}

// NewOutbound builds a Wavy upstream from its config: URL is the base URL
// (https://api-messaging.wavy.global), Credentials "username" and "token".
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	base := strings.TrimRight(cfg.URL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, canonical.Invalid("url", "%q is not an http(s) base URL", cfg.URL)
	}
	o := &Outbound{sendURL: base + "/v1/send-sms", bulkURL: base + "/v1/send-bulk-sms",
		user: cfg.Credentials["username"], token: cfg.Credentials["token"]}
	if o.user == "" || o.token == "" {
		return nil, canonical.Invalid("", "credentials username and token are required")
	}
	return o, nil
}

// Caps: text, flash and flows. MaxText is the vendor's 1280 characters; Encode checks the
// vendor's own count (UTF-16 units), and sends a longer text in numbered parts.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Flash: true, Flow: true, MaxText: maxText, SplitText: true}
}

// Encode writes the single-send request for m; a text over the vendor's limit (let through
// only by a route whose long_text is split) goes as numbered parts in one send-bulk-sms.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	if isLong(m) {
		return o.encodeParts(m, req)
	}
	msg, err := o.message(m)
	if err != nil {
		return err
	}
	body, err := adapters.MarshalJSON(&msg)
	if err != nil {
		return fmt.Errorf("cannot encode a wavy request: %w", err)
	}
	o.writeRequest(req, o.sendURL, body)
	return nil
}

// EncodeBulk writes one send-bulk-sms request for 1 to 1000 messages; ClassifyBulk reads
// its answer.
func (o *Outbound) EncodeBulk(ms []*canonical.Message, req *fasthttp.Request) error {
	if len(ms) == 0 || len(ms) > maxBulk {
		return canonical.Invalid("messages", "a bulk request carries 1 to %d messages, not %d", maxBulk, len(ms))
	}
	for _, m := range ms {
		if isLong(m) { // its parts take a request of their own: the answer has one entry each
			return canonical.Invalid("text", "is longer than Wavy's %d characters: it goes in parts, alone", maxText)
		}
	}
	bulk := bulkBody{Messages: make([]sendMessage, len(ms))}
	for i, m := range ms {
		var err error
		if bulk.Messages[i], err = o.message(m); err != nil {
			return err
		}
	}
	body, err := adapters.MarshalJSON(&bulk)
	if err != nil {
		return fmt.Errorf("cannot encode a wavy bulk request: %w", err)
	}
	o.writeRequest(req, o.bulkURL, body)
	return nil
}

func (o *Outbound) writeRequest(req *fasthttp.Request, uri string, body []byte) {
	req.Header.SetMethod("POST")
	req.SetRequestURI(uri)
	req.Header.SetContentType("application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("username", o.user)
	req.Header.Set("authenticationtoken", o.token)
	req.SetBodyRaw(body)
}

// sendMessage is the vendor's message object, in its order; what is empty is left out.
type sendMessage struct {
	Destination   string            `json:"destination"`
	MessageText   string            `json:"messageText,omitempty"`
	CorrelationID string            `json:"correlationId,omitempty"`
	ExtraInfo     string            `json:"extraInfo,omitempty"`
	CampaignAlias string            `json:"campaignAlias,omitempty"`
	SubAccount    string            `json:"subAccount,omitempty"`
	TimeWindow    []int             `json:"timeWindow,omitempty"`
	ExpiresDate   string            `json:"expiresDate,omitempty"`
	TimeZone      string            `json:"timeZone,omitempty"`
	FlashSMS      bool              `json:"flashSMS,omitempty"`
	FlowID        string            `json:"flowId,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
}

// bulkBody is the send-bulk-sms request.
type bulkBody struct {
	Messages []sendMessage `json:"messages"`
}

// message is m as the vendor's message object. correlationId is m.ID, so the vendor's
// statuses and callbacks can be matched back to the message.
func (o *Outbound) message(m *canonical.Message) (sendMessage, error) {
	if m.To == "" {
		return sendMessage{}, canonical.Invalid("to", "is required")
	}
	if m.Text == "" && (m.FlowID == "" || m.Dialect == "flowbot") {
		return sendMessage{}, canonical.Invalid("text", "is required: Wavy carries text, or a Wavy flow")
	}
	if utf16Len(m.Text) > maxText {
		return sendMessage{}, canonical.Invalid("text", "is longer than Wavy's %d characters", maxText)
	}
	s := sendMessage{Destination: m.To, MessageText: m.Text, CorrelationID: m.ID, FlashSMS: m.Flash}
	if m.Dialect == Dialect {
		// Extra keeps the fields of a request that came in as Wavy; other dialects'
		// Extra keys mean something else.
		s.ExtraInfo, s.CampaignAlias, s.SubAccount = m.Extra["extraInfo"], m.Extra["campaignAlias"], m.Extra["subAccount"]
	}
	loc := time.UTC
	if w := m.Window; w != nil && len(w.Hours) > 0 {
		if s.TimeZone = w.TimeZone; s.TimeZone == "" {
			s.TimeZone = "UTC"
		}
		var err error
		if loc, err = o.zone(s.TimeZone); err != nil {
			return sendMessage{}, canonical.Invalid("window.time_zone", "unknown time zone %q", s.TimeZone)
		}
		s.TimeWindow = w.Hours
	}
	if !m.ExpiresAt.IsZero() {
		if s.TimeZone == "" {
			s.TimeZone = "UTC"
		}
		s.ExpiresDate = m.ExpiresAt.In(loc).Format(dateLayout)
	}
	// Flow ids are the vendor's own: a FlowBot flow means nothing to Wavy.
	if m.FlowID != "" && m.Dialect != "flowbot" {
		s.FlowID, s.Params = m.FlowID, m.Vars
	}
	return s, nil
}

func (o *Outbound) zone(name string) (*time.Location, error) {
	if name == "UTC" {
		return time.UTC, nil
	}
	loc, err := canonical.LoadLocation(name)
	if err != nil || name == "Local" {
		return nil, errors.New("unknown time zone")
	}
	return loc, nil
}

type sendAnswer struct {
	ID string `json:"id"`
}

// classifyFailure returns the Result of a non-2xx answer; ok is false for 2xx.
func classifyFailure(resp *fasthttp.Response) (adapters.Result, bool) {
	status := resp.StatusCode()
	if status >= 200 && status < 300 {
		return adapters.Result{}, false
	}
	var e struct {
		ErrorCode    json.Number `json:"errorCode"`
		ErrorMessage string      `json:"errorMessage"`
	}
	_ = json.Unmarshal(resp.Body(), &e)
	r := adapters.Result{Code: e.ErrorCode.String(), Reason: e.ErrorMessage}
	if r.Code == "" {
		r.Code = strconv.Itoa(status)
	}
	if r.Reason == "" {
		r.Reason = fmt.Sprintf("HTTP %d %s", status, fasthttp.StatusMessage(status))
	}
	switch {
	case status == 408 || status == 429 || status >= 500 || adapters.UpstreamFault(status):
		r.Outcome = adapters.Retry
		r.RetryAfter = adapters.RetryAfter(resp.Header.Peek("Retry-After"), time.Now())
	case status >= 400:
		r.Outcome = adapters.Permanent
	default:
		// 1xx or 3xx: the upstream is not answering as Wavy does (a proxy, a redirect);
		// the message is not at fault.
		r.Outcome = adapters.Retry
	}
	return r, true
}

var _ adapters.Outbound = (*Outbound)(nil)
