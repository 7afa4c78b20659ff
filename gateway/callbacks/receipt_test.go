package callbacks

import (
	"strings"
	"testing"
	"time"

	"switchboard/adapters/wavy"
	"switchboard/canonical"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParseWavy(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []Receipt
		err        string
	}{
		{"sent callback", `{"id":"v-1","correlationId":"our-1","carrierId":1,"carrierName":"VIVO","destination":"5511900000001",
			"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentAt":1740830400000,"sentDate":"2025-03-01T12:00:00Z","campaignId":null,"extraInfo":null}`,
			[]Receipt{{ID: "our-1", UpstreamID: "v-1", Change: canonical.Change{Status: canonical.StatusSent, At: now}}}, ""},
		{"delivery receipt", `{"id":"v-1","correlationId":"our-1","sentStatusCode":2,"sentStatus":"SENT_SUCCESS",
			"sentStatusAt":1740830400000,"deliveredStatusCode":4,"deliveredStatus":"DELIVERED_SUCCESS","deliveredAt":1740830405000}`,
			[]Receipt{{ID: "our-1", UpstreamID: "v-1", Change: canonical.Change{Status: canonical.StatusDelivered, At: now.Add(5 * time.Second)}}}, ""},
		{"not delivered, codes as strings", `{"id":"v-2","sentStatusCode":"2","deliveredStatusCode":"104","deliveredStatus":"NOT_DELIVERED"}`,
			[]Receipt{{UpstreamID: "v-2", Change: canonical.Change{Status: canonical.StatusFailed, At: now, Code: "104", Reason: "NOT_DELIVERED"}}}, ""},
		{"carrier refused, no name", `[{"correlationId":"our-3","sentStatusCode":202,"deliveredStatusCode":null}]`,
			[]Receipt{{ID: "our-3", Change: canonical.Change{Status: canonical.StatusFailed, At: now, Code: "202", Reason: "INVALID_DESTINATION_NUMBER"}}}, ""},
		{"expired", `{"id":"v-4","sentStatusCode":101,"sentStatus":"EXPIRED"}`,
			[]Receipt{{UpstreamID: "v-4", Change: canonical.Change{Status: canonical.StatusExpired, At: now, Code: "101", Reason: "EXPIRED"}}}, ""},
		{"no ids", `{"sentStatusCode":2}`, nil, "id or correlationId"},
		{"no codes", `{"id":"v-5"}`, nil, "status code"},
		{"not json", `id=1`, nil, "cannot parse"},
		{"empty", ``, nil, "empty"},
		{"empty array", `[]`, nil, "no receipt"},
	} {
		got, err := ParseWavy([]byte(tc.body), now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !equalReceipts(got, tc.want) {
			t.Errorf("%s: %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

// TestParseWavyRoundTrip: what the Wavy adapter renders as callbacks (and the simulator
// posts) parses back to the statuses it came from.
func TestParseWavyRoundTrip(t *testing.T) {
	m := &canonical.Message{ID: "v-9", ClientRef: "our-9", To: "5511900000009", Dialect: wavy.Name}
	hist := []canonical.Change{{Status: canonical.StatusSent, At: now}, {Status: canonical.StatusDelivered, At: now.Add(time.Second)}}
	for _, tc := range []struct {
		body []byte
		want canonical.Status
		at   time.Time
	}{
		{wavy.AppendSentCallback(nil, m, hist[:1]), canonical.StatusSent, now},
		{wavy.AppendDeliveryCallback(nil, m, hist), canonical.StatusDelivered, now.Add(time.Second)},
	} {
		got, err := ParseWavy(tc.body, time.Time{})
		if err != nil || len(got) != 1 || got[0].ID != "our-9" || got[0].UpstreamID != "v-9" ||
			got[0].Change.Status != tc.want || !got[0].Change.At.Equal(tc.at) {
			t.Errorf("%s: %+v %v", tc.body, got, err)
		}
	}
}

func TestParseGeneric(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []Receipt
		err        string
	}{
		{"one", `{"id":"our-1","upstream_id":"u-1","status":"delivered","at":"2025-03-01T12:00:05Z"}`,
			[]Receipt{{ID: "our-1", UpstreamID: "u-1", Change: canonical.Change{Status: canonical.StatusDelivered, At: now.Add(5 * time.Second)}}}, ""},
		{"many, default time", `[{"id":"a","status":"READ"},{"upstream_id":"u-2","status":"failed","code":"E42","reason":"handset off"}]`,
			[]Receipt{{ID: "a", Change: canonical.Change{Status: canonical.StatusRead, At: now}},
				{UpstreamID: "u-2", Change: canonical.Change{Status: canonical.StatusFailed, At: now, Code: "E42", Reason: "handset off"}}}, ""},
		{"bad status", `{"id":"a","status":"queued"}`, nil, "[0].status"},
		{"no id", `{"status":"read"}`, nil, "id or upstream_id"},
		{"bad time", `{"id":"a","status":"read","at":"yesterday"}`, nil, "RFC 3339"},
		{"long code", `{"id":"a","status":"read","code":"` + strings.Repeat("x", 5000) + `"}`, nil, "too long"},
		{"too many", "[" + strings.Repeat(`{"id":"a","status":"read"},`, maxReceipts) + `{"id":"a","status":"read"}]`, nil, "at most"},
		{"wrong type", `{"id":1,"status":"read"}`, nil, "cannot parse"},
	} {
		got, err := ParseGeneric([]byte(tc.body), now)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !equalReceipts(got, tc.want) {
			t.Errorf("%s: %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
}

func equalReceipts(a, b []Receipt) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.UpstreamID != y.UpstreamID || x.Change.Status != y.Change.Status || !x.Change.At.Equal(y.Change.At) ||
			x.Change.Code != y.Change.Code || x.Change.Reason != y.Change.Reason {
			return false
		}
	}
	return true
}

func FuzzParseReceipts(f *testing.F) {
	f.Add([]byte(`{"id":"v-1","correlationId":"our-1","sentStatusCode":2,"deliveredStatusCode":4,"deliveredAt":1}`))
	f.Add([]byte(`[{"id":"a","status":"read","at":"2025-03-01T12:00:05Z"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte, time.Time) ([]Receipt, error){ParseWavy, ParseGeneric} {
			rs, err := parse(body, now)
			if err == nil && (len(rs) == 0 || len(rs) > maxReceipts) {
				t.Fatalf("%d receipts without an error", len(rs))
			}
			for _, r := range rs {
				if r.ID == "" && r.UpstreamID == "" || r.Change.Status == "" {
					t.Fatalf("receipt without an id or status: %+v", r)
				}
			}
		}
	})
}
