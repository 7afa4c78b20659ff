package flowbot

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Decode implements adapters.Inbound. Outbound, lead and bulk-send decode into messages;
// api-token and check-sent only validate the request and set b.Cred (Serve answers them).
func (in *Inbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	if c.Op == adapters.OpToken {
		clientID, apiKey, _, err := ParseTokenRequest(c)
		if clientID != "" || apiKey != "" {
			b.Cred = adapters.Credential{Scheme: adapters.SchemeClient, User: clientID, Secret: apiKey}
		}
		return err
	}
	cred, ok := in.Credential(c)
	if !ok {
		return noCredential(c.Op)
	}
	b.Cred = cred
	switch c.Op {
	case adapters.OpOutbound:
		return decodeOutbound(c, b)
	case adapters.OpLead:
		return decodeLead(c, b)
	case adapters.OpBulk:
		return decodeBulk(c, b)
	case adapters.OpCheckSent:
		_, _, _, err := ParseCheckSent(c)
		return err
	}
	return &canonical.Error{Code: canonical.ErrNotFound, Reason: "Not found"}
}

// decodeOutbound reads POST /api/webhook/outbound: one flow trigger (or template, when one
// is named) to one phone. data's fields become flow variables.
func decodeOutbound(c *adapters.Call, b *adapters.Batch) error {
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return err
	}
	var phone, flowID, name, id, group, queue string
	var data []byte
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		switch string(keyName(key)) {
		case "phone":
			phone, err = stringField("phone", val)
		case "flowId":
			flowID, err = stringField("flowId", val)
		case "templateName":
			name, err = stringField("templateName", val)
		case "templateId":
			id, err = stringField("templateId", val)
		case "templateGroupId":
			group, err = stringField("templateGroupId", val)
		case "queue":
			queue, err = boolField("queue", val)
		case "data":
			switch kindOf(val) {
			case kindObject:
				data = val
			case kindNull:
				data = nil
			default:
				err = canonical.Invalid("data", "must be an object, not %s", kindOf(val))
			}
		}
		if err != nil {
			return err
		}
	}
	to, err := phoneTo("phone", phone, c.Account)
	if err != nil {
		return err
	}
	if flowID == "" {
		return canonical.Invalid("flowId", "is required")
	}
	m := &canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: to, FlowID: flowID}

	var vars map[string]string
	var params []string
	var paramsRaw []byte
	var typed typedVars
	for it := members(data); data != nil; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		k := keyName(key)
		if string(k) == "templateParams" {
			if kindOf(val) == kindNull {
				params, paramsRaw = nil, nil
				continue
			}
			if params, err = paramList("data.templateParams", val); err != nil {
				return err
			}
			paramsRaw = val
			continue
		}
		if vars == nil {
			vars = make(map[string]string, 8)
		}
		if err := setVar(vars, "data.", k, val); err != nil {
			return err
		}
		typed.note(k, val)
	}
	// The first example in the document names the template inside data: such fields count
	// when the top level names none. They and the language are read from the variables as
	// stored, so that a message re-encoded from them decodes the same.
	lang := vars["templateLanguage"]
	if name == "" && id == "" && group == "" {
		name, id, group = vars["templateName"], vars["templateId"], vars["templateGroupId"]
	}
	if name != "" || id != "" || group != "" {
		m.Template = &canonical.Template{Name: name, ID: id, GroupID: group, Language: lang, Params: params}
	} else if paramsRaw != nil {
		// No template to fill: the parameters stay a flow variable, as the client sent them.
		vars = setDefault(vars, "templateParams", compactString(paramsRaw))
	}
	if len(params) > 0 {
		// Documented: the server copies the OTP into the flow variables code and otpCode.
		vars = setDefault(vars, "code", params[0])
		vars = setDefault(vars, "otpCode", params[0])
	}
	if len(vars) > canonical.MaxVars {
		return canonical.Invalid("data", "has more than %d fields", canonical.MaxVars)
	}
	m.Vars = vars
	if queue != "" {
		m.Extra = map[string]string{"queue": queue}
	}
	typed.keep(m)
	if err := checkIDs(flowID, name, id, group, lang); err != nil {
		return err
	}
	return add(b, m, "phone")
}

