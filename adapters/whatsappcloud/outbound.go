package whatsappcloud

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Defaults of an upstream's config.
const (
	defaultBaseURL = "https://graph.facebook.com"
	// defaultVersion is the Graph API version used when credentials.version is empty.
	defaultVersion = "v21.0"
	// defaultLanguage is the template language used when neither the message's template nor
	// credentials.language names one: the Cloud API requires one.
	defaultLanguage = "en_US"
)

// Cloud API limits, in characters.
const (
	maxTextChars    = 4096 // text.body
	maxCaptionChars = 1024 // image|video|document caption
	maxBodyChars    = 1024 // interactive body.text
	maxButtons      = 3    // reply buttons
	maxButtonTitle  = 20   // reply.title
	maxRows         = 10   // list rows, over all sections
	maxRowTitle     = 24   // rows[].title
	maxRowDesc      = 72   // rows[].description
	maxListButton   = 20   // action.button
)

// listButton is the label of the button that opens a list.
const listButton = "Options"

// Outbound sends canonical messages to the Cloud API (or its simulator). It is safe for
// concurrent use.
type Outbound struct {
	uri      string // the full request URI
	auth     string // the Authorization header value
	language string // default template language
}

// NewOutbound returns a Cloud API upstream. cfg.URL is the base URL (default
// https://graph.facebook.com; a simulator's http://127.0.0.1:port works the same).
// cfg.Credentials: "token" (the access token, sent as a Bearer token) and "phone_number_id"
// (the sending number's id) are required; "version" (default v21.0) and "language" (the
// template language when a message's template has none, default en_US) are optional.
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	token, id := cfg.Credentials["token"], cfg.Credentials["phone_number_id"]
	if token == "" || id == "" {
		return nil, canonical.Invalid("credentials", "token and phone_number_id are required")
	}
	if !digits(id) {
		return nil, canonical.Invalid("credentials.phone_number_id", "%q must be the number's numeric id", id)
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, canonical.Invalid("credentials.token", "must not contain spaces or line breaks")
	}
	version := cfg.Credentials["version"]
	if version == "" {
		version = defaultVersion
	}
	if !validVersion(version) {
		return nil, canonical.Invalid("credentials.version", "%q must look like v21.0", version)
	}
	language := cfg.Credentials["language"]
	if language == "" {
		language = defaultLanguage
	}
	base := cfg.URL
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, canonical.Invalid("url", "%q must be an http(s) base URL without query", cfg.URL)
	}
	return &Outbound{
		uri:      strings.TrimRight(base, "/") + "/" + version + "/" + id + "/messages",
		auth:     "Bearer " + token,
		language: language,
	}, nil
}

// Caps says what the Cloud API carries: text, one media file by link, reply buttons, lists
// and templates. MaxText is the API's limit of 4096 characters.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Media: true, Buttons: true, List: true, Template: true, MaxText: maxTextChars}
}

// Encode writes the messages request for m, with m.ID as biz_opaque_callback_data. A message
// the Cloud API cannot carry is an ErrInvalid naming the canonical field, and nothing is sent.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	kind := m.Kind
	if kind == "" {
		cp := *m
		cp.InferKind()
		kind = cp.Kind
	}
	if m.To == "" {
		return canonical.Invalid("to", "is required")
	}
	if len(m.Media) > 1 {
		return canonical.Invalid("media", "the Cloud API carries one file per message, not %d", len(m.Media))
	}
	if len(m.Media) == 1 && m.Media[0].Local {
		return canonical.Invalid("media.url", "the Cloud API cannot carry a file on the sender's computer")
	}
	// m.ID goes as biz_opaque_callback_data: Meta echoes it in the message's status
	// webhooks, so receipts find our message by it without waiting for the wamid.
	b := sendBody{MessagingProduct: "whatsapp", RecipientType: "individual", To: m.To, BizOpaqueCallbackData: m.ID}
	var err error
	switch kind {
	case canonical.KindText, canonical.KindMedia:
		if len(m.Media) == 1 {
			err = setMedia(&b, m.Text, &m.Media[0])
		} else {
			err = setText(&b, m.Text)
		}
	case canonical.KindButtons:
		err = setInteractive(&b, m, m.Buttons, "buttons", "btn-")
	case canonical.KindList:
		err = setInteractive(&b, m, m.Options, "options", "opt-")
	case canonical.KindTemplate:
		err = o.setTemplate(&b, m.Template)
	default:
		err = canonical.Invalid("kind", "the Cloud API cannot carry %s messages", kind)
	}
	if err != nil {
		return err
	}
	body, err := adapters.MarshalJSON(&b)
	if err != nil {
		return fmt.Errorf("cannot encode a cloud api request: %w", err)
	}
	o.writeRequest(req, body)
	return nil
}

