package wavy

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
	"switchboard/canonical"
)

func statusCall(method, uri, body string) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.SetBodyString(body)
	return &adapters.Call{Op: adapters.OpStatusQuery, Req: req, Now: adaptertest.Now}
}

func TestParseStatusSearch(t *testing.T) {
	for name, tc := range map[string]struct {
		call      *adapters.Call
		ids, refs []string
		errField  string // the field an expected error names; "-" for none
	}{
		"search body": {statusCall("POST", "/v1/sms/status/search",
			`{"ids":["9cb87d36-79af-11e5-89f3-1b0591cdf807",""],"correlationIds":["myId"]}`),
			[]string{"9cb87d36-79af-11e5-89f3-1b0591cdf807"}, []string{"myId"}, ""},
		"search by correlation only": {statusCall("POST", "/v1/sms/status/search", `{"correlationIds":["a","b"]}`),
			nil, []string{"a", "b"}, ""},
		"legacy id": {statusCall("GET", "/v1/sms-status?id=9cb87d36-79af-11e5-89f3-1b0591cdf807", ""),
			[]string{"9cb87d36-79af-11e5-89f3-1b0591cdf807"}, nil, ""},
		"legacy lists": {statusCall("GET", "/v1/sms-status?id=a,b&id=c&correlationId=x", ""),
			[]string{"a", "b", "c"}, []string{"x"}, ""},
		"nothing asked":    {statusCall("POST", "/v1/sms/status/search", `{"ids":[]}`), nil, nil, "ids"},
		"legacy no id":     {statusCall("GET", "/v1/sms-status", ""), nil, nil, "ids"},
		"ids not an array": {statusCall("POST", "/v1/sms/status/search", `{"ids":"a"}`), nil, nil, "ids"},
		"id not a string":  {statusCall("POST", "/v1/sms/status/search", `{"ids":[1]}`), nil, nil, "ids[0]"},
		"bad json":         {statusCall("POST", "/v1/sms/status/search", `{"ids":[`), nil, nil, "-"},
	} {
		ids, refs, err := ParseStatusSearch(tc.call)
		if tc.errField != "" || err != nil {
			e, ok := err.(*canonical.Error)
			if !ok || e.Code != canonical.ErrInvalid || e.Field != strings.TrimPrefix(tc.errField, "-") {
				t.Errorf("%s: err = %#v, want ErrInvalid on %q", name, err, tc.errField)
			}
			continue
		}
		if !reflect.DeepEqual(ids, tc.ids) || !reflect.DeepEqual(refs, tc.refs) {
			t.Errorf("%s: got %q %q, want %q %q", name, ids, refs, tc.ids, tc.refs)
		}
	}
}

var (
	t0 = time.Date(2023, 4, 26, 11, 11, 58, 0, time.UTC)
	t1 = t0.Add(2 * time.Second)
	t2 = t0.Add(7*time.Second + 500*time.Millisecond)
)

func statusMsg() *canonical.Message {
	return &canonical.Message{ID: "00000000-0000-7000-8000-000000000001", ClientRef: "myId", To: "5519900001111",
		Extra: map[string]string{"extraInfo": "segment=vip", "campaignAlias": "bf"}}
}

func history(cs ...canonical.Change) []canonical.Change { return cs }

