package messageflow

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// maxReason bounds the part of an unexpected answer body kept as a failure reason.
const maxReason = 200

// Outbound sends canonical messages to a MessageFlow server's POST /add_message.
// It is safe for concurrent use.
type Outbound struct {
	uri  string // the full /add_message URL
	uuid string
}

// NewOutbound builds the upstream from its config: URL is MessageFlow's base URL
// ("https://api-messageflow.flow-il.com"; "/add_message" is appended unless it is there
// already) and Credentials["uuid"] the MessageFlow installation to send from.
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, canonical.Invalid("url", "%q is not an http(s) URL", cfg.URL)
	}
	if !strings.HasSuffix(u.Path, "/add_message") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/add_message"
		u.RawPath = ""
	}
	uuid := ""
	for k, v := range cfg.Credentials {
		if strings.EqualFold(k, "uuid") {
			uuid = strings.TrimSpace(v)
		}
	}
	if uuid == "" {
		return nil, canonical.Invalid("credentials.uuid", "is required")
	}
	return &Outbound{uri: u.String(), uuid: uuid}, nil
}

// Caps implements adapters.Outbound: text and one attachment, by URL or by a path on the
// MessageFlow PC. The document gives no text limit.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Media: true, LocalMedia: true}
}

// Encode implements adapters.Outbound: POST /add_message with the document's JSON fields,
// Message URL-encoded as the document shows.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	text, link, err := content(m)
	if err != nil {
		return err
	}
	body := make([]byte, 0, 128+len(link)+3*len(text))
	body = append(body, `{"UUID":`...)
	body = appendJSONString(body, o.uuid)
	body = append(body, `,"ToMobileNumber":`...)
	body = appendJSONString(body, m.To)
	if isDigits(m.From) {
		// MessageFlow picks among the PC's own lines; a sender name means nothing to it.
		body = append(body, `,"FromMobileNumber":`...)
		body = appendJSONString(body, m.From)
	}
	body = append(body, `,"Message":"`...)
	body = percentEncode(body, text)
	body = append(body, '"')
	if link != "" {
		body = append(body, `,"DownloadLink":`...)
		body = appendJSONString(body, link)
	}
	o.writeRequest(req, append(body, '}'))
	return nil
}

// writeRequest makes req the add_message POST of body.
func (o *Outbound) writeRequest(req *fasthttp.Request, body []byte) {
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.uri)
	req.Header.SetContentType("application/json")
	req.SetBodyRaw(body)
}

// content is the text and DownloadLink for m. MessageFlow carries one attachment, whose
// caption WhatsApp shows as the text: captions join the text, and further attachments
// become links in it.
func content(m *canonical.Message) (text, link string, err *canonical.Error) {
	text = m.Text
	add := func(s string) {
		if s == "" || s == m.Text {
			return
		}
		if text != "" {
			text += "\n"
		}
		text += s
	}
	for i, md := range m.Media {
		add(md.Caption)
		if i == 0 {
			link = md.URL
			continue
		}
		if md.Local {
			return "", "", canonical.Invalid("media", "MessageFlow carries one attachment: the local file %q cannot be sent as a link", md.URL)
		}
		add(md.URL)
	}
	if strings.TrimSpace(text) == "" && len(m.Media) > 0 {
		text = m.Media[0].Filename
	}
	if strings.TrimSpace(text) == "" {
		return "", "", canonical.Invalid("text", "MessageFlow needs a message text")
	}
	return text, link, nil
}

// answer is MessageFlow's answer as Switchboard's inbound renders it; the real service's
// body is undocumented, so the id may also be a number and the error a message.
type answer struct {
	Success json.RawMessage `json:"success"`
	ID      json.RawMessage `json:"id"`
	Error   json.RawMessage `json:"error"`
	Message json.RawMessage `json:"message"`
}

// reason is the answer's error text, else a bounded start of its body, else the status text.
func reason(a *answer, parsed bool, resp *fasthttp.Response) string {
	if parsed {
		if s := scalar(a.Error); s != "" {
			return s
		}
		if s := scalar(a.Message); s != "" {
			return s
		}
	}
	if b := bytes.TrimSpace(resp.Body()); len(b) > 0 && !parsed {
		if len(b) > maxReason {
			b = b[:maxReason]
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return fasthttp.StatusMessage(resp.StatusCode())
}

// scalar returns a JSON string's value or a number's text; "" for anything else.
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case c == '-' || '0' <= c && c <= '9':
		return string(raw)
	}
	return ""
}

func isFalse(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "false", "0", `"false"`:
		return true
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var _ adapters.Outbound = (*Outbound)(nil)
