package flowbot

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Credentials an upstream of this dialect reads from config.
const (
	// CredClientID and CredAPIKey are exchanged at /api/auth/api-token for a JWT.
	CredClientID = "client_id"
	CredAPIKey   = "api_key"
	// CredToken is a legacy outbound verify token, sent as a fixed Bearer token instead of
	// a JWT when no client_id/api_key are given.
	CredToken = "token"
	// CredFlowID is the flow that carries messages which name none (text from another
	// dialect, templates without a flow).
	CredFlowID = "flow_id"
)

// upstreamTokenTTL is the lifetime asked of FlowBot for a token (the document's example).
const upstreamTokenTTL = 3600

// maxReason bounds the upstream text kept as a failure reason.
const maxReason = 300

// Outbound sends canonical messages to a FlowBot server through its outbound flow trigger
// (and lead messages that came in through FlowBot's lead endpoint back to that endpoint).
// With client_id/api_key it is an adapters.Authenticator; with a fixed token it is a plain
// adapters.Outbound.
type Outbound struct {
	name, base       string
	clientID, apiKey string
	token, flowID    string
}

// tokenOutbound is an Outbound that gets its JWT from /api/auth/api-token.
type tokenOutbound struct{ *Outbound }

// NewOutbound returns the FlowBot upstream described by cfg: URL is the server's base URL
// (https://your-domain.com), Credentials hold client_id and api_key (or a legacy token),
// and optionally flow_id. It does no I/O.
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, canonical.Invalid("url", "%q is not an http(s) base URL", cfg.URL)
	}
	up := &Outbound{
		name: cfg.Name, base: strings.TrimRight(cfg.URL, "/"),
		clientID: cfg.Credentials[CredClientID], apiKey: cfg.Credentials[CredAPIKey],
		token: cfg.Credentials[CredToken], flowID: cfg.Credentials[CredFlowID],
	}
	switch {
	case up.clientID != "" && up.apiKey != "":
		return tokenOutbound{up}, nil
	case up.clientID != "" || up.apiKey != "":
		return nil, canonical.Invalid("credentials", "need both client_id and api_key")
	case up.token != "":
		return up, nil
	}
	return nil, canonical.Invalid("credentials", "need client_id and api_key (or a legacy token)")
}

// Caps: FlowBot's integration API triggers flows and sends approved templates. Text from
// another dialect travels as the flow variable data.text of the configured flow; media,
// buttons and lists cannot be carried.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Template: true, Flow: true, MaxText: 4096}
}

// Encode writes the request for m with the fixed token. An upstream configured with client
// credentials needs a JWT: the dispatcher must use EncodeAuthed.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	if o.token == "" {
		return canonical.Errorf(canonical.ErrInternal, "flowbot upstream %s needs a token: send through EncodeAuthed", o.name)
	}
	return o.encode(m, o.token, req)
}

// EncodeToken writes POST /api/auth/api-token with the client credentials.
func (o tokenOutbound) EncodeToken(req *fasthttp.Request) {
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.base + "/api/auth/api-token")
	req.Header.SetContentType("application/json")
	b := append(make([]byte, 0, 128), `{"clientId":`...)
	b = adapters.AppendJSONString(b, o.clientID)
	b = append(b, `,"apiKey":`...)
	b = adapters.AppendJSONString(b, o.apiKey)
	b = append(b, `,"ttlSec":`...)
	b = strconv.AppendInt(b, upstreamTokenTTL, 10)
	req.SetBodyRaw(append(b, '}'))
}

// ParseToken reads api-token's answer: accessToken, valid for expiresInSec from now.
func (o tokenOutbound) ParseToken(resp *fasthttp.Response, now time.Time) (string, time.Time, error) {
	code := resp.StatusCode()
	if code < 200 || code >= 300 {
		e := canonical.Errorf(canonical.ErrUnavailable, "flowbot token request: %s", reason(code, resp.Body()))
		switch {
		case code == 401 || code == 403:
			e.Code = canonical.ErrUnauthorized
		case code == 429:
			e.Code = canonical.ErrTooMany
			e.RetryAfter = adapters.RetryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), now)
		case code >= 400 && code < 500:
			e.Code = canonical.ErrInvalid
		}
		return "", time.Time{}, e
	}
	var a struct {
		AccessToken  string `json:"accessToken"`
		ExpiresInSec int64  `json:"expiresInSec"`
	}
	if err := json.Unmarshal(resp.Body(), &a); err != nil || a.AccessToken == "" {
		return "", time.Time{}, canonical.Errorf(canonical.ErrUnavailable, "flowbot token answer has no accessToken: %s", reason(code, resp.Body()))
	}
	ttl := time.Duration(a.ExpiresInSec) * time.Second
	if a.ExpiresInSec <= 0 || a.ExpiresInSec > int64(maxTTLSec) {
		ttl = upstreamTokenTTL * time.Second
	}
	return a.AccessToken, now.Add(ttl), nil
}

// EncodeAuthed writes the request for m with a token from ParseToken.
func (o tokenOutbound) EncodeAuthed(m *canonical.Message, token string, req *fasthttp.Request) error {
	return o.encode(m, token, req)
}

