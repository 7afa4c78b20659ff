package whatsappcloud

// The messages request as structs that goccy writes (adapters.MarshalJSON): appending it
// by hand saved too little CPU to stay (json_timing_test.go, bench/RESULTS.md). Fields are
// in the order the request has always been written; what is empty is left out.

// sendBody is the messages request. Exactly one of Text, the media objects, Interactive
// and Template is set, as Type says.
type sendBody struct {
	MessagingProduct string           `json:"messaging_product"`
	RecipientType    string           `json:"recipient_type"`
	To               string           `json:"to"`
	Type             string           `json:"type"`
	Text             *sendText        `json:"text,omitempty"`
	Image            *sendMediaObject `json:"image,omitempty"`
	Video            *sendMediaObject `json:"video,omitempty"`
	Audio            *sendMediaObject `json:"audio,omitempty"`
	Document         *sendMediaObject `json:"document,omitempty"`
	Interactive      *sendInteractive `json:"interactive,omitempty"`
	Template         *sendTemplate    `json:"template,omitempty"`
	// BizOpaqueCallbackData is the message's ID, which Meta echoes in its status webhooks.
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
}

type sendText struct {
	PreviewURL bool   `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

type sendMediaObject struct {
	Link     string `json:"link"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// media is a media object under its type's key (a message, or an interactive header).
type sendMedia struct {
	Type     string           `json:"type"`
	Image    *sendMediaObject `json:"image,omitempty"`
	Video    *sendMediaObject `json:"video,omitempty"`
	Audio    *sendMediaObject `json:"audio,omitempty"`
	Document *sendMediaObject `json:"document,omitempty"`
}

// set puts obj under typ's key.
func (m *sendMedia) set(typ string, obj *sendMediaObject) {
	m.Type = typ
	switch typ {
	case "image":
		m.Image = obj
	case "video":
		m.Video = obj
	case "audio":
		m.Audio = obj
	default:
		m.Document = obj
	}
}

type sendInteractive struct {
	Type   string       `json:"type"`
	Header *sendMedia   `json:"header,omitempty"`
	Body   sendBodyText `json:"body"`
	Action sendAction   `json:"action"`
}

type sendBodyText struct {
	Text string `json:"text"`
}

// action is a list's button and sections, or reply buttons.
type sendAction struct {
	Button   string        `json:"button,omitempty"`
	Sections []sendSection `json:"sections,omitempty"`
	Buttons  []sendButton  `json:"buttons,omitempty"`
}

type sendSection struct {
	Rows []sendRow `json:"rows"`
}

type sendRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type sendButton struct {
	Type  string    `json:"type"`
	Reply sendReply `json:"reply"`
}

type sendReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type sendTemplate struct {
	Name       string          `json:"name"`
	Language   sendLanguage    `json:"language"`
	Components []sendComponent `json:"components,omitempty"`
}

type sendLanguage struct {
	Code string `json:"code"`
}

type sendComponent struct {
	Type       string          `json:"type"`
	Parameters []sendParameter `json:"parameters"`
}

type sendParameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}