func TestStatusRecord(t *testing.T) {
	queued := canonical.Change{Status: canonical.StatusQueued, At: t0}
	sent := canonical.Change{Status: canonical.StatusSent, At: t1, Upstream: "wavy-br"}
	for name, tc := range map[string]struct {
		h    []canonical.Change
		want string
	}{
		"queued": {history(queued), `{"id":"00000000-0000-7000-8000-000000000001","correlationId":"myId","carrierId":null,"carrierName":null,"destination":"5519900001111",` +
			`"sentStatusCode":null,"sentStatus":null,"sentStatusAt":null,"sentStatusDate":null,` +
			`"deliveredStatusCode":null,"deliveredStatus":null,"deliveredAt":null,"deliveredDate":null,"campaignId":null,"extraInfo":"segment=vip"}`},
		"sent": {history(queued, sent), `{"id":"00000000-0000-7000-8000-000000000001","correlationId":"myId","carrierId":null,"carrierName":null,"destination":"5519900001111",` +
			`"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentStatusAt":1682507520000,"sentStatusDate":"2023-04-26T11:12:00Z",` +
			`"deliveredStatusCode":null,"deliveredStatus":null,"deliveredAt":null,"deliveredDate":null,"campaignId":null,"extraInfo":"segment=vip"}`},
		"delivered": {history(queued, sent, canonical.Change{Status: canonical.StatusDelivered, At: t2}),
			`{"id":"00000000-0000-7000-8000-000000000001","correlationId":"myId","carrierId":null,"carrierName":null,"destination":"5519900001111",` +
				`"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentStatusAt":1682507520000,"sentStatusDate":"2023-04-26T11:12:00Z",` +
				`"deliveredStatusCode":4,"deliveredStatus":"DELIVERED_SUCCESS","deliveredAt":1682507525500,"deliveredDate":"2023-04-26T11:12:05Z","campaignId":null,"extraInfo":"segment=vip"}`},
	} {
		got := AppendStatusRecord(nil, statusMsg(), tc.h)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, tc.want)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	sent := canonical.Change{Status: canonical.StatusSent, At: t1}
	for name, tc := range map[string]struct {
		status canonical.Status // the message's current status, used without history
		h      []canonical.Change
		sent   int
		deliv  int
	}{
		"accepted":                 {h: history(canonical.Change{Status: canonical.StatusAccepted, At: t0}), sent: 0, deliv: 0},
		"sending":                  {h: history(canonical.Change{Status: canonical.StatusSending, At: t0}), sent: 0, deliv: 0},
		"expired before sent":      {h: history(canonical.Change{Status: canonical.StatusExpired, At: t1}), sent: 101},
		"dead":                     {h: history(canonical.Change{Status: canonical.StatusDead, At: t1}), sent: 102},
		"rejected":                 {h: history(canonical.Change{Status: canonical.StatusRejected, At: t1}), sent: 103},
		"failed at an upstream":    {h: history(canonical.Change{Status: canonical.StatusFailed, At: t1, Upstream: "u"}), sent: 103},
		"failed in the gateway":    {h: history(canonical.Change{Status: canonical.StatusFailed, At: t1}), sent: 301},
		"failed with a Wavy code":  {h: history(canonical.Change{Status: canonical.StatusFailed, At: t1, Upstream: "u", Code: "202"}), sent: 202},
		"opted out":                {h: history(canonical.Change{Status: canonical.StatusFailed, At: t1, Code: canonical.CodeOptedOut}), sent: 204},
		"failed with another code": {h: history(canonical.Change{Status: canonical.StatusFailed, At: t1, Upstream: "u", Code: "131026"}), sent: 103},
		"not delivered":            {h: history(sent, canonical.Change{Status: canonical.StatusFailed, At: t2}), sent: 2, deliv: 104},
		"expired after sent":       {h: history(sent, canonical.Change{Status: canonical.StatusExpired, At: t2}), sent: 2, deliv: 104},
		"read":                     {h: history(sent, canonical.Change{Status: canonical.StatusRead, At: t2}), sent: 2, deliv: 4},
		"delivered at once":        {h: history(canonical.Change{Status: canonical.StatusDelivered, At: t1}), sent: 2, deliv: 4},
		"replayed after dead":      {h: history(canonical.Change{Status: canonical.StatusDead, At: t1}, canonical.Change{Status: canonical.StatusSent, At: t2}), sent: 2},
		"no history, sent":         {status: canonical.StatusSent, sent: 2},
		"no history, queued":       {status: canonical.StatusQueued},
	} {
		m := statusMsg()
		m.Status = tc.status
		s := statusOf(m, tc.h)
		if s.sentCode != tc.sent || s.deliveredCode != tc.deliv {
			t.Errorf("%s: sent %d delivered %d, want %d %d", name, s.sentCode, s.deliveredCode, tc.sent, tc.deliv)
		}
	}
}