// encode writes POST /api/webhook/outbound:
//
//	{"phone":"+<to>","flowId":"...","templateName|templateId|templateGroupId":"...",
//	 "queue":true,"data":{<vars>,"templateLanguage":"..","templateParams":[..],"text":".."}}
//
// or, for a message that came in through FlowBot's lead endpoint, POST
// /api/webhook/flow/{flowId}/lead with the variables as the body.
func (o *Outbound) encode(m *canonical.Message, token string, req *fasthttp.Request) error {
	switch m.Kind {
	case canonical.KindMedia, canonical.KindButtons, canonical.KindList:
		return canonical.Invalid("kind", "flowbot cannot carry %s messages", m.Kind)
	}
	// Flow ids are the vendor's own: a Wavy flowId means nothing to FlowBot.
	flowID := o.flowID
	if m.FlowID != "" && m.Dialect != "wavy" {
		flowID = m.FlowID
	}
	if flowID == "" {
		return canonical.Invalid("flow_id", "flowbot needs a flow: the message names none and upstream %s has no flow_id", o.name)
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	if m.Dialect == Dialect && m.Extra["endpoint"] == "lead" && m.Template == nil && m.Text == "" {
		req.SetRequestURI(o.base + "/api/webhook/flow/" + url.PathEscape(flowID) + "/lead")
		vars := m.Vars
		if _, ok := vars["phone"]; !ok {
			vars = map[string]string{"phone": "+" + m.To}
			for k, v := range m.Vars {
				vars[k] = v
			}
		}
		req.SetBodyRaw(appendVars(make([]byte, 0, 256), vars, typedPairs(m)))
		return nil
	}
	req.SetRequestURI(o.base + "/api/webhook/outbound")
	b := append(make([]byte, 0, 256+len(m.Text)), `{"phone":"+`...)
	b = adapters.AppendJSONStringContent(b, m.To)
	b = append(b, `","flowId":`...)
	b = adapters.AppendJSONString(b, flowID)
	var extra []string // data fields beyond the variables, as key, raw JSON value
	if t := m.Template; t != nil {
		for _, f := range [...]struct{ k, v string }{{"templateName", t.Name}, {"templateId", t.ID}, {"templateGroupId", t.GroupID}} {
			if f.v != "" {
				b = append(b, ',')
				b = adapters.AppendJSONString(b, f.k)
				b = append(b, ':')
				b = adapters.AppendJSONString(b, f.v)
			}
		}
		if t.Language != "" {
			extra = append(extra, "templateLanguage", string(adapters.AppendJSONString(nil, t.Language)))
		}
		if len(t.Params) > 0 {
			p := []byte{'['}
			for i, s := range t.Params {
				if i > 0 {
					p = append(p, ',')
				}
				p = adapters.AppendJSONString(p, s)
			}
			extra = append(extra, "templateParams", string(append(p, ']')))
		}
	}
	if m.Text != "" {
		extra = append(extra, "text", string(adapters.AppendJSONString(nil, m.Text)))
	}
	if m.Dialect == Dialect {
		if q := m.Extra["queue"]; q == "true" || q == "false" {
			b = append(b, `,"queue":`...)
			b = append(b, q...)
		}
		if p := m.Extra["phoneNumberId"]; p != "" {
			extra = append(extra, "phoneNumberId", string(adapters.AppendJSONString(nil, p)))
		}
	}
	extra = append(extra, typedPairs(m)...) // after the fields above, which win
	if len(m.Vars) > 0 || len(extra) > 0 {
		b = append(b, `,"data":`...)
		b = appendVars(b, m.Vars, extra)
	}
	req.SetBodyRaw(append(b, '}'))
	return nil
}

// appendVars writes the variables as a JSON object, sorted by name so that a message always
// encodes the same way. extra (name, raw JSON pairs) replace variables of the same name. A
// templateParams variable that holds a JSON array (FlowBot's own, kept as it came) is written
// back as the array.
func appendVars(b []byte, vars map[string]string, extra []string) []byte {
	keys := make([]string, 0, len(vars)+len(extra)/2)
	for k := range vars {
		keys = append(keys, k)
	}
	for i := 0; i < len(extra); i += 2 {
		if _, ok := vars[extra[i]]; !ok {
			keys = append(keys, extra[i])
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = adapters.AppendJSONString(b, k)
		b = append(b, ':')
		if raw, ok := lookup(extra, k); ok {
			b = append(b, raw...)
			continue
		}
		v := vars[k]
		if k == "templateParams" && isStringArray(v) {
			b = append(b, v...)
			continue
		}
		b = adapters.AppendJSONString(b, v)
	}
	return append(b, '}')
}

// lookup finds name in name, value pairs.
func lookup(pairs []string, name string) (string, bool) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == name {
			return pairs[i+1], true
		}
	}
	return "", false
}

// isStringArray reports whether s is a JSON array of strings, numbers and booleans.
func isStringArray(s string) bool {
	raw := []byte(s)
	if !json.Valid(raw) || kindOf(trimValue(raw)) != kindArray {
		return false
	}
	_, err := paramList("", trimValue(raw))
	return err == nil
}

// reason is FlowBot's {"error":"..."} text, or else the body itself, cut to maxReason bytes.
func reason(code int, body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	text := ""
	if json.Unmarshal(body, &e) == nil {
		text = e.Error
		if text == "" {
			text = e.Message
		}
	}
	if text == "" {
		text = string(bytes.TrimSpace(body))
	}
	if text == "" {
		return "HTTP " + strconv.Itoa(code)
	}
	if len(text) > maxReason {
		n := maxReason
		for n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		text = text[:n]
	}
	return text
}

var (
	_ adapters.Outbound      = (*Outbound)(nil)
	_ adapters.Authenticator = tokenOutbound{}
)
