package wavy

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// replyStore keeps replies per tenant, as the gateway's store would, and records what it
// was asked.
type replyStore struct {
	byTenant   map[string][]canonical.Reply
	listed     map[string]int
	start, end time.Time
	max        int
}

func (s *replyStore) Unlisted(tenant string, max int) ([]canonical.Reply, error) {
	all := s.byTenant[tenant][s.listed[tenant]:]
	n := min(max, len(all))
	s.listed[tenant] += n
	s.max = max
	return all[:n], nil
}

func (s *replyStore) Between(tenant string, start, end time.Time, max int) ([]canonical.Reply, error) {
	s.start, s.end, s.max = start, end, max
	var out []canonical.Reply
	for _, r := range s.byTenant[tenant] {
		if !r.ReceivedAt.Before(start) && r.ReceivedAt.Before(end) && len(out) < max {
			out = append(out, r)
		}
	}
	return out, nil
}

func receiveCall(uri string, acct *adapters.Account, now time.Time) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod("GET")
	req.SetRequestURI(uri)
	op := adapters.OpReplyList
	if strings.Contains(uri, "/search") {
		op = adapters.OpReplySearch
	}
	return &adapters.Call{Op: op, Req: req, Now: now, Account: acct}
}

type receiveAnswer struct {
	Total    int    `json:"total"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Messages []struct {
		ID          string `json:"id"`
		Source      string `json:"source"`
		ShortCode   string `json:"shortCode"`
		MessageText string `json:"messageText"`
		ReceivedAt  int64  `json:"receivedAt"`
		MT          *struct {
			ID            string `json:"id"`
			CorrelationID string `json:"correlationId"`
		} `json:"mt"`
	} `json:"messages"`
}

// TestServeReceive: receive/list consumes the tenant's replies, receive/search answers a
// time range in the tenant's zone with the vendor's defaults and bounds, both in the
// vendor's shape, and neither answers without a store or an account.
func TestServeReceive(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	reply := func(id string, at time.Time) canonical.Reply {
		return canonical.Reply{ID: id, From: "5511987654321", Line: "28128", Kind: canonical.ReplyText, Text: "t-" + id,
			ReceivedAt: at, MessageID: "m-" + id, ClientRef: "ref-" + id, Channel: canonical.ChannelSMS}
	}
	st := &replyStore{listed: map[string]int{}, byTenant: map[string][]canonical.Reply{
		"acme":  {reply("a1", now.Add(-4*24*time.Hour)), reply("a2", now.Add(-time.Hour)), reply("a3", now.Add(-time.Minute))},
		"other": {reply("x1", now.Add(-time.Hour))},
	}}
	env := adapters.Env{Replies: st}
	acme := &adapters.Account{Tenant: "acme", TimeZone: "America/Sao_Paulo"}
	in := New(Options{})
	serve := func(uri string, acct *adapters.Account) (receiveAnswer, error) {
		var a receiveAnswer
		status, body, err := in.Serve(receiveCall(uri, acct, now), env, nil)
		if err == nil {
			if status != 200 {
				t.Fatalf("%s: status %d", uri, status)
			}
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatalf("%s: %s: %v", uri, body, err)
			}
		}
		return a, err
	}

	a, err := serve("/v1/sms/receive/list", acme)
	if err != nil || a.Total != 3 || len(a.Messages) != 3 || st.max != maxReceive {
		t.Fatalf("list: %+v %v (max %d)", a, err, st.max)
	}
	m := a.Messages[1]
	if m.ID != "a2" || m.Source != "5511987654321" || m.ShortCode != "28128" || m.MessageText != "t-a2" ||
		m.ReceivedAt != now.Add(-time.Hour).UnixMilli() || m.MT == nil || m.MT.ID != "m-a2" || m.MT.CorrelationID != "ref-a2" {
		t.Errorf("list entry: %+v", m)
	}
	// São Paulo is UTC-3.
	if a.Start != "2025-03-07T09:00:00" || a.End != "2025-03-10T09:00:00" {
		t.Errorf("list span: %s .. %s", a.Start, a.End)
	}
	if a, _ := serve("/v1/sms/receive/list", acme); a.Total != 0 || a.Messages == nil {
		t.Errorf("second list: %+v, want none (consumed), as an empty list", a)
	}

	a, err = serve("/v1/sms/receive/search?start=2025-03-10T08:00:00&end=2025-03-10T08:58:00", acme)
	if err != nil || a.Total != 1 || a.Messages[0].ID != "a2" {
		t.Errorf("search: %+v %v", a, err)
	}
	if !st.start.Equal(now.Add(-time.Hour)) || !st.end.Equal(now.Add(-2*time.Minute)) {
		t.Errorf("search asked [%v, %v)", st.start, st.end)
	}
	// Defaults: the last 5 days; a start older than that is moved up.
	if a, err = serve("/v1/sms/receive/search", acme); err != nil || a.Total != 3 || !st.start.Equal(now.Add(-receiveLookback)) || !st.end.Equal(now) {
		t.Errorf("search defaults: %+v %v [%v, %v)", a, err, st.start, st.end)
	}
	if _, err = serve("/v1/sms/receive/search?start=2020-01-01T00:00:00Z", acme); err != nil || !st.start.Equal(now.Add(-receiveLookback)) {
		t.Errorf("old start: %v %v", st.start, err)
	}
	for _, uri := range []string{"/v1/sms/receive/search?start=yesterday", "/v1/sms/receive/search?end=2025-03-01T00:00:00",
		"/v1/sms/receive/search?start=2025-03-10T08:00:00&end=2025-03-10T08:00:00"} {
		if _, err := serve(uri, acme); canonical.AsError(err).Code != canonical.ErrInvalid {
			t.Errorf("%s: %v, want invalid", uri, err)
		}
	}
	if _, err := serve("/v1/sms/receive/list", nil); err == nil || canonical.AsError(err).Code != canonical.ErrUnauthorized {
		t.Errorf("without an account: %v", err)
	}
	env.Replies = nil
	if _, err := serve("/v1/sms/receive/list", acme); err == nil || canonical.AsError(err).Code != canonical.ErrUnavailable {
		t.Errorf("without a store: %v", err)
	}
	status, body := in.Error(receiveCall("/v1/sms/receive/list", acme, now), canonical.AsError(canonical.Errorf(canonical.ErrUnavailable, "replies are not kept by this gateway")), nil)
	if status != 503 || !strings.Contains(string(body), `"errorCode":503`) {
		t.Errorf("unavailable answer: %d %s", status, body)
	}
}

func FuzzParseReceiveSearch(f *testing.F) {
	f.Add("start=2025-03-10T08:00:00&end=2025-03-10T09:00:00")
	f.Add("start=2025-03-10T08:00:00Z")
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, query string) {
		start, end, err := ParseReceiveSearch(receiveCall("/v1/sms/receive/search?"+query, nil, now), time.UTC)
		if err != nil {
			if _, ok := err.(*canonical.Error); !ok {
				t.Fatalf("error is not a *canonical.Error: %T %v", err, err)
			}
			return
		}
		if !end.After(start) || start.Before(now.Add(-receiveLookback)) {
			t.Fatalf("accepted [%v, %v)", start, end)
		}
	})
}
