// Package http is the generic webhook upstream (dialect "http"): it POSTs each canonical message as JSON
// (the native API's snake_case shape) to one URL, and any 2xx answer means sent.
//
// It is pure translation, like every outbound adapter: no goroutines, no I/O, no globals.
// The dispatcher owns the connection, timeouts, retries, breakers and limits.
package http

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// maxReason bounds the part of an error body kept as a message's failure reason: enough
// for a vendor's explanation, not for an HTML error page.
const maxReason = 256

// Outbound POSTs messages to one URL.
type Outbound struct {
	url  string
	auth string // the Authorization header value, if any
}

// NewOutbound returns the upstream for cfg. cfg.URL must be an absolute http(s) URL;
// the optional credential "bearer" is sent as "Authorization: Bearer <bearer>".
func NewOutbound(cfg adapters.UpstreamConfig) (adapters.Outbound, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, canonical.Invalid("url", "cannot parse %q: %v", cfg.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, canonical.Invalid("url", "%q must be an absolute http or https URL", cfg.URL)
	}
	o := &Outbound{url: cfg.URL}
	if t := cfg.Credentials["bearer"]; t != "" {
		o.auth = "Bearer " + t
	}
	return o, nil
}

// Caps says the http upstream carries everything: the receiver gets the canonical message.
func (o *Outbound) Caps() adapters.Caps {
	return adapters.Caps{Text: true, Media: true, LocalMedia: true, Buttons: true, List: true,
		Template: true, Flash: true, Flow: true, ForeignFlow: true}
}

// Encode writes a JSON POST of m. Idempotency-Key carries the message id, so a receiver can
// drop the repeats that at-least-once delivery allows.
func (o *Outbound) Encode(m *canonical.Message, req *fasthttp.Request) error {
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.url)
	req.Header.SetContentType("application/json")
	if o.auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, o.auth)
	}
	req.Header.Set("Idempotency-Key", m.ID)
	body, err := appendMessage(req.SwapBody(nil)[:0], m)
	req.SwapBody(body)
	if err != nil {
		return fmt.Errorf("cannot encode message %s as JSON: %w", m.ID, err)
	}
	return nil
}

// bodyID returns the "id" field of a JSON object body, string or number; "" otherwise.
func bodyID(body []byte) string {
	body = bytes.TrimSpace(body)
	// Without an i and a backslash no key can read "id" (matched case-insensitively):
	// most answers without an id are not decoded at all.
	if len(body) == 0 || body[0] != '{' || !bytes.ContainsAny(body, `iI\`) {
		return ""
	}
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.ID) == 0 {
		return ""
	}
	if v.ID[0] == '"' {
		var s string
		if json.Unmarshal(v.ID, &s) != nil {
			return ""
		}
		return s
	}
	if v.ID[0] == '-' || (v.ID[0] >= '0' && v.ID[0] <= '9') {
		return string(v.ID)
	}
	return ""
}

// reason is the status and the body's text, cut to maxReason bytes on a rune boundary.
func reason(code int, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "HTTP " + strconv.Itoa(code)
	}
	if len(body) > maxReason {
		n := maxReason
		for n > 0 && !utf8.RuneStart(body[n]) {
			n--
		}
		body = body[:n]
	}
	return "HTTP " + strconv.Itoa(code) + ": " + string(body)
}

var _ adapters.Outbound = (*Outbound)(nil)
