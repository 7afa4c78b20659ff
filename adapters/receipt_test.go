package adapters

import (
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/canonical"
)

var receiptNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseGenericReceiptsReceipts(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []Receipt
		err        string
	}{
		{"one", `{"id":"our-1","upstream_id":"u-1","status":"delivered","at":"2025-03-01T12:00:05Z"}`,
			[]Receipt{{ID: "our-1", UpstreamID: "u-1", Change: canonical.Change{Status: canonical.StatusDelivered, At: receiptNow.Add(5 * time.Second)}}}, ""},
		{"many, default time", `[{"id":"a","status":"READ"},{"upstream_id":"u-2","status":"failed","code":"E42","reason":"handset off"}]`,
			[]Receipt{{ID: "a", Change: canonical.Change{Status: canonical.StatusRead, At: receiptNow}},
				{UpstreamID: "u-2", Change: canonical.Change{Status: canonical.StatusFailed, At: receiptNow, Code: "E42", Reason: "handset off"}}}, ""},
		{"bad status", `{"id":"a","status":"queued"}`, nil, "[0].status"},
		{"no id", `{"status":"read"}`, nil, "id or upstream_id"},
		{"bad time", `{"id":"a","status":"read","at":"yesterday"}`, nil, "RFC 3339"},
		{"long code", `{"id":"a","status":"read","code":"` + strings.Repeat("x", 5000) + `"}`, nil, "too long"},
		{"too many", "[" + strings.Repeat(`{"id":"a","status":"read"},`, MaxReceipts) + `{"id":"a","status":"read"}]`, nil, "at most"},
		{"wrong type", `{"id":1,"status":"read"}`, nil, "cannot parse"},
	} {
		got, err := ParseGenericReceipts([]byte(tc.body), receiptNow)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(got, tc.want, Receipt.Equal) {
			t.Errorf("%s: %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

func FuzzParseGenericReceipts(f *testing.F) {
	f.Add([]byte(`[{"id":"a","status":"read","at":"2025-03-01T12:00:05Z"}]`))
	f.Add([]byte(`{"upstream_id":"u","status":"failed","code":"E1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rs, err := ParseGenericReceipts(body, receiptNow)
		if err == nil && len(rs) > MaxReceipts {
			t.Fatalf("%d receipts without an error", len(rs))
		}
		if err == nil && len(rs) == 0 {
			// Only a body of replies may give no receipt: the reply parser reads it.
			if reps, err := ParseGenericReplies(body, receiptNow); err == nil && len(reps) == 0 {
				t.Fatalf("a body neither parser reads was accepted: %q", body)
			}
		}
		for _, r := range rs {
			if r.ID == "" && r.UpstreamID == "" || r.Change.Status == "" {
				t.Fatalf("receipt without an id or status: %+v", r)
			}
		}
	})
}
