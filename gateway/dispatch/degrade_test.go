package dispatch

import (
	"strings"
	"testing"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
)

var testCatalogue = newCatalogue([]config.Template{
	{Name: "otp", Language: "en", Body: "Your code is {{1}}. It expires in {{2}} minutes."},
	{Name: "otp", Language: "pt_BR", Body: "Seu código é {{1}}."},
	{Name: "promo", Body: "Hi {{1}}, {{ 2 }} off today{{3}}! {{x}} stays"},
}, []config.TemplateGroup{{ID: "g1", Templates: []string{"missing", "otp"}}})

func TestDegrade(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       canonical.Message
		missing need
		text    string
		kind    canonical.Kind
		err     string
	}{
		{name: "buttons", m: canonical.Message{Kind: canonical.KindButtons, Text: "Continue?", Buttons: []string{"Yes", "No"}},
			missing: needButtons, text: "Continue?\n\n1. Yes\n2. No", kind: canonical.KindText},
		{name: "list without text", m: canonical.Message{Kind: canonical.KindList, Options: []string{"Red", "Green", "Blue"}},
			missing: needList, text: "1. Red\n2. Green\n3. Blue", kind: canonical.KindText},
		{name: "media", m: canonical.Message{Kind: canonical.KindMedia, Text: "Your invoice",
			Media: []canonical.Media{{URL: "https://x.test/a.pdf", Caption: "Invoice 7"}, {URL: "https://x.test/b.png", Caption: "Your invoice"}}},
			missing: needMedia, text: "Your invoice\n\nInvoice 7\nhttps://x.test/a.pdf\nhttps://x.test/b.png", kind: canonical.KindText},
		{name: "only what is missing", m: canonical.Message{Kind: canonical.KindButtons, Text: "See", Buttons: []string{"OK"},
			Media: []canonical.Media{{URL: "https://x.test/a.png"}}},
			missing: needButtons, text: "See\n\n1. OK", kind: canonical.KindMedia},
		{name: "template", m: canonical.Message{Kind: canonical.KindTemplate,
			Template: &canonical.Template{Name: "otp", Language: "en", Params: []string{"123456", "5"}}},
			missing: needTemplate, text: "Your code is 123456. It expires in 5 minutes.", kind: canonical.KindText},
		{name: "template base language", m: canonical.Message{Template: &canonical.Template{Name: "otp", Language: "en_US", Params: []string{"9"}}},
			missing: needTemplate, text: "Your code is 9. It expires in  minutes.", kind: canonical.KindText},
		{name: "template exact language", m: canonical.Message{Template: &canonical.Template{Name: "otp", Language: "pt_BR", Params: []string{"9"}}},
			missing: needTemplate, text: "Seu código é 9.", kind: canonical.KindText},
		{name: "template any language", m: canonical.Message{Template: &canonical.Template{Name: "promo", Language: "de", Params: []string{"Ana", "10%"}}},
			missing: needTemplate, text: "Hi Ana, 10% off today! {{x}} stays", kind: canonical.KindText},
		{name: "template group", m: canonical.Message{Template: &canonical.Template{GroupID: "g1", Language: "en", Params: []string{"1", "2"}}},
			missing: needTemplate, text: "Your code is 1. It expires in 2 minutes.", kind: canonical.KindText},
		{name: "template with buttons", m: canonical.Message{Template: &canonical.Template{Name: "otp", Language: "en", Params: []string{"1", "2"}},
			Buttons: []string{"Resend"}}, missing: needTemplate | needButtons,
			text: "Your code is 1. It expires in 2 minutes.\n\n1. Resend", kind: canonical.KindText},
		{name: "flash dropped", m: canonical.Message{Text: "now", Flash: true}, missing: needFlash, text: "now", kind: canonical.KindText},
		{name: "unknown template", m: canonical.Message{Template: &canonical.Template{Name: "nope", Language: "en"}},
			missing: needTemplate, err: `template "nope" (language "en") is not in the templates catalogue`},
		{name: "local media", m: canonical.Message{Text: "x", Media: []canonical.Media{{URL: "C:/files/a.pdf", Local: true}}},
			missing: needLocalMedia, err: "path on the sender's own machine"},
		{name: "flow", m: canonical.Message{FlowID: "f1"}, missing: needFlow, err: "flow cannot be rendered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.m
			d, err := degrade(&tc.m, tc.missing, false, &testCatalogue)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Text != tc.text || d.Kind != tc.kind {
				t.Fatalf("text %q kind %q, want %q %q", d.Text, d.Kind, tc.text, tc.kind)
			}
			if needsOf(d)&tc.missing != 0 {
				t.Fatalf("still needs %v: %+v", needsOf(d)&tc.missing, d)
			}
			if tc.m.Text != orig.Text || len(tc.m.Buttons) != len(orig.Buttons) || tc.m.Template != orig.Template {
				t.Fatal("the original message was changed")
			}
		})
	}
}

