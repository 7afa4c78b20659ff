package whatsappcloud

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// Status is one delivery receipt of a Cloud API status webhook.
type Status struct {
	// MessageID is the wamid the send request was answered with (the upstream id).
	MessageID string
	// RecipientID is the recipient's WhatsApp id.
	RecipientID string
	// Status is sent, delivered, read or failed.
	Status canonical.Status
	At     time.Time
	// Code and Reason are Meta's error code and text, for failed.
	Code, Reason string
	// CallbackData is the message's biz_opaque_callback_data, which Encode sets to our
	// message id.
	CallbackData string
}

// webhook is the part of Meta's webhook body that carries message statuses.
type webhook struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []struct {
					ID          string          `json:"id"`
					Status      string          `json:"status"`
					Timestamp   json.RawMessage `json:"timestamp"`
					RecipientID string          `json:"recipient_id"`
					// Meta echoes the send request's biz_opaque_callback_data.
					CallbackData string `json:"biz_opaque_callback_data"`
					Errors       []struct {
						Code      json.Number `json:"code"`
						Title     string      `json:"title"`
						Message   string      `json:"message"`
						ErrorData struct {
							Details string `json:"details"`
						} `json:"error_data"`
					} `json:"errors"`
				} `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// webhookObject is the object every WhatsApp Business Account webhook names.
const webhookObject = "whatsapp_business_account"

// ParseStatusWebhook reads the statuses of a Cloud API webhook body, in order, each with
// the biz_opaque_callback_data Meta echoes. Changes other
// than "messages" and statuses other than sent, delivered, read and failed are skipped; a
// webhook without statuses (an incoming message) gives none. Errors are *canonical.Error.
func ParseStatusWebhook(body []byte) ([]Status, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, canonical.Invalid("body", "cannot parse the webhook: %v", err)
	}
	if w.Object != webhookObject {
		return nil, canonical.Invalid("object", "is %q, not %q", w.Object, webhookObject)
	}
	var out []Status
	for _, e := range w.Entry {
		for _, ch := range e.Changes {
			if ch.Field != "messages" {
				continue
			}
			for _, s := range ch.Value.Statuses {
				st := statusOf(s.Status)
				if st == "" {
					continue
				}
				if s.ID == "" {
					return nil, canonical.Invalid("statuses.id", "is required")
				}
				at, ok := unixTime(s.Timestamp)
				if !ok {
					return nil, canonical.Invalid("statuses.timestamp", "%s is not a Unix time", s.Timestamp)
				}
				r := Status{MessageID: s.ID, RecipientID: s.RecipientID, Status: st, At: at, CallbackData: s.CallbackData}
				if len(s.Errors) > 0 {
					e := s.Errors[0]
					title := e.Title
					if title == "" {
						title = e.Message
					}
					r.Code, r.Reason = e.Code.String(), joinReason(title, e.ErrorData.Details)
				}
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func statusOf(s string) canonical.Status {
	switch s {
	case "sent":
		return canonical.StatusSent
	case "delivered":
		return canonical.StatusDelivered
	case "read":
		return canonical.StatusRead
	case "failed":
		return canonical.StatusFailed
	}
	return ""
}

// unixTime reads Meta's timestamp: Unix seconds as a JSON string (or, leniently, a number).
func unixTime(raw json.RawMessage) (time.Time, bool) {
	v := bytes.Trim(raw, `"`)
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// signaturePrefix starts the X-Hub-Signature-256 header's value.
const signaturePrefix = "sha256="

// CheckSignature reports whether header, an X-Hub-Signature-256 value
// ("sha256=<hex HMAC-SHA256 of body keyed with the app secret>"), signs body. The comparison
// takes constant time. An empty app secret never verifies.
func CheckSignature(body []byte, header string, appSecret []byte) bool {
	header = strings.TrimSpace(header)
	if len(appSecret) == 0 || !strings.HasPrefix(header, signaturePrefix) {
		return false
	}
	got, err := hex.DecodeString(header[len(signaturePrefix):])
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Signature returns the X-Hub-Signature-256 value for body, as Meta (and the simulator)
// sends it.
func Signature(body, appSecret []byte) string {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifyChallenge answers Meta's subscription handshake (GET with hub.mode, hub.verify_token
// and hub.challenge): the challenge to echo when mode is "subscribe" and token is the
// configured verify token (compared in constant time), else ok is false. An empty verify
// token never verifies.
func VerifyChallenge(mode, token, challenge, verifyToken string) (string, bool) {
	if mode != "subscribe" || verifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(verifyToken)) != 1 {
		return "", false
	}
	return challenge, true
}

// failedTitle is the title of a failed status that carries no reason.
const failedTitle = "Message failed to send"

// AppendStatusWebhook appends a Cloud API webhook body carrying statuses, as Meta posts it
// for the phone number phoneNumberID. The simulator has no WhatsApp Business Account id or
// display number, so both are the phone number id. A failed status's Reason
// "<title>: <details>" becomes its error's title (and message) and details.
func AppendStatusWebhook(dst []byte, phoneNumberID string, statuses []Status) []byte {
	dst = appendWebhookHead(dst, phoneNumberID)
	dst = append(dst, `,"statuses":[`...)
	for i := range statuses {
		s := &statuses[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		dst = appendField(dst, true, "id", s.MessageID)
		dst = appendField(dst, false, "status", string(s.Status))
		dst = append(dst, `,"timestamp":"`...)
		dst = strconv.AppendInt(dst, s.At.Unix(), 10)
		dst = append(dst, '"')
		dst = appendField(dst, false, "recipient_id", s.RecipientID)
		if s.CallbackData != "" {
			dst = appendField(dst, false, "biz_opaque_callback_data", s.CallbackData)
		}
		if s.Status == canonical.StatusFailed || s.Code != "" {
			dst = appendStatusError(dst, s)
		}
		dst = append(dst, '}')
	}
	return append(dst, `]},"field":"messages"}]}]}`...)
}

// appendWebhookHead opens a webhook body for phoneNumberID up to its value's metadata
// (closed); the caller appends the value's list and `]},"field":"messages"}]}]}`.
func appendWebhookHead(dst []byte, phoneNumberID string) []byte {
	dst = append(dst, `{"object":"`+webhookObject+`","entry":[{`...)
	dst = appendField(dst, true, "id", phoneNumberID)
	dst = append(dst, `,"changes":[{"value":{"messaging_product":"whatsapp","metadata":{`...)
	dst = appendField(dst, true, "display_phone_number", phoneNumberID)
	dst = appendField(dst, false, "phone_number_id", phoneNumberID)
	return append(dst, '}')
}

func appendStatusError(dst []byte, s *Status) []byte {
	code, err := strconv.Atoi(s.Code)
	if err != nil {
		code = 131000 // "Something went wrong"
	}
	title, details, ok := strings.Cut(s.Reason, ": ")
	if !ok {
		details = title
	}
	if title == "" {
		title = failedTitle
	}
	dst = append(dst, `,"errors":[{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = appendField(dst, false, "title", title)
	dst = appendField(dst, false, "message", title)
	dst = append(dst, `,"error_data":{`...)
	dst = appendField(dst, true, "details", details)
	return append(dst, "}}]"...)
}
