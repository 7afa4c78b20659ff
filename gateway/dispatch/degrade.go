package dispatch

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
)

// need is a set of things a message carries that an upstream must be able to carry.
type need uint16

const (
	needText need = 1 << iota
	needMedia
	needLocalMedia
	needButtons
	needList
	needTemplate
	needFlash
	needFlow
	// needForeignFlow: the flow is named in another vendor's dialect (a Wavy flow bound
	// for FlowBot); flow ids are a vendor's own, so only an upstream that forwards the
	// canonical message whole carries it.
	needForeignFlow
)

var needNames = [...]string{"text", "media", "local media", "buttons", "list", "template", "flash", "flow", "another vendor's flow"}

func (n need) String() string {
	var parts []string
	for i, name := range needNames {
		if n&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, ", ")
}

func capsOf(c adapters.Caps) need {
	var n need
	for bit, ok := range map[need]bool{needText: c.Text, needMedia: c.Media, needLocalMedia: c.LocalMedia,
		needButtons: c.Buttons, needList: c.List, needTemplate: c.Template, needFlash: c.Flash, needFlow: c.Flow,
		needForeignFlow: c.Flow && c.ForeignFlow} {
		if ok {
			n |= bit
		}
	}
	return n
}

func needsOf(m *canonical.Message) need {
	var n need
	if m.Text != "" {
		n |= needText
	}
	for i := range m.Media {
		if m.Media[i].Local {
			n |= needLocalMedia
		} else {
			n |= needMedia
		}
	}
	if len(m.Buttons) > 0 {
		n |= needButtons
	}
	if len(m.Options) > 0 {
		n |= needList
	}
	if m.Template != nil {
		n |= needTemplate
	}
	if m.Flash {
		n |= needFlash
	}
	// A template names its flow only because FlowBot sends templates through one: the
	// template is the content, and an upstream that sends templates (or renders them) can
	// carry it without the flow.
	if m.FlowID != "" && m.Template == nil {
		n |= needFlow
	}
	return n
}

// policy is a route's answer to content an upstream cannot carry.
type policy uint8

const (
	policyDegrade policy = iota // render it as text; another vendor's flow fails
	policyNext                  // try the next upstream that can carry it
	policyFail                  // fail the message
	// policyFlowText is policyDegrade that sends a message naming another vendor's flow as
	// its text alone, without the flow and its variables (route foreign_flow: text).
	policyFlowText
)

// parsePolicy reads a route's degrade and foreign_flow settings.
func parsePolicy(degrade, foreignFlow string) (policy, error) {
	switch foreignFlow {
	case "", "fail", "text":
	default:
		return 0, fmt.Errorf("foreign_flow must be fail or text, not %q", foreignFlow)
	}
	switch degrade {
	case "", "degrade":
		if foreignFlow == "text" {
			return policyFlowText, nil
		}
		return policyDegrade, nil
	case "next":
		return policyNext, nil
	case "fail":
		return policyFail, nil
	}
	return 0, fmt.Errorf("degrade must be degrade, next or fail, not %q", degrade)
}

// fit returns m, or under policyDegrade a text rendering of what u lacks, or why u cannot
// carry the message. A text over u's limit passes when split is set (the route's long_text)
// and u sends such a text in parts itself.
func fit(m *canonical.Message, u *upstream, p policy, split bool, cat *catalogue) (*canonical.Message, string) {
	missing := needsOf(m) &^ u.caps
	if missing&needFlow == 0 && foreignFlow(m, u) && u.caps&needForeignFlow == 0 {
		missing |= needForeignFlow
	}
	if missing == 0 && (u.maxText == 0 || u.textLength(m.Text) <= u.maxText || (split && u.splits)) {
		return m, ""
	}
	if missing != 0 {
		if p != policyDegrade && p != policyFlowText {
			return nil, "upstream " + u.name + " cannot carry " + missing.String()
		}
		var err error
		if m, err = degrade(m, missing, p == policyFlowText, cat); err != nil {
			return nil, "cannot render the message as text for upstream " + u.name + ": " + err.Error()
		}
	}
	if n := u.textLength(m.Text); u.maxText > 0 && n > u.maxText && !(split && u.splits) {
		how := "the route's long_text is fail"
		if split {
			how = "upstream " + u.name + " cannot send a text in parts"
		}
		return nil, fmt.Sprintf("text of %d characters is over upstream %s's limit of %d (%s)", n, u.name, u.maxText, how)
	}
	return m, ""
}