func TestFit(t *testing.T) {
	limited := &upstream{name: "sms", caps: capsOf(adapters.Caps{Text: true}), maxText: 20}
	full := &upstream{name: "all", caps: capsOf(adapters.Caps{Text: true, Media: true, LocalMedia: true, Buttons: true,
		List: true, Template: true, Flash: true, Flow: true})}
	buttons := &canonical.Message{Text: "Go?", Buttons: []string{"Yes", "No"}}
	if m, why := fit(buttons, full, policyFail, false, &testCatalogue); m != buttons || why != "" {
		t.Fatalf("full upstream: %v %q", m, why)
	}
	if m, why := fit(buttons, limited, policyDegrade, false, &testCatalogue); why != "" || m.Text != "Go?\n\n1. Yes\n2. No" {
		t.Fatalf("degrade: %+v %q", m, why)
	}
	for _, p := range []policy{policyNext, policyFail} {
		if _, why := fit(buttons, limited, p, false, &testCatalogue); why != "upstream sms cannot carry buttons" {
			t.Fatalf("policy %d: %q", p, why)
		}
	}
	long := &canonical.Message{Text: "Go?", Buttons: []string{"A very long answer", "No"}}
	if _, why := fit(long, limited, policyDegrade, false, &testCatalogue); !strings.Contains(why, "over upstream sms's limit of 20") {
		t.Fatalf("over limit after degrading: %q", why)
	}
	if _, why := fit(&canonical.Message{Text: strings.Repeat("x", 21)}, limited, policyFail, false, &testCatalogue); !strings.Contains(why, "21 characters") {
		t.Fatalf("over limit: %q", why)
	}
	if got := (needButtons | needTemplate | needLocalMedia).String(); got != "local media, buttons, template" {
		t.Fatalf("need string %q", got)
	}
}

// TestTemplateGroupStrategies: a template named only by its group is resolved by the group's
// strategy, as FlowBot documents them.
func TestTemplateGroupStrategies(t *testing.T) {
	c := newCatalogue([]config.Template{{Name: "b", Language: "he", Body: "B {{1}}"}, {Name: "c", Body: "C"}},
		[]config.TemplateGroup{
			{ID: "pref", Strategy: "preferred_then_others", Templates: []string{"a", "b", "c"}},
			{ID: "rr", Strategy: "round_robin", Templates: []string{"a", "b", "c"}},
			{ID: "rnd", Strategy: "random", Templates: []string{"a", "b", "c"}},
		})
	pick := func(group string) string { return c.pick(&canonical.Template{GroupID: group, Language: "he"}, "").Name }
	if got := pick("pref"); got != "b" {
		t.Errorf("preferred_then_others picked %q; want b, the first the catalogue has in he", got)
	}
	var rr []string
	for range 4 {
		rr = append(rr, pick("rr"))
	}
	if strings.Join(rr, ",") != "a,b,c,a" {
		t.Errorf("round_robin picked %v", rr)
	}
	seen := map[string]int{}
	for range 300 {
		seen[pick("rnd")]++
	}
	if len(seen) != 3 || seen["a"] < 50 || seen["b"] < 50 || seen["c"] < 50 {
		t.Errorf("random picked %v over 300 picks", seen)
	}
	named := &canonical.Template{Name: "x", GroupID: "rr"}
	if c.pick(named, "") != named {
		t.Error("a template with a name was replaced")
	}
	if got := c.pick(&canonical.Template{GroupID: "unknown"}, ""); got.Name != "" {
		t.Errorf("an unknown group picked %q", got.Name)
	}
}
