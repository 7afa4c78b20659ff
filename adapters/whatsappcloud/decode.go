package whatsappcloud

import (
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Limits the Cloud API enforces on requests, beyond those Encode shares (outbound.go).
const (
	maxHeaderText = 60  // interactive header.text and footer.text
	maxButtonID   = 256 // reply.id
	maxRowID      = 200 // rows[].id
	maxTemplate   = 512 // template.name
)

// Enumerations as the Graph API lists them in its errors.
const (
	messageTypes     = "AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO"
	interactiveTypes = "BUTTON, CATALOG_MESSAGE, CTA_URL, FLOW, LIST, LOCATION_REQUEST_MESSAGE, PRODUCT, PRODUCT_LIST"
)

// Decode reads a messages request into one canonical message, validating it as the Cloud
// API does and in the same order: the access token, the path, the JSON, then each parameter.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	cred, ok := in.Credential(c)
	if !ok {
		return canonical.Errorf(canonical.ErrUnauthorized, "an access token is required")
	}
	b.Cred = cred
	_, phoneNumberID, ok := parsePath(c.Req.URI().Path())
	if !ok {
		return canonical.Errorf(canonical.ErrNotFound, "no such phone number id")
	}
	var r request
	if err := parse(c.Req.Body(), &r); err != nil {
		return err
	}
	if r.MessagingProduct == "" {
		return errRequired("messaging_product")
	}
	if !strings.EqualFold(r.MessagingProduct, "whatsapp") {
		return errEnum("messaging_product", "WHATSAPP", r.MessagingProduct)
	}
	if r.RecipientType != "" && !strings.EqualFold(r.RecipientType, "individual") {
		return errEnum("recipient_type", "INDIVIDUAL", r.RecipientType)
	}
	if strings.TrimSpace(r.To) == "" {
		return errRequired("to")
	}
	m := &canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp}
	typ := strings.ToLower(r.Type)
	var err *canonical.Error
	switch typ {
	case "", "text":
		err = decodeText(&r, m)
	case "image", "video", "audio", "document", "sticker":
		err = decodeMedia(&r, typ, m)
	case "interactive":
		err = decodeInteractive(r.Interactive, m)
	case "template":
		err = decodeTemplate(r.Template, m)
	case "contacts", "location", "reaction":
		err = errUnsupported("type")
	default:
		err = errEnum("type", messageTypes, r.Type)
	}
	if err != nil {
		return err
	}
	to, err := recipient(r.To, c.Account)
	if err != nil {
		return err
	}
	m.To = to
	setExtra(m, "phone_number_id", string(phoneNumberID))
	if r.To != to {
		setExtra(m, "to", r.To)
	}
	if r.Context != nil && r.Context.MessageID != "" {
		setExtra(m, "context.message_id", r.Context.MessageID)
	}
	if r.BizOpaqueCallbackData != "" {
		setExtra(m, "biz_opaque_callback_data", r.BizOpaqueCallbackData)
	}
	m.InferKind()
	if verr := m.Validate(); verr != nil {
		ce := canonical.AsError(verr)
		return errValue(ce.Field, ce.Error())
	}
	b.Messages = append(b.Messages, m)
	return nil
}

func decodeText(r *request, m *canonical.Message) *canonical.Error {
	if r.Text == nil || r.Text.Body == "" {
		return errRequired("text['body']")
	}
	if runes(r.Text.Body) > maxTextChars {
		return errParam("text['body']", "must be at most 4096 characters long")
	}
	m.Kind, m.Text = canonical.KindText, r.Text.Body
	if p := r.Text.PreviewURL; p != nil && *p != previewByDefault(m.Text) {
		// Only a choice Encode would not make itself is kept.
		setExtra(m, "preview_url", strconv.FormatBool(*p))
	}
	return nil
}

func decodeMedia(r *request, typ string, m *canonical.Message) *canonical.Error {
	var o *mediaObject
	switch typ {
	case "image":
		o = r.Image
	case "video":
		o = r.Video
	case "audio":
		o = r.Audio
	case "document":
		o = r.Document
	case "sticker":
		o = r.Sticker
	}
	if o == nil {
		return errRequired(typ)
	}
	md, err := mediaOf(typ, o)
	if err != nil {
		return err
	}
	if typ == "image" || typ == "video" || typ == "document" {
		if runes(o.Caption) > maxCaptionChars {
			return errParam(typ+"['caption']", "must be at most 1024 characters long")
		}
		m.Text = o.Caption
	}
	if typ == "document" {
		md.Filename = o.Filename
	}
	m.Kind, m.Media = canonical.KindMedia, []canonical.Media{md}
	return nil
}

