package multiwhats

import (
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

	body := make([]byte, 0, 128+len(text)+len(m.To)+len(from))
	body = append(body, `{"from":`...)
	body = adapters.AppendJSONString(body, from)
	body = append(body, `,"to":`...)
	body = adapters.AppendJSONString(body, m.To)
	if text != "" {
		body = append(body, `,"message":`...)
		body = adapters.AppendJSONString(body, text)
	}
	body = append(body, `,"type":`...)
	body = adapters.AppendJSONString(body, typ)
	if kind == canonical.KindButtons {
		body = append(body, `,"buttons":`...)
		body = appendStrings(body, m.Buttons)
	}
	if kind == canonical.KindList {
		body = append(body, `,"options":`...)
		body = appendStrings(body, m.Options)
	}
	if len(m.Media) == 1 {
		body = append(body, `,"file_url":`...)
		body = adapters.AppendJSONString(body, m.Media[0].URL)
	}
	o.writeRequest(req, append(body, '}'))
	return nil
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
