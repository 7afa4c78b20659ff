package flowbot

import (
	"maps"
	"slices"

	"switchboard/adapters"
	"switchboard/canonical"
)

// decodeBulk reads POST /api/templates/bulk-send: one template message per phone. The
// request is all or nothing: one bad phone rejects it, naming its index.
func decodeBulk(c *adapters.Call, b *adapters.Batch) error {
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return err
	}
	var t canonical.Template
	var flowID string
	var phones []byte
	var extra map[string]string
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		var s string
		switch k := string(keyName(key)); k {
		case "templateId":
			t.ID, err = stringField(k, val)
		case "templateGroupId":
			t.GroupID, err = stringField(k, val)
		case "templateName":
			t.Name, err = stringField(k, val)
		case "templateLanguage":
			t.Language, err = stringField(k, val)
		case "templateParams":
			if kindOf(val) != kindNull {
				t.Params, err = paramList(k, val)
			}
		case "flowId":
			flowID, err = stringField(k, val)
		case "phones":
			switch kindOf(val) {
			case kindArray:
				phones = val
			case kindNull:
			default:
				err = canonical.Invalid(k, "must be an array of phone numbers, not %s", kindOf(val))
			}
		case "phoneNumberId":
			s, err = stringField(k, val)
			extra = setExtra(extra, k, s)
		case "allowMarketing", "forceSend":
			s, err = boolField(k, val)
			extra = setExtra(extra, k, s)
		}
		if err != nil {
			return err
		}
	}
	n := 0
	for it := elements(phones); phones != nil; n++ {
		if _, ok := it.nextElement(); !ok {
			break
		}
	}
	if n == 0 {
		return canonical.Invalid("phones", "is required (a non-empty array)")
	}
	if n > MaxBulkPhones {
		return canonical.Invalid("phones", "has %d numbers; at most %d per request", n, MaxBulkPhones)
	}
	if t.ID == "" && t.GroupID == "" && t.Name == "" {
		return canonical.Invalid("templateId", "or templateGroupId is required")
	}
	if err := exclusiveGroup(&t); err != nil {
		return err
	}
	if err := checkIDs(flowID, t.Name, t.ID, t.GroupID, t.Language); err != nil {
		return err
	}
	if extra != nil && len(extra["phoneNumberId"]) > canonical.MaxFieldBytes {
		return canonical.Invalid("phoneNumberId", "is longer than %d bytes", canonical.MaxFieldBytes)
	}
	// One allocation for all messages and one for all templates.
	ms := make([]canonical.Message, n)
	ts := make([]canonical.Template, n)
	b.Messages = slices.Grow(b.Messages, n)
	it := elements(phones)
	for i := range ms {
		val, _ := it.nextElement()
		if kindOf(val) != kindString {
			return canonical.Invalid(indexed("phones", i), "must be a string, not %s", kindOf(val))
		}
		raw, _ := unquote(val)
		to, err := phoneTo("phones", raw, c.Account)
		if err != nil {
			err.(*canonical.Error).Field = indexed("phones", i)
			return err
		}
		ts[i] = t
		ts[i].Params = cloneStrings(t.Params)
		m := &ms[i]
		*m = canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: to, FlowID: flowID,
			Template: &ts[i], Extra: maps.Clone(extra)}
		if err := add(b, m, "phones"); err != nil {
			if e := err.(*canonical.Error); e.Field == "phones" {
				e.Field = indexed("phones", i)
			}
			return err
		}
	}
	return nil
}