// mediaOf reads a media object's link. Media uploaded to Meta and sent by id cannot be
// resolved here: only links are carried.
func mediaOf(param string, o *mediaObject) (canonical.Media, *canonical.Error) {
	if o.Link == "" {
		if o.ID != "" {
			return canonical.Media{}, errValue(param+"['id']", "Media ids cannot be resolved here: send the media by link")
		}
		return canonical.Media{}, errRequired(param + "['link']")
	}
	if !strings.HasPrefix(o.Link, "https://") && !strings.HasPrefix(o.Link, "http://") ||
		strings.ContainsAny(o.Link, " \t\r\n") {
		return canonical.Media{}, errParam(param+"['link']", "must be a valid URL")
	}
	return canonical.Media{URL: o.Link}, nil
}

func decodeInteractive(x *interactive, m *canonical.Message) *canonical.Error {
	if x == nil {
		return errRequired("interactive")
	}
	typ := strings.ToLower(x.Type)
	switch typ {
	case "button", "list":
	case "":
		return errRequired("interactive['type']")
	case "catalog_message", "cta_url", "flow", "location_request_message", "product", "product_list":
		return errUnsupported("interactive['type']")
	default:
		return errEnum("interactive['type']", interactiveTypes, x.Type)
	}
	if x.Body == nil || x.Body.Text == "" {
		return errRequired("interactive['body']['text']")
	}
	if runes(x.Body.Text) > maxBodyChars {
		return errParam("interactive['body']['text']", "must be at most 1024 characters long")
	}
	m.Text = x.Body.Text
	if h := x.Header; h != nil {
		if err := decodeHeader(h.Type, h.Text, h.Image, h.Video, h.Document, m); err != nil {
			return err
		}
	}
	if f := x.Footer; f != nil && f.Text != "" {
		if runes(f.Text) > maxHeaderText {
			return errParam("interactive['footer']['text']", "must be at most 60 characters long")
		}
		setExtra(m, "footer", f.Text)
	}
	if x.Action == nil {
		return errRequired("interactive['action']")
	}
	if typ == "button" {
		return decodeButtons(x, m)
	}
	return decodeList(x, m)
}

func decodeHeader(typ, text string, image, video, document *mediaObject, m *canonical.Message) *canonical.Error {
	const p = "interactive['header']"
	var o *mediaObject
	switch strings.ToLower(typ) {
	case "text":
		if text == "" {
			return errRequired(p + "['text']")
		}
		if runes(text) > maxHeaderText {
			return errParam(p+"['text']", "must be at most 60 characters long")
		}
		setExtra(m, "header", text)
		return nil
	case "image":
		o, typ = image, "image"
	case "video":
		o, typ = video, "video"
	case "document":
		o, typ = document, "document"
	case "":
		return errRequired(p + "['type']")
	default:
		return errEnum(p+"['type']", "DOCUMENT, IMAGE, TEXT, VIDEO", typ)
	}
	if o == nil {
		return errRequired(p + "['" + typ + "']")
	}
	md, err := mediaOf(p+"['"+typ+"']", o)
	if err != nil {
		return err
	}
	if typ == "document" {
		md.Filename = o.Filename
	}
	m.Media = []canonical.Media{md}
	return nil
}

func decodeButtons(x *interactive, m *canonical.Message) *canonical.Error {
	const p = "interactive['action']['buttons']"
	buttons := x.Action.Buttons
	if len(buttons) < 1 || len(buttons) > maxButtons {
		return errValue(p, "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3")
	}
	m.Kind, m.Buttons = canonical.KindButtons, make([]string, len(buttons))
	for i, bt := range buttons {
		at := p + "[" + strconv.Itoa(i) + "]"
		if !strings.EqualFold(bt.Type, "reply") {
			if bt.Type == "" {
				return errRequired(at + "['type']")
			}
			return errEnum(at+"['type']", "REPLY", bt.Type)
		}
		if bt.Reply == nil {
			return errRequired(at + "['reply']")
		}
		if n := runes(bt.Reply.Title); n < 1 || n > maxButtonTitle {
			return errValue(at+"['reply']['title']", "Button title length invalid. Min length: 1, Max length: 20")
		}
		if bt.Reply.ID == "" {
			return errRequired(at + "['reply']['id']")
		}
		if runes(bt.Reply.ID) > maxButtonID {
			return errParam(at+"['reply']['id']", "must be at most 256 characters long")
		}
		m.Buttons[i] = bt.Reply.Title
	}
	return nil
}