// writeRequest makes req the messages POST of body.
func (o *Outbound) writeRequest(req *fasthttp.Request, body []byte) {
	req.Reset()
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.uri)
	req.Header.SetContentType("application/json")
	req.Header.Set(fasthttp.HeaderAuthorization, o.auth)
	req.SetBodyRaw(body)
}

// setText makes b a text message.
func setText(b *sendBody, text string) error {
	if strings.TrimSpace(text) == "" {
		return canonical.Invalid("text", "is required")
	}
	if n := runes(text); n > maxTextChars {
		return canonical.Invalid("text", "is %d characters: the Cloud API takes at most %d", n, maxTextChars)
	}
	b.Type, b.Text = "text", &sendText{PreviewURL: previewByDefault(text), Body: text}
	return nil
}

// previewByDefault says whether a text gets a link preview: WhatsApp shows one only when
// preview_url is true, and a text with a link is sent to be opened.
func previewByDefault(text string) bool {
	return strings.Contains(text, "https://") || strings.Contains(text, "http://")
}

// setMedia makes b a media message. The caption is the message's text (with the file's
// own caption after a blank line when both differ); audio, which takes no caption, goes as a
// document when there is one; a caption over the limit sends the text with the link instead.
func setMedia(b *sendBody, text string, md *canonical.Media) error {
	caption := captionOf(text, md.Caption)
	typ := mediaType(md)
	if typ == "audio" && caption != "" {
		typ = "document"
	}
	if runes(caption) > maxCaptionChars {
		return setText(b, caption+"\n\n"+md.URL)
	}
	var m sendMedia
	m.set(typ, newMediaObject(typ, md, caption))
	b.Type, b.Image, b.Video, b.Audio, b.Document = m.Type, m.Image, m.Video, m.Audio, m.Document
	return nil
}

// newMediaObject is {"link","caption"?,"filename"?}: a document's file name goes with it.
func newMediaObject(typ string, md *canonical.Media, caption string) *sendMediaObject {
	o := &sendMediaObject{Link: md.URL, Caption: caption}
	if typ == "document" {
		o.Filename = filenameOf(md)
	}
	return o
}

// captionOf joins a message's text and its file's caption.
func captionOf(text, caption string) string {
	switch {
	case caption == "" || caption == text:
		return text
	case text == "":
		return caption
	}
	return text + "\n\n" + caption
}

// mediaType picks the Cloud API media type from the file name's extension, else the URL's:
// images and videos WhatsApp plays inline, audio, and anything else as a document.
func mediaType(md *canonical.Media) string {
	ext := extOf(md.Filename)
	if ext == "" {
		ext = extOf(urlPath(md.URL))
	}
	switch ext {
	case "jpg", "jpeg", "png", "webp":
		return "image"
	case "mp4", "3gp":
		return "video"
	case "mp3", "ogg", "amr", "aac", "m4a":
		return "audio"
	}
	return "document"
}

// filenameOf is the name a document is shown with: its own, else the URL's last path
// segment when that looks like a file name (WhatsApp shows "Untitled" otherwise).
func filenameOf(md *canonical.Media) string {
	if md.Filename != "" {
		return md.Filename
	}
	p := urlPath(md.URL)
	name := p[strings.LastIndexByte(p, '/')+1:]
	if extOf(name) == "" {
		return ""
	}
	if un, err := url.PathUnescape(name); err == nil {
		name = un
	}
	return name
}

// urlPath is u without its query and fragment.
func urlPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
		return ""
	}
	return u
}

