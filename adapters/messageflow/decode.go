package messageflow

import (
	"bytes"
	"errors"
	"strings"

	"github.com/goccy/go-json"
	"github.com/nyaruka/phonenumbers"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Limits the document does not give; they keep error messages short and the queue sane.
const (
	maxPhoneBytes = 32                      // a phone number as written, spaces and dashes included
	maxLinkBytes  = canonical.MaxFieldBytes // DownloadLink
)

// fields are the request's parameters. The field names are the document's spelling: the
// JSON decoder matches keys case-insensitively, and readArgs does the same for the query.
// Message holds wapMessage in the webhook form.
type fields struct {
	UUID             string
	ToMobileNumber   string
	FromMobileNumber string
	Message          string
	ToCountryCode    string
	DownloadLink     string
}

// Decode implements adapters.Inbound.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	var f fields
	webhook := isWebhook(c.Req)
	var err *canonical.Error
	if webhook {
		err = readWebhook(c.Req, &f)
	} else {
		err = readJSON(c.Req.Body(), &f)
	}
	f.UUID = strings.TrimSpace(f.UUID)
	if f.UUID != "" {
		b.Cred = adapters.Credential{Scheme: adapters.SchemeUUID, Secret: foldUUID(f.UUID)}
	}
	if err != nil {
		return err
	}
	cc := in.defaultCC
	if c.Account != nil && c.Account.CountryCode != "" {
		cc = c.Account.CountryCode
	}
	m, err := buildMessage(&f, webhook, cc)
	if err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

// isWebhook tells the query/form entry point from the JSON one.
func isWebhook(req *fasthttp.Request) bool {
	return req.Header.IsGet() || bytes.HasSuffix(req.URI().Path(), []byte("/webhook/add_message"))
}

func readJSON(body []byte, f *fields) *canonical.Error {
	switch string(bytes.TrimSpace(body)) {
	case "":
		return canonical.Invalid("", "request body is empty: send a JSON object")
	case "null":
		return canonical.Invalid("", "request body must be a JSON object, not null")
	}
	if e := adapters.CheckJSONText(body); e != nil {
		return e
	}
	err := json.Unmarshal(body, f)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return canonical.Invalid("", "request body must be a JSON object, not %s", te.Value)
		}
		return canonical.Invalid(te.Field, "must be a string, not %s", te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return canonical.Invalid("", "request body is not valid JSON: %s", se.Error())
	}
	return canonical.Invalid("", "request body is not valid JSON")
}

// readWebhook reads the query string and, for a POST, the form-encoded body. The first
// non-empty occurrence of a parameter wins, the query before the body, so the UUID that
// Credential finds in the query is the one Decode uses.
func readWebhook(req *fasthttp.Request, f *fields) *canonical.Error {
	readArgs(req.URI().QueryArgs(), f)
	if !req.Header.IsPost() || len(req.Body()) == 0 {
		return nil
	}
	// Bodies that are not forms only matter when the query string lacks a parameter.
	complete := f.UUID != "" && f.ToMobileNumber != "" && f.Message != ""
	switch ct := req.Header.ContentType(); {
	case hasPrefixFold(ct, "multipart/form-data"):
		if !complete {
			return canonical.Invalid("", "multipart/form-data is not supported: send the parameters in the query string or as application/x-www-form-urlencoded")
		}
		return nil
	case hasPrefixFold(ct, "application/json"):
		if !complete {
			return canonical.Invalid("", "/webhook/add_message takes a query string or a form: send JSON to /add_message")
		}
		return nil
	}
	args := fasthttp.AcquireArgs()
	args.ParseBytes(req.Body())
	readArgs(args, f)
	fasthttp.ReleaseArgs(args)
	return nil
}

// readArgs fills the fields still empty from args, matching names case-insensitively.
func readArgs(args *fasthttp.Args, f *fields) {
	for k, v := range args.All() {
		if len(v) == 0 {
			continue
		}
		var dst *string
		switch len(k) { // the six names have six lengths
		case 4:
			dst = pick(k, "uuid", &f.UUID)
		case 10:
			dst = pick(k, "wapmessage", &f.Message)
		case 12:
			dst = pick(k, "downloadlink", &f.DownloadLink)
		case 13:
			dst = pick(k, "tocountrycode", &f.ToCountryCode)
		case 14:
			dst = pick(k, "tomobilenumber", &f.ToMobileNumber)
		case 16:
			dst = pick(k, "frommobilenumber", &f.FromMobileNumber)
		}
		if dst != nil && *dst == "" {
			*dst = string(v)
		}
	}
}

