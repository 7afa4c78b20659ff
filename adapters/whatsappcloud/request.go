package whatsappcloud

import (
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// request is a Cloud API messages request, as much of it as a canonical message can hold.
type request struct {
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type"`
	To               string       `json:"to"`
	Type             string       `json:"type"`
	Text             *textObject  `json:"text"`
	Image            *mediaObject `json:"image"`
	Video            *mediaObject `json:"video"`
	Audio            *mediaObject `json:"audio"`
	Document         *mediaObject `json:"document"`
	Sticker          *mediaObject `json:"sticker"`
	Interactive      *interactive `json:"interactive"`
	Template         *template    `json:"template"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
}

type textObject struct {
	Body       string `json:"body"`
	PreviewURL *bool  `json:"preview_url"`
}

type mediaObject struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type interactive struct {
	Type   string `json:"type"`
	Header *struct {
		Type     string       `json:"type"`
		Text     string       `json:"text"`
		Image    *mediaObject `json:"image"`
		Video    *mediaObject `json:"video"`
		Document *mediaObject `json:"document"`
	} `json:"header"`
	Body   *textPart `json:"body"`
	Footer *textPart `json:"footer"`
	Action *struct {
		Button  string `json:"button"`
		Buttons []struct {
			Type  string `json:"type"`
			Reply *struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
		Sections []struct {
			Title string `json:"title"`
			Rows  []struct {
				ID          string `json:"id"`
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"rows"`
		} `json:"sections"`
	} `json:"action"`
}

type textPart struct {
	Text string `json:"text"`
}

type template struct {
	Name     string `json:"name"`
	Language *struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []struct {
		Type       string `json:"type"`
		Parameters []struct {
			Type     string    `json:"type"`
			Text     string    `json:"text"`
			Currency *fallback `json:"currency"`
			DateTime *fallback `json:"date_time"`
		} `json:"parameters"`
	} `json:"components"`
}

type fallback struct {
	FallbackValue string `json:"fallback_value"`
}

// parse reads body into r. A body the Graph API cannot read as parameters at all (not
// JSON, not an object, not UTF-8) leaves it without messaging_product, which is what the
// API then answers; a value of the wrong JSON type names the parameter.
func parse(body []byte, r *request) *canonical.Error {
	if len(body) == 0 || !utf8.Valid(body) {
		return errRequired("messaging_product")
	}
	err := json.Unmarshal(body, r)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return errRequired("messaging_product")
	}
	return errParam(graphPath(te.Field), mustBe(te.Type))
}

// graphPath writes a JSON path ("interactive.action.buttons.0.reply.id") as the Graph API
// names parameters ("interactive['action']['buttons'][0]['reply']['id']").
func graphPath(field string) string {
	first, rest, _ := strings.Cut(field, ".")
	var b strings.Builder
	b.WriteString(first)
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ".")
		if digits(part) {
			b.WriteString("[" + part + "]")
		} else {
			b.WriteString("['" + part + "']")
		}
	}
	return b.String()
}

// mustBe says what JSON type t wants, in the Graph API's words.
func mustBe(t reflect.Type) string {
	if t == nil {
		return "is not valid"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be a boolean"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	}
	return "must be a number"
}