// extOf is the lower-case extension of a file name or path, without the dot.
func extOf(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	i := strings.LastIndexByte(name, '.')
	if i < 0 || i == len(name)-1 || len(name)-i > 6 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// setInteractive makes b reply buttons (at most 3 of at most 20 characters) or a list
// (at most 10 rows; a title over 24 characters is shortened, the full label going to the
// row's description). Buttons that do not fit the reply-button limits go as a list; a body
// over the interactive limit goes as a text with numbered lines.
func setInteractive(b *sendBody, m *canonical.Message, labels []string, field, idPrefix string) error {
	if len(labels) == 0 {
		return canonical.Invalid(field, "is required")
	}
	if len(labels) > maxRows {
		return canonical.Invalid(field, "the Cloud API shows at most %d choices, not %d", maxRows, len(labels))
	}
	list := field == "options" || len(labels) > maxButtons
	for _, l := range labels {
		if runes(l) > maxButtonTitle {
			list = true
		}
	}
	text := m.Text
	var media *canonical.Media
	if len(m.Media) == 1 {
		media = &m.Media[0]
		if list {
			// A list's header can only be text: the file goes as a link in the body.
			text = joinNonEmpty(text, media.URL)
			media = nil
		}
	}
	if strings.TrimSpace(text) == "" {
		return canonical.Invalid("text", "the Cloud API needs a text with %s", field)
	}
	if runes(text) > maxBodyChars {
		if media != nil {
			text = joinNonEmpty(text, media.URL)
		}
		return setText(b, numbered(text, labels))
	}
	in := &sendInteractive{Type: "button", Body: sendBodyText{text}}
	if media != nil {
		typ := mediaType(media)
		if typ == "audio" {
			typ = "document"
		}
		in.Header = &sendMedia{}
		in.Header.set(typ, newMediaObject(typ, media, ""))
	}
	if list {
		rows := make([]sendRow, len(labels))
		for i, l := range labels {
			rows[i] = sendRow{ID: idPrefix + strconv.Itoa(i+1), Title: truncate(l, maxRowTitle)}
			if runes(l) > maxRowTitle {
				rows[i].Description = truncate(l, maxRowDesc)
			}
		}
		in.Type, in.Action = "list", sendAction{Button: listButton, Sections: []sendSection{{rows}}}
	} else {
		in.Action.Buttons = make([]sendButton, len(labels))
		for i, l := range labels {
			in.Action.Buttons[i] = sendButton{Type: "reply", Reply: sendReply{ID: idPrefix + strconv.Itoa(i+1), Title: l}}
		}
	}
	b.Type, b.Interactive = "interactive", in
	return nil
}

// numbered renders choices as numbered lines under the text.
func numbered(text string, labels []string) string {
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("\n")
	for i, l := range labels {
		b.WriteString("\n")
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(l)
	}
	return b.String()
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}

// setTemplate makes b a template message: its name, language and body parameters.
func (o *Outbound) setTemplate(b *sendBody, t *canonical.Template) error {
	if t == nil {
		return canonical.Invalid("template", "is required")
	}
	if t.Name == "" {
		return canonical.Invalid("template.name", "the Cloud API sends templates by name (id %q, group %q cannot be sent)", t.ID, t.GroupID)
	}
	for i, p := range t.Params {
		if strings.TrimSpace(p) == "" {
			return canonical.Invalid("template.params", "parameter %d is empty: the Cloud API refuses empty parameters", i+1)
		}
	}
	lang := t.Language
	if lang == "" {
		lang = o.language
	}
	tp := &sendTemplate{Name: t.Name, Language: sendLanguage{lang}}
	if len(t.Params) > 0 {
		params := make([]sendParameter, len(t.Params))
		for i, p := range t.Params {
			params[i] = sendParameter{Type: "text", Text: flattenParam(p)}
		}
		tp.Components = []sendComponent{{Type: "body", Parameters: params}}
	}
	b.Type, b.Template = "template", tp
	return nil
}

// flattenParam makes a template parameter acceptable to the Cloud API, which refuses
// parameters with line breaks, tabs or more than 4 consecutive spaces (error 132018):
// line breaks and tabs become spaces and longer runs of spaces are cut to 4.
func flattenParam(p string) string {
	if !badParam(p) {
		return p
	}
	b := make([]byte, 0, len(p))
	spaces := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\n' || c == '\r' || c == '\t' {
			c = ' '
		}
		if c == ' ' {
			spaces++
			if spaces > 4 {
				continue
			}
		} else {
			spaces = 0
		}
		b = append(b, c)
	}
	return string(b)
}

// badParam reports whether the Cloud API would refuse p as a template parameter.
func badParam(p string) bool {
	return strings.ContainsAny(p, "\n\r\t") || strings.Contains(p, "     ")
}