func pick(k []byte, lower string, dst *string) *string {
	if equalFold(k, lower) {
		return dst
	}
	return nil
}

// buildMessage turns the parameters into a validated canonical message.
func buildMessage(f *fields, webhook bool, defaultCC string) (*canonical.Message, *canonical.Error) {
	textField := "Message"
	if webhook {
		textField = "wapMessage"
	}
	if f.UUID == "" {
		return nil, canonical.Invalid("UUID", "is required")
	}
	if f.ToMobileNumber == "" {
		return nil, canonical.Invalid("ToMobileNumber", "is required")
	}
	toCC := ""
	if f.ToCountryCode != "" {
		var err *canonical.Error
		if toCC, err = countryCode(f.ToCountryCode); err != nil {
			return nil, err
		}
	}
	m := &canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp}
	var err *canonical.Error
	if m.To, err = phone("ToMobileNumber", f.ToMobileNumber, toCC, defaultCC); err != nil {
		return nil, err
	}
	if f.FromMobileNumber != "" {
		if m.From, err = phone("FromMobileNumber", f.FromMobileNumber, "", defaultCC); err != nil {
			return nil, err
		}
	}
	text := f.Message
	if !webhook {
		// The query parser has decoded wapMessage already; a JSON Message is URL-encoded
		// as the document shows, or plain text.
		var ok bool
		if text, ok = percentDecode(text); !ok {
			return nil, canonical.Invalid(textField, "is not UTF-8 once URL-decoded: encode UTF-8 text")
		}
	}
	text = strings.ReplaceAll(text, lineBreak, "\n")
	if strings.TrimSpace(text) == "" {
		return nil, canonical.Invalid(textField, "is required")
	}
	m.Text = text
	if f.DownloadLink != "" {
		md, err := parseLink(f.DownloadLink)
		if err != nil {
			return nil, err
		}
		m.Media = []canonical.Media{md}
	}
	m.InferKind()
	if err := m.Validate(); err != nil {
		e := *canonical.AsError(err)
		e.Field = vendorField(e.Field, textField)
		return nil, &e
	}
	return m, nil
}

// countryCode checks ToCountryCode: a calling code such as "972" or "+972".
func countryCode(raw string) (string, *canonical.Error) {
	s := strings.TrimPrefix(strings.TrimSpace(raw), "+")
	if s == "" || len(s) > 3 || strings.Trim(s, "0123456789") != "" || s[0] == '0' {
		if len(raw) > maxPhoneBytes {
			return "", canonical.Invalid("ToCountryCode", "must be a country calling code such as 972")
		}
		return "", canonical.Invalid("ToCountryCode", "%q is not a country calling code such as 972", raw)
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(atoi(s)); r == "" || r == "ZZ" {
		return "", canonical.Invalid("ToCountryCode", "unknown country calling code %q", raw)
	}
	return s, nil
}

// phone normalises a number to E.164 digits. A local number ("05xxxxxxxx") takes cc, or
// defaultCC when the request gave none.
func phone(field, raw, cc, defaultCC string) (string, *canonical.Error) {
	if len(raw) > maxPhoneBytes {
		return "", canonical.Invalid(field, "is longer than %d characters", maxPhoneBytes)
	}
	if cc == "" && isLocal(raw) {
		cc = defaultCC
	}
	n, err := canonical.NormalizePhone(raw, cc)
	if err != nil {
		e := *canonical.AsError(err)
		e.Field = field
		return "", &e
	}
	return n, nil
}

// isLocal reports whether a number is written in national form, with its trunk prefix.
func isLocal(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '0':
			return true
		case c >= '1' && c <= '9' || c == '+':
			return false
		}
	}
	return false
}

// vendorField names a canonical field as this dialect's clients know it.
func vendorField(field, textField string) string {
	switch field {
	case "to":
		return "ToMobileNumber"
	case "from":
		return "FromMobileNumber"
	case "text":
		return textField
	case "media", "media.url":
		return "DownloadLink"
	}
	return field
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// equalFold compares ASCII case-insensitively; lower must be lower case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func hasPrefixFold(b []byte, lower string) bool {
	return len(b) >= len(lower) && equalFold(b[:len(lower)], lower)
}