func decodeList(x *interactive, m *canonical.Message) *canonical.Error {
	const p = "interactive['action']"
	a := x.Action
	if a.Button == "" {
		return errRequired(p + "['button']")
	}
	if runes(a.Button) > maxListButton {
		return errParam(p+"['button']", "must be at most 20 characters long")
	}
	if a.Button != listButton {
		setExtra(m, "list.button", a.Button)
	}
	if len(a.Sections) == 0 {
		return errRequired(p + "['sections']")
	}
	rows := 0
	for _, s := range a.Sections {
		rows += len(s.Rows)
	}
	if rows > maxRows {
		return errValue(p+"['sections']", "Total row count exceed max allowed count: 10")
	}
	m.Kind, m.Options = canonical.KindList, make([]string, 0, rows)
	for i, s := range a.Sections {
		at := p + "['sections'][" + strconv.Itoa(i) + "]"
		if len(a.Sections) > 1 && s.Title == "" {
			return errRequired(at + "['title']")
		}
		if runes(s.Title) > maxRowTitle {
			return errParam(at+"['title']", "must be at most 24 characters long")
		}
		if len(s.Rows) == 0 {
			return errRequired(at + "['rows']")
		}
		for j, row := range s.Rows {
			rat := at + "['rows'][" + strconv.Itoa(j) + "]"
			if row.ID == "" {
				return errRequired(rat + "['id']")
			}
			if runes(row.ID) > maxRowID {
				return errParam(rat+"['id']", "must be at most 200 characters long")
			}
			if row.Title == "" {
				return errRequired(rat + "['title']")
			}
			if runes(row.Title) > maxRowTitle {
				return errValue(rat+"['title']", "Row title is too long. Max length is 24")
			}
			if runes(row.Description) > maxRowDesc {
				return errValue(rat+"['description']", "Row description is too long. Max length is 72")
			}
			m.Options = append(m.Options, row.Title)
			if row.Description != "" {
				setExtra(m, "options."+strconv.Itoa(len(m.Options))+".description", row.Description)
			}
		}
	}
	return nil
}

func decodeTemplate(t *template, m *canonical.Message) *canonical.Error {
	if t == nil {
		return errRequired("template")
	}
	if t.Name == "" {
		return errRequired("template['name']")
	}
	if runes(t.Name) > maxTemplate {
		return errParam("template['name']", "must be at most 512 characters long")
	}
	if t.Language == nil || t.Language.Code == "" {
		return errRequired("template['language']['code']")
	}
	tm := &canonical.Template{Name: t.Name, Language: t.Language.Code}
	for i, comp := range t.Components {
		if !strings.EqualFold(comp.Type, "body") {
			continue // header and button parameters have no canonical home
		}
		for j, prm := range comp.Parameters {
			at := "template['components'][" + strconv.Itoa(i) + "]['parameters'][" + strconv.Itoa(j) + "]"
			var v string
			switch strings.ToLower(prm.Type) {
			case "text":
				if prm.Text == "" {
					return errRequired(at + "['text']")
				}
				if badParam(prm.Text) {
					return errTemplateParams(at + "['text']")
				}
				v = prm.Text
			case "currency":
				if prm.Currency != nil {
					v = prm.Currency.FallbackValue
				}
			case "date_time":
				if prm.DateTime != nil {
					v = prm.DateTime.FallbackValue
				}
			case "":
				return errRequired(at + "['type']")
			default:
				return errEnum(at+"['type']", "CURRENCY, DATE_TIME, TEXT", prm.Type)
			}
			tm.Params = append(tm.Params, v)
		}
	}
	m.Kind, m.Template = canonical.KindTemplate, tm
	return nil
}

// recipient normalises "to" as the Cloud API reads it: digits with an optional "+" and the
// usual separators; "00" international prefixes are refused. A local number (leading 0,
// no "+") takes the business number's country code, here the tenant's country code.
func recipient(raw string, acct *adapters.Account) (string, *canonical.Error) {
	s := strings.TrimSpace(raw)
	if strings.HasPrefix(s, "00") {
		return "", errRecipient()
	}
	cc := ""
	if strings.HasPrefix(s, "0") && acct != nil {
		cc = acct.CountryCode
	}
	to, err := canonical.NormalizePhone(s, cc)
	if err != nil {
		return "", errRecipient()
	}
	return to, nil
}

// setExtra records a request field that has no canonical home.
func setExtra(m *canonical.Message, key, value string) {
	if m.Extra == nil {
		m.Extra = make(map[string]string, 2)
	}
	m.Extra[key] = value
}