func TestCallbacks(t *testing.T) {
	m := statusMsg()
	m.ClientRef = ""
	m.Extra["carrierId"], m.Extra["carrierName"], m.Extra["campaignId"] = "5", "VIVO", "64"
	h := history(canonical.Change{Status: canonical.StatusQueued, At: t0}, canonical.Change{Status: canonical.StatusSent, At: t1})
	got := string(AppendSentCallback(nil, m, h))
	want := `{"id":"00000000-0000-7000-8000-000000000001","correlationId":null,"carrierId":5,"carrierName":"VIVO","destination":"5519900001111",` +
		`"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentAt":1682507520000,"sentDate":"2023-04-26T11:12:00Z",` +
		`"sentStatusAt":1682507520000,"sentStatusDate":"2023-04-26T11:12:00Z","campaignId":64,"extraInfo":"segment=vip"}`
	if got != want {
		t.Errorf("sent callback:\n got %s\nwant %s", got, want)
	}
	if s, d := CallbacksDue(m, h); !s || d {
		t.Errorf("after sent: callbacks due %v %v", s, d)
	}
	h = append(h, canonical.Change{Status: canonical.StatusDelivered, At: t2})
	got = string(AppendDeliveryCallback(nil, m, h))
	want = `{"id":"00000000-0000-7000-8000-000000000001","correlationId":null,"carrierId":5,"carrierName":"VIVO","destination":"5519900001111",` +
		`"sentStatusCode":2,"sentStatus":"SENT_SUCCESS","sentAt":1682507520000,"sentDate":"2023-04-26T11:12:00Z",` +
		`"sentStatusAt":1682507520000,"sentStatusDate":"2023-04-26T11:12:00Z",` +
		`"deliveredStatusCode":4,"deliveredStatus":"DELIVERED_SUCCESS","deliveredAt":1682507525500,"deliveredDate":"2023-04-26T11:12:05Z",` +
		`"campaignId":64,"extraInfo":"segment=vip"}`
	if got != want {
		t.Errorf("delivery callback:\n got %s\nwant %s", got, want)
	}
	if s, d := CallbacksDue(m, h); s || !d {
		t.Errorf("after delivered: callbacks due %v %v", s, d)
	}
	if s, d := CallbacksDue(m, history(canonical.Change{Status: canonical.StatusDelivered, At: t1})); !s || !d {
		t.Errorf("delivered at once: callbacks due %v %v", s, d)
	}
	if s, d := CallbacksDue(m, history(canonical.Change{Status: canonical.StatusQueued, At: t0})); s || d {
		t.Errorf("queued: callbacks due %v %v", s, d)
	}
}

func TestStatusAnswer(t *testing.T) {
	m := statusMsg()
	got := AppendStatusAnswer(nil, []StatusEntry{{Message: m}, {Message: m, History: history(canonical.Change{Status: canonical.StatusSent, At: t1})}})
	var v struct {
		SMSStatuses []map[string]any `json:"smsStatuses"`
	}
	if err := json.Unmarshal(got, &v); err != nil || len(v.SMSStatuses) != 2 {
		t.Fatalf("answer %s: %v", got, err)
	}
	if v.SMSStatuses[1]["sentStatus"] != "SENT_SUCCESS" {
		t.Errorf("second record: %v", v.SMSStatuses[1])
	}
	if got := string(AppendStatusAnswer(nil, nil)); got != `{"smsStatuses":[]}` {
		t.Errorf("empty answer: %s", got)
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\ nl\n cr\r tab\t nul\x00 bell\x07", "שלום 👍🏽 İ", "\u2028\u2029", "bad \xff utf8"} {
		out := adapters.AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("%q: %s is not JSON: %v", s, out, err)
			continue
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if back != want {
			t.Errorf("%q: round trip gave %q", s, back)
		}
	}
}
