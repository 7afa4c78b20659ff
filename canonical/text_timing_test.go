package canonical

import "testing"

// BenchmarkCheckTexts is what refusing NUL and invalid UTF-8 in every field adds to Validate,
// for a message as FlowBot's outbound benchmark decodes it (nine variables).
func BenchmarkCheckTexts(b *testing.B) {
	m := &Message{To: "972501234567", Text: "שלום, your code is 123456", FlowID: "a8b4ef2d-a8a4-4650-9414-ab6f335e01b4",
		Template: &Template{GroupID: "YOUR_TEMPLATE_GROUP_ID", Language: "he", Params: []string{"123456"}},
		Vars: map[string]string{"customerName": "John Doe", "templateLanguage": "he", "code": "123456", "otpCode": "123456",
			"phoneNumberId": "YOUR_META_PHONE_NUMBER_ID", "sourceRef": "crm-lead-90210", "campaignId": "recruitment-march",
			"templateGroupId": "YOUR_TEMPLATE_GROUP_ID", "x": "y"},
		Extra: map[string]string{"queue": "true"}}
	b.ReportAllocs()
	for b.Loop() {
		if m.checkTexts() != nil {
			b.Fatal("refused")
		}
	}
}
