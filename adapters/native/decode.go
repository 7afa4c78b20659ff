package native

import (
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Decode implements adapters.Inbound.
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	b.Cred, _ = in.Credential(c)
	b.RefScope = adapters.RefStrict
	var r request
	body := c.Req.Body()
	if err := adapters.CheckJSONText(body); err != nil {
		return err
	}
	if err := unmarshalSend(body, &r); err != nil {
		return err
	}
	cc := ""
	if c.Account != nil {
		cc = c.Account.CountryCode
	}
	to, err := canonical.NormalizePhone(r.To, cc)
	if err != nil {
		return rename(err, "to")
	}
	m := &canonical.Message{
		Dialect: Dialect, To: to, Channel: canonical.Channel(r.Channel), Kind: canonical.Kind(r.Kind),
		Text: r.Text, Buttons: r.Buttons, Options: r.Options, FlowID: r.FlowID, Flash: r.Flash,
		ClientRef: r.ClientRef,
	}
	if m.Channel == "" {
		m.Channel = canonical.ChannelWhatsApp
	}
	if r.From != "" {
		if m.From, err = canonical.NormalizePhone(r.From, cc); err != nil {
			return rename(err, "from")
		}
	}
	for _, md := range r.Media {
		m.Media = append(m.Media, canonical.Media{URL: md.URL, Caption: md.Caption, Filename: md.Filename})
	}
	if t := r.Template; t != nil {
		m.Template = &canonical.Template{Name: t.Name, ID: t.ID, Language: t.Language, Params: t.Params, GroupID: t.GroupID}
	}
	if len(r.Vars) > 0 {
		m.Vars = r.Vars
	}
	if r.NotBefore != nil {
		m.NotBefore = r.NotBefore.UTC()
	}
	if r.ExpiresAt != nil {
		m.ExpiresAt = r.ExpiresAt.UTC()
		if !m.ExpiresAt.After(c.Now) {
			return canonical.Invalid("expires_at", "is in the past")
		}
	}
	m.InferKind()
	if err := m.Validate(); err != nil {
		return err
	}
	b.Messages = append(b.Messages, m)
	return nil
}

func rename(err error, field string) error {
	e := *canonical.AsError(err)
	e.Field = field
	return &e
}

func jsonReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, "json: "); i >= 0 {
		s = s[i+len("json: "):]
	}
	return s
}
