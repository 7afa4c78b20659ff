package dispatch

import (
	"strings"
	"testing"

	"switchboard/canonical"
	"switchboard/config"
)

// A template without a language takes the tenant's template_language, then the config's,
// then its only language; with several and no default that has it, the error lists them.
func TestTemplateLanguageDefaults(t *testing.T) {
	ts := []config.Template{
		{Name: "otp", Language: "en", Body: "code {{1}}"},
		{Name: "hi", Language: "en", Body: "hi"},
		{Name: "hi", Language: "he", Body: "שלום"},
		{Name: "hi", Language: "pt_BR", Body: "oi"},
	}
	// pt does not find pt_BR: a region is dropped in a lookup (en_US finds en), never added.
	cfg := &config.Config{TemplateLanguage: "pt", Tenants: []config.Tenant{{ID: "il", TemplateLanguage: "he"}}}
	c := newCatalogue(ts, nil).withLanguages(SettingsOf(cfg))
	for _, tc := range []struct{ name, tenant, want, err string }{
		{name: "otp", tenant: "il", want: "code 7"}, // not in he: its only language
		{name: "hi", tenant: "il", want: "שלום"},    // the tenant's language
		{name: "hi", tenant: "other", err: `template "hi" names no language and the templates catalogue has it in en, he, pt_BR`},
	} {
		got, err := c.render(&canonical.Template{Name: tc.name, Params: []string{"7"}}, tc.tenant)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s for %s: %q, %v; want the error %s", tc.name, tc.tenant, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s for %s: %q, %v; want %q", tc.name, tc.tenant, got, err, tc.want)
		}
	}
	c = newCatalogue(ts, nil).withLanguages(SettingsOf(&config.Config{TemplateLanguage: "pt_BR"}))
	if got, err := c.render(&canonical.Template{Name: "hi"}, "any"); err != nil || got != "oi" {
		t.Errorf("the config's language: %q, %v; want oi", got, err)
	}
}