// decodeLead reads POST /api/webhook/flow/{flowId}/lead: every body field is a flow variable.
func decodeLead(c *adapters.Call, b *adapters.Batch) error {
	flowID := c.Param
	if flowID == "" {
		flowID = leadFlowID(c.Req.URI().Path())
	}
	if flowID == "" {
		return canonical.Invalid("flowId", "is required")
	}
	body, err := objectBody(c.Req.Body())
	if err != nil {
		return err
	}
	vars := make(map[string]string, 8)
	var phone string
	var typed typedVars
	for it := members(body); ; {
		key, val, ok := it.nextMember()
		if !ok {
			break
		}
		k := keyName(key)
		if string(k) == "phone" {
			if phone, err = stringField("phone", val); err != nil {
				return err
			}
		}
		if err := setVar(vars, "", k, val); err != nil {
			return err
		}
		typed.note(k, val)
	}
	to, err := phoneTo("phone", phone, c.Account)
	if err != nil {
		return err
	}
	if err := checkIDs(flowID, "", "", "", ""); err != nil {
		return err
	}
	// Extra.endpoint lets a FlowBot upstream send the lead back to the lead endpoint.
	m := &canonical.Message{Dialect: Dialect, Channel: canonical.ChannelWhatsApp, To: to, FlowID: flowID, Vars: vars,
		Extra: map[string]string{"endpoint": "lead"}}
	typed.keep(m)
	return add(b, m, "phone")
}

// leadFlowID takes {flowId} from the lead path when the router did not (a caller outside
// the gateway's router, such as a simulator or a fuzzer).
func leadFlowID(path []byte) string {
	const prefix, suffix = "/api/webhook/flow/", "/lead"
	if !bytes.HasPrefix(path, []byte(prefix)) || !bytes.HasSuffix(path, []byte(suffix)) || len(path) <= len(prefix)+len(suffix) {
		return ""
	}
	id := path[len(prefix) : len(path)-len(suffix)]
	if bytes.IndexByte(id, '/') >= 0 {
		return ""
	}
	return string(id)
}

// add infers the kind, validates m naming the vendor's fields, and appends it to b.
func add(b *adapters.Batch, m *canonical.Message, phoneField string) error {
	m.InferKind()
	if err := m.Validate(); err != nil {
		e := canonical.AsError(err)
		field := e.Field
		switch field {
		case "to":
			field = phoneField
		case "vars":
			field = "data"
		case "template", "template.name":
			field = "templateName"
		case "client_ref", "text":
			field = "flowId"
		}
		return &canonical.Error{Code: e.Code, Field: field, Reason: e.Reason}
	}
	b.Messages = append(b.Messages, m)
	return nil
}

// objectBody returns the request body, which must be one JSON object.
func objectBody(body []byte) ([]byte, error) {
	if len(trimValue(body)) == 0 {
		return nil, canonical.Errorf(canonical.ErrInvalid, "Request body is required")
	}
	if !json.Valid(body) {
		return nil, canonical.Errorf(canonical.ErrInvalid, "Invalid JSON body")
	}
	raw := trimValue(body)
	if kindOf(raw) != kindObject {
		return nil, canonical.Errorf(canonical.ErrInvalid, "Request body must be a JSON object")
	}
	if e := adapters.CheckJSONText(raw); e != nil {
		return nil, e
	}
	return raw, nil
}

// phoneTo normalises a phone as the client wrote it to E.164 digits.
func phoneTo(field, raw string, acct *adapters.Account) (string, error) {
	if len(trimSpace([]byte(raw))) == 0 {
		return "", canonical.Invalid(field, "is required")
	}
	cc := ""
	if acct != nil {
		cc = acct.CountryCode
	}
	to, err := canonical.NormalizePhone(raw, cc)
	if err != nil {
		return "", &canonical.Error{Code: canonical.ErrInvalid, Field: field, Reason: "is invalid: " + canonical.AsError(err).Reason}
	}
	return to, nil
}

