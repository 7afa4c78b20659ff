package multiwhats

import (
	"bytes"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Limits the document does not give, chosen as DIALECT.md explains.
const (
	// maxMessageChars is WhatsApp's longest text body, in characters as Laravel's max rule counts.
	maxMessageChars = 4096
	// maxChoices bounds buttons and list options: WhatsApp lists take 10 rows.
	maxChoices = 10
	// maxLabelChars bounds one button or option label; WhatsApp's own, shorter limits (20 and 24)
	// are left to the upstream, as MultiWhats' are unknown.
	maxLabelChars = 256
)

// request is a send-dynamic body. apikey and file_url are read as any value: file_url 0 (how the
// answer says "no file") must be accepted, and an apikey of the wrong type must not hide the rest.
type request struct {
	APIKey  any      `json:"apikey"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Message string   `json:"message"`
	Type    string   `json:"type"`
	FileURL any      `json:"file_url"`
	Buttons []string `json:"buttons"`
	Options []string `json:"options"`
}

// Decode reads a send-dynamic request into one message. The apikey is taken from the query
// string, else from the body. Like the Laravel application it emulates, it answers 401 before
// looking at the fields when there is no apikey at all.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	if cred, ok := in.Credential(c); ok {
		b.Cred = cred
	}
	var r request
	readable, perr := parse(c.Req.Body(), &r)
	if b.Cred.Scheme == adapters.SchemeNone {
		// A body PHP cannot parse yields no apikey either.
		if key, ok := r.APIKey.(string); ok && readable && strings.TrimSpace(key) != "" {
			b.Cred = adapters.Credential{Scheme: adapters.SchemeAPIKey, Secret: strings.TrimSpace(key)}
		} else {
			return canonical.Errorf(canonical.ErrUnauthorized, "apikey is missing")
		}
	}
	if perr != nil {
		return perr
	}
	m, err := newMessage(&r)
	if err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

// parse decodes body into r. readable is false when the body is not a JSON document at all;
// err reports that, or the first field of the wrong type.
func parse(body []byte, r *request) (readable bool, err *canonical.Error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		// No input at all: Laravel validates an empty request, so do we.
		return true, nil
	}
	if !utf8.Valid(body) {
		// PHP's json_decode refuses the whole document (JSON_ERROR_UTF8).
		return false, errBadJSON()
	}
	if e := adapters.CheckJSONText(body); e != nil {
		return true, invalid(strings.ToLower(e.Field), strings.TrimPrefix(e.Reason, "is "))
	}
	jerr := json.Unmarshal(body, r)
	if jerr == nil {
		return true, nil
	}
	var te *json.UnmarshalTypeError
	if !errors.As(jerr, &te) || te.Field == "" {
		return false, errBadJSON()
	}
	field := strings.ToLower(te.Field)
	if te.Type != nil && te.Type.Kind() == reflect.Slice {
		return true, invalid(field, "must be an array")
	}
	return true, invalid(field, "must be a string")
}

func errBadJSON() *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: "body", Reason: "The request body must be a valid JSON object."}
}

// invalid returns a validation error with Laravel's wording: "The <attribute> field <rule>.",
// where the attribute is the field name with underscores as spaces.
func invalid(field, rule string) *canonical.Error {
	return &canonical.Error{Code: canonical.ErrInvalid, Field: field,
		Reason: "The " + strings.ReplaceAll(field, "_", " ") + " field " + rule + "."}
}

// kindOf says which kind a type makes. "button" is documented; text, list and media are our
// decision (DIALECT.md), inferred from the answer's fields, media also under the names of
// WhatsApp's media types.
func kindOf(typ string) (canonical.Kind, bool) {
	switch typ {
	case "text":
		return canonical.KindText, true
	case "button":
		return canonical.KindButtons, true
	case "list":
		return canonical.KindList, true
	case "media", "image", "video", "audio", "document":
		return canonical.KindMedia, true
	}
	return "", false
}

// typeOf is the type a kind is sent and answered as.
func typeOf(k canonical.Kind) string {
	switch k {
	case canonical.KindButtons:
		return "button"
	case canonical.KindList:
		return "list"
	case canonical.KindMedia:
		return "media"
	}
	return "text"
}

// newMessage validates r as MultiWhats would, in the order of its fields, and builds the message.
func newMessage(r *request) (*canonical.Message, error) {
	from, err := phone("from", r.From)
	if err != nil {
		return nil, err
	}
	to, err := phone("to", r.To)
	if err != nil {
		return nil, err
	}
	fileURL, err := fileURLOf(r.FileURL)
	if err != nil {
		return nil, err
	}
	typ := r.Type
	if typ == "" {
		switch {
		case len(r.Buttons) > 0:
			typ = "button"
		case len(r.Options) > 0:
			typ = "list"
		case fileURL != "":
			typ = "media"
		default:
			typ = "text"
		}
	}
	kind, ok := kindOf(typ)
	if !ok {
		return nil, &canonical.Error{Code: canonical.ErrInvalid, Field: "type", Reason: "The selected type is invalid."}
	}
	if kind == canonical.KindText && fileURL != "" {
		kind = canonical.KindMedia // a text with a file is the file with its caption
	}
	m := &canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, Kind: kind,
		From: from, To: to, Text: r.Message}
	if strings.TrimSpace(r.Message) == "" {
		if kind != canonical.KindMedia {
			return nil, invalid("message", "is required")
		}
		m.Text = ""
	} else if utf8.RuneCountInString(r.Message) > maxMessageChars {
		return nil, invalid("message", "must not be greater than 4096 characters")
	}
	switch kind {
	case canonical.KindButtons:
		if m.Buttons, err = choices("buttons", typ, r.Buttons); err != nil {
			return nil, err
		}
	case canonical.KindList:
		if m.Options, err = choices("options", typ, r.Options); err != nil {
			return nil, err
		}
	case canonical.KindMedia:
		if fileURL == "" {
			return nil, invalid("file_url", "is required when type is "+typ)
		}
	}
	if fileURL != "" {
		m.Media = []canonical.Media{{URL: fileURL}}
	}
	if typ != typeOf(kind) {
		// image, video, audio, document, or text with a file: answered and sent on as given.
		m.Extra = map[string]string{"type": typ}
	}
	m.InferKind()
	if err := m.Validate(); err != nil {
		e := canonical.AsError(err)
		return nil, invalid(vendorField(e.Field), e.Reason)
	}
	return m, nil
}

// phone normalises a number given, as MultiWhats wants it, in full international form.
func phone(field, raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", invalid(field, "is required")
	}
	n, err := canonical.NormalizePhone(raw, "")
	if err != nil {
		return "", invalid(field, "must be a phone number in international format: "+canonical.AsError(err).Reason)
	}
	return n, nil
}

// fileURLOf reads file_url: an http(s) URL, or 0, null, false or "" for no file.
func fileURLOf(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return "", nil
		}
		if len(s) > canonical.MaxFieldBytes {
			return "", invalid("file_url", "must not be greater than 2048 characters")
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", invalid("file_url", "must be a valid URL")
		}
		return s, nil
	case float64:
		if v == 0 {
			return "", nil
		}
	case bool:
		if !v {
			return "", nil
		}
	}
	return "", invalid("file_url", "must be a valid URL")
}

// choices checks the buttons or options a type needs.
func choices(field, typ string, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, invalid(field, "is required when type is "+typ)
	}
	if len(list) > maxChoices {
		return nil, invalid(field, "must not have more than 10 items")
	}
	for i, l := range list {
		if strings.TrimSpace(l) == "" {
			return nil, invalid(field+"."+strconv.Itoa(i), "is required")
		}
		if utf8.RuneCountInString(l) > maxLabelChars {
			return nil, invalid(field+"."+strconv.Itoa(i), "must not be greater than 256 characters")
		}
	}
	return list, nil
}

// vendorField names a canonical field as MultiWhats does.
func vendorField(f string) string {
	switch f {
	case "text":
		return "message"
	case "media", "media.url":
		return "file_url"
	}
	return f
}