// degrade returns a copy of m with what is missing rendered as text: the template from
// the catalogue, buttons and options as numbered lines, media as links; with flowText,
// another vendor's flow is left out and the text sent alone.
func degrade(m *canonical.Message, missing need, flowText bool, cat *catalogue) (*canonical.Message, error) {
	switch {
	case missing&needLocalMedia != 0:
		return nil, errors.New("its media is a path on the sender's own machine, which only an upstream of the same dialect can carry")
	case missing&needFlow != 0:
		return nil, errors.New("a flow cannot be rendered as text")
	case missing&needForeignFlow != 0 && !flowText:
		return nil, fmt.Errorf("flow %q is a %s flow, which a flow of another vendor cannot stand for (route foreign_flow: text sends the text alone)", m.FlowID, m.Dialect)
	case missing&needForeignFlow != 0 && m.Text == "":
		return nil, fmt.Errorf("flow %q is a %s flow and the message has no text to send without it", m.FlowID, m.Dialect)
	case missing&needText != 0:
		return nil, errors.New("the upstream carries no text")
	}
	d := *m
	if missing&needForeignFlow != 0 {
		d.FlowID, d.Vars = "", nil
	}
	var sections []string
	body := m.Text
	if missing&needTemplate != 0 {
		text, err := cat.render(m.Template, m.Tenant)
		if err != nil {
			return nil, err
		}
		body, d.Template = text, nil
	}
	if body != "" {
		sections = append(sections, body)
	}
	if missing&needButtons != 0 {
		sections = append(sections, numbered(m.Buttons))
		d.Buttons = nil
	}
	if missing&needList != 0 {
		sections = append(sections, numbered(m.Options))
		d.Options = nil
	}
	if missing&needMedia != 0 {
		var links []string
		for _, md := range m.Media {
			if md.Caption != "" && md.Caption != body {
				links = append(links, md.Caption)
			}
			links = append(links, md.URL)
		}
		sections = append(sections, strings.Join(links, "\n"))
		d.Media = nil
	}
	if missing&needFlash != 0 {
		d.Flash = false
	}
	d.Text = strings.Join(sections, "\n\n")
	d.Kind = ""
	d.InferKind()
	return &d, nil
}

func numbered(items []string) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(it)
	}
	return b.String()
}

// catalogue is the config's templates, for rendering a template as text, and its template
// groups, for picking one template of several.
type catalogue struct {
	bodies map[string]string   // name + "\x00" + language -> body
	langs  map[string][]string // name -> the languages it has, in config order
	groups map[string]*group   // group id -> its templates and how one is picked
	// lang and tenantLang are the language of a template named without one (FlowBot's
	// bulk-send has no language field): the tenant's template_language, else the config's.
	lang       string
	tenantLang map[string]string
}

// group is a template group: FlowBot's strategies are preferred_then_others (the first
// template, then the others in order), round_robin (each in turn) and random.
type group struct {
	names    []string
	strategy string
	next     atomic.Uint64 // round_robin's turn
}

func newCatalogue(ts []config.Template, groups []config.TemplateGroup) catalogue {
	c := catalogue{bodies: map[string]string{}, langs: map[string][]string{}, groups: map[string]*group{}}
	for _, t := range ts {
		c.bodies[t.Name+"\x00"+t.Language] = t.Body
		c.langs[t.Name] = append(c.langs[t.Name], t.Language)
	}
	for _, g := range groups {
		c.groups[g.ID] = &group{names: g.Templates, strategy: g.Strategy}
	}
	return c
}