// stringField reads a string; null is the same as absent.
func stringField(field string, raw []byte) (string, error) {
	switch kindOf(raw) {
	case kindString:
		s, _ := unquote(raw)
		return s, nil
	case kindNull:
		return "", nil
	}
	return "", canonical.Invalid(field, "must be a string, not %s", kindOf(raw))
}

// boolField reads a boolean as "true" or "false"; null is the same as absent ("").
func boolField(field string, raw []byte) (string, error) {
	switch kindOf(raw) {
	case kindBool:
		if raw[0] == 't' {
			return "true", nil
		}
		return "false", nil
	case kindNull:
		return "", nil
	}
	return "", canonical.Invalid(field, "must be a boolean, not %s", kindOf(raw))
}

// paramList reads template parameters: strings, or numbers and booleans as written.
func paramList(field string, raw []byte) ([]string, error) {
	if kindOf(raw) != kindArray {
		return nil, canonical.Invalid(field, "must be an array of strings, not %s", kindOf(raw))
	}
	var out []string
	for it, i := elements(raw), 0; ; i++ {
		val, ok := it.nextElement()
		if !ok {
			break
		}
		switch kindOf(val) {
		case kindString:
			s, _ := unquote(val)
			out = append(out, s)
		case kindNumber, kindBool:
			out = append(out, string(val))
		default:
			return nil, canonical.Invalid(indexed(field, i), "must be a string, not %s", kindOf(val))
		}
		if len(out) > canonical.MaxVars {
			return nil, canonical.Invalid(field, "has more than %d entries", canonical.MaxVars)
		}
		if len(out[i]) > maxVarValue {
			return nil, canonical.Invalid(indexed(field, i), "is longer than %d bytes", maxVarValue)
		}
	}
	return out, nil
}

// setVar stores one flow variable: strings as they are, numbers and booleans as written,
// null as empty, objects and arrays as compact JSON. A repeated name keeps the last value.
func setVar(vars map[string]string, prefix string, name, raw []byte) error {
	if len(name) > maxVarName {
		return canonical.Invalid(prefix+string(name[:32])+"...", "name is longer than %d bytes", maxVarName)
	}
	v := varValue(raw)
	if len(v) > maxVarValue {
		return canonical.Invalid(prefix+string(name), "is longer than %d bytes", maxVarValue)
	}
	if _, ok := vars[string(name)]; !ok && len(vars) >= canonical.MaxVars {
		field := "data"
		if prefix == "" {
			field = "Request body"
		}
		return canonical.Invalid(field, "has more than %d fields", canonical.MaxVars)
	}
	vars[string(name)] = v
	return nil
}

// varValue is a variable's text: strings as they are, numbers and booleans as written, null
// as empty, objects and arrays as compact JSON.
func varValue(raw []byte) string {
	switch kindOf(raw) {
	case kindString:
		v, _ := unquote(raw)
		return v
	case kindNull:
		return ""
	case kindObject, kindArray:
		return compactString(raw)
	}
	return string(raw)
}

// checkIDs bounds the identifiers a request names.
func checkIDs(flowID, name, id, group, lang string) error {
	for _, f := range [...]struct{ field, v string }{{"flowId", flowID}, {"templateName", name}, {"templateId", id}, {"templateGroupId", group}} {
		if len(f.v) > canonical.MaxFieldBytes {
			return canonical.Invalid(f.field, "is longer than %d bytes", canonical.MaxFieldBytes)
		}
	}
	if len(lang) > maxLanguage {
		return canonical.Invalid("templateLanguage", "is longer than %d bytes", maxLanguage)
	}
	return nil
}

func setDefault(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = make(map[string]string, 2)
	}
	if _, ok := m[k]; !ok {
		m[k] = v
	}
	return m
}

func setExtra(m map[string]string, k, v string) map[string]string {
	if v == "" {
		return m
	}
	if m == nil {
		m = make(map[string]string, 3)
	}
	m[k] = v
	return m
}

// compactString returns raw (valid JSON) without white space, invalid UTF-8 replaced.
func compactString(raw []byte) string {
	c := appendCompact(make([]byte, 0, len(raw)), raw)
	if !utf8.Valid(c) {
		c = bytes.ToValidUTF8(c, []byte("\uFFFD"))
	}
	return string(c)
}

// indexed names an array element: phones[2].
func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
