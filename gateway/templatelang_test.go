package gateway

import (
	"sort"
	"strings"
	"testing"
)

// A template named without a language (FlowBot's bulk-send leaves it out) is rendered as
// text in the config's template_language, else in the only language the catalogue has it
// in, for an upstream without templates (#18 point 10).
func TestTemplateWithoutLanguageRendered(t *testing.T) {
	wavy := startSim(t, "wavy")
	base := startGateway(t, `template_language: pt_BR
templates:
  - { name: otp, language: en, body: "Your code is {{1}}" }
  - { name: welcome, language: en, body: "Welcome {{1}}" }
  - { name: welcome, language: pt_BR, body: "Bem-vindo {{1}}" }
upstreams:
  - { name: wavy, dialect: wavy, url: "`+wavy+`", credentials: { username: acme, token: wavy-demo-token }, receipts: open }
routes:
  - { name: r, match: {}, upstreams: [wavy], degrade: degrade }
`)
	fb := flowbotToken(t, base)
	for _, body := range []string{
		`{"templateName":"otp","templateParams":["123456"],"phones":["+5511987000001"]}`,
		`{"templateName":"welcome","templateParams":["Ana"],"phones":["+5511987000002"]}`,
	} {
		if status, answer := post(t, base+"/api/templates/bulk-send", fb, body); status != 200 {
			t.Fatalf("bulk-send %s: %d %s", body, status, answer)
		}
	}
	var texts []string
	for _, r := range waitRequests(t, wavy, 2) {
		for _, m := range r.Message {
			texts = append(texts, m.Text)
		}
	}
	sort.Strings(texts)
	if strings.Join(texts, "|") != "Bem-vindo Ana|Your code is 123456" {
		t.Errorf("the upstream got %q; want the otp in English (its only language) and welcome in pt_BR (template_language)", texts)
	}
}