// pick resolves a template named only by its group to one of the group's templates, by the
// group's strategy. preferred_then_others takes the first the catalogue can render in the
// message's language (so a text rendering exists), else the first. Anything else is
// returned as it is.
func (c *catalogue) pick(t *canonical.Template, tenant string) *canonical.Template {
	if t == nil || t.Name != "" || t.GroupID == "" {
		return t
	}
	g := c.groups[t.GroupID]
	if g == nil || len(g.names) == 0 {
		return t
	}
	var name string
	switch g.strategy {
	case "round_robin":
		name = g.names[(g.next.Add(1)-1)%uint64(len(g.names))]
	case "random":
		name = g.names[rand.N(len(g.names))]
	default:
		name = g.names[0]
		for _, n := range g.names {
			if _, ok := c.body(n, t.Language, tenant); ok {
				name = n
				break
			}
		}
	}
	cp := *t
	cp.Name = name
	return &cp
}

// withLanguages sets the languages of templates named without one: the config's
// template_language, and each tenant's.
func (c catalogue) withLanguages(s Settings) catalogue {
	c.lang, c.tenantLang = s.TemplateLanguage, s.TenantTemplateLanguage
	return c
}

// body looks name up in its language. A template named without a language takes an
// entry without one, else the tenant's template_language, else the config's, else the only
// language the catalogue has it in.
func (c *catalogue) body(name, language, tenant string) (string, bool) {
	if language != "" {
		return c.inLanguage(name, language)
	}
	if body, ok := c.bodies[name+"\x00"]; ok {
		return body, true
	}
	for _, lang := range [...]string{c.tenantLang[tenant], c.lang} {
		if lang == "" {
			continue
		}
		if body, ok := c.inLanguage(name, lang); ok {
			return body, true
		}
	}
	if langs := c.langs[name]; len(langs) == 1 {
		return c.bodies[name+"\x00"+langs[0]], true
	}
	return "", false
}

// inLanguage looks name up with its language, then the language without region (en for
// en_US), then an entry with no language.
func (c *catalogue) inLanguage(name, language string) (string, bool) {
	base, _, _ := strings.Cut(strings.ReplaceAll(language, "-", "_"), "_")
	for _, lang := range []string{language, base, ""} {
		if body, ok := c.bodies[name+"\x00"+lang]; ok {
			return body, true
		}
	}
	return "", false
}

// render fills the template's {{n}} placeholders from its params. The name is looked up as
// body does; a group's templates are tried in order.
func (c *catalogue) render(t *canonical.Template, tenant string) (string, error) {
	names := []string{t.Name}
	if g := c.groups[t.GroupID]; t.Name == "" && g != nil {
		names = g.names
	}
	for _, name := range names {
		if body, ok := c.body(name, t.Language, tenant); ok {
			return fill(body, t.Params), nil
		}
	}
	name := cmp.Or(t.Name, t.GroupID, t.ID)
	if langs := c.langs[t.Name]; t.Language == "" && len(langs) > 1 {
		return "", fmt.Errorf("template %q names no language and the templates catalogue has it in %s: set template_language (of the tenant or of the config)",
			name, strings.Join(langs, ", "))
	}
	return "", fmt.Errorf("template %q (language %q) is not in the templates catalogue", name, t.Language)
}

// fill replaces {{1}}, {{2}}... with params[0], params[1]...; a placeholder without a
// param becomes empty rather than showing its braces to the recipient.
func fill(body string, params []string) string {
	var b strings.Builder
	for {
		i := strings.Index(body, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(body[i:], "}}")
		if j < 0 {
			break
		}
		n, err := strconv.Atoi(strings.TrimSpace(body[i+2 : i+j]))
		if err != nil {
			b.WriteString(body[:i+2])
			body = body[i+2:]
			continue
		}
		b.WriteString(body[:i])
		if n >= 1 && n <= len(params) {
			b.WriteString(params[n-1])
		}
		body = body[i+j+2:]
	}
	b.WriteString(body)
	return b.String()
}
