package multiwhats

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// defaultBaseURL is the real API's host, used when the upstream's url is empty.
const defaultBaseURL = "https://api.multiwhats.app"

// maxReasonBytes bounds the vendor text kept as a failure's reason.
const maxReasonBytes = 512

// Outbound sends canonical messages to a MultiWhats upstream. It is safe for concurrent use.
type Outbound struct {
	// uri is the full request URI, apikey included.
	uri  string
	from string
}

// NewOutbound returns a MultiWhats upstream. cfg.URL is the API's base URL (default
// https://api.multiwhats.app; the document's base https://api.multiwhats.app/api/v1/ works too).
// cfg.Credentials: "apikey" (required) and "from" (optional: the sender line every message is
// sent from; without it, the message's own From).
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	key := cfg.Credentials["apikey"]
	if key == "" {
		return nil, canonical.Invalid("credentials.apikey", "is required")
	}
	base := cfg.URL
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, canonical.Invalid("url", "%q must be an http(s) base URL without query", cfg.URL)
	}
	base = strings.TrimRight(base, "/")
	path := sendPath
	if strings.HasSuffix(base, "/api/v1") {
		path = strings.TrimPrefix(sendPath, "/api/v1")
	}
	return &Outbound{uri: base + path + "?apikey=" + url.QueryEscape(key), from: cfg.Credentials["from"]}, nil
}

// Caps says what MultiWhats carries: text, one media file by link, buttons and lists.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Media: true, Buttons: true, List: true, MaxText: maxMessageChars}
}

// Encode writes the send-dynamic request for m.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	kind := m.Kind
	if kind == "" {
		cp := *m
		cp.InferKind()
		kind = cp.Kind
	}
	switch kind {
	case canonical.KindText, canonical.KindMedia, canonical.KindButtons, canonical.KindList:
	default:
		return canonical.Invalid("kind", "multiwhats cannot carry %s messages", kind)
	}
	if len(m.Media) > 1 {
		return canonical.Invalid("media", "multiwhats carries one file per message, not %d", len(m.Media))
	}
	if len(m.Media) == 1 && m.Media[0].Local {
		return canonical.Invalid("media.url", "multiwhats cannot carry a file on the sender's computer")
	}
	from := o.from
	if from == "" {
		from = m.From
	}
	if from == "" {
		return canonical.Invalid("from", "multiwhats needs a sender line: set the upstream's credentials.from")
	}
	typ := ""
	if m.Dialect == Dialect {
		typ = m.Extra["type"] // the client's own type (image, document ...)
	}
	if typ == "" {
		typ = typeOf(kind)
	}
	text := m.Text
	if text == "" && len(m.Media) == 1 {
		text = m.Media[0].Caption
	}

	b := sendBody{From: from, To: m.To, Message: text, Type: typ}
	if kind == canonical.KindButtons {
		b.Buttons = orNull(m.Buttons)
	}
	if kind == canonical.KindList {
		b.Options = orNull(m.Options)
	}
	if len(m.Media) == 1 {
		b.FileURL = &m.Media[0].URL
	}
	body, err := adapters.MarshalJSON(&b)
	if err != nil {
		return fmt.Errorf("cannot encode a multiwhats request: %w", err)
	}
	o.writeRequest(req, body)
	return nil
}

// sendBody is the send-dynamic request. buttons and options go with their kinds only, null
// when empty, and file_url with a file.
type sendBody struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Message string    `json:"message,omitempty"`
	Type    string    `json:"type"`
	Buttons *[]string `json:"buttons,omitempty"`
	Options *[]string `json:"options,omitempty"`
	FileURL *string   `json:"file_url,omitempty"`
}

// orNull is list as sendBody carries it: present, and null when empty.
func orNull(list []string) *[]string {
	if len(list) == 0 {
		list = nil
	}
	return &list
}

// writeRequest makes req the send-dynamic POST of body.
func (o *Outbound) writeRequest(req *fasthttp.Request, body []byte) {
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.uri)
	req.Header.SetContentType("application/json")
	// Without it Laravel answers a validation error with a redirect instead of JSON.
	req.Header.Set("Accept", "application/json")
	req.SetBodyRaw(body)
}

// record is what Classify reads of the queue record MultiWhats answers a send with.
type record struct {
	ID json.Number `json:"id"`
}

// failure is what Classify reads of Laravel's error answers.
type failure struct {
	Message string `json:"message"`
}

var _ adapters.Outbound = (*Outbound)(nil)
