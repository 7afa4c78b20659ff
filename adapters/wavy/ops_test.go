package wavy

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// recordsStore holds a few records, as the gateway's queue would.
type recordsStore struct {
	recs    map[string]*adapters.Record
	refs    map[string][]string // tenant + "/" + ref -> ids
	changed []*adapters.Record
}

func (s *recordsStore) Get(id string) (*adapters.Record, error) {
	if r, ok := s.recs[id]; ok {
		return r, nil
	}
	return nil, canonical.Errorf(canonical.ErrNotFound, "message not found")
}

func (s *recordsStore) ByRef(tenant, ref string) ([]string, error) {
	return s.refs[tenant+"/"+ref], nil
}

func (s *recordsStore) TemplateSentSince(string, []string, string, time.Time) (map[string]time.Time, error) {
	return nil, nil
}

func (s *recordsStore) Changes(tenant string, max int) ([]*adapters.Record, error) {
	return s.changed[:min(max, len(s.changed))], nil
}

func serveCall(method, uri, body string, acct *adapters.Account) *adapters.Call {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.SetBodyString(body)
	op := adapters.OpStatusQuery
	if strings.HasSuffix(uri, "/list") {
		op = adapters.OpStatusList
	}
	return &adapters.Call{Op: op, Req: req, Now: time.Now(), Account: acct}
}

// TestServeStatus: the status endpoints answer from the store, the tenant's records only,
// unknown ids simply absent, and nothing without an authenticated account.
func TestServeStatus(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id, tenant, ref string) *adapters.Record {
		return &adapters.Record{Msg: &canonical.Message{ID: id, Tenant: tenant, ClientRef: ref, To: "5511900000001", Dialect: Dialect},
			History: []canonical.Change{{Status: canonical.StatusSent, At: at}}}
	}
	st := &recordsStore{
		recs: map[string]*adapters.Record{"m-1": rec("m-1", "acme", "r-1"), "m-2": rec("m-2", "acme", "r-2"), "x-1": rec("x-1", "other", "r-1")},
		refs: map[string][]string{"acme/r-2": {"m-2"}, "other/r-1": {"x-1"}},
	}
	st.changed = []*adapters.Record{st.recs["m-2"]}
	env := adapters.Env{Store: st}
	acme := &adapters.Account{Tenant: "acme"}
	in := New(Options{})

	_, body, err := in.Serve(serveCall("POST", "/v1/sms/status/search", `{"ids":["m-1","x-1","nope","m-1"],"correlationIds":["r-2","r-1"]}`, acme), env, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(body)
	if strings.Count(got, `"id":"m-1"`) != 1 || !strings.Contains(got, `"id":"m-2"`) || strings.Contains(got, "x-1") || strings.Contains(got, "nope") {
		t.Errorf("search: %s", got)
	}
	if !strings.Contains(got, `"sentStatusCode":2`) {
		t.Errorf("search answers no sent status: %s", got)
	}
	_, body, err = in.Serve(serveCall("GET", "/v1/sms/status/list", "", acme), env, nil)
	if err != nil || !strings.Contains(string(body), `"id":"m-2"`) || strings.Contains(string(body), "m-1") {
		t.Errorf("list: %s %v", body, err)
	}
	_, _, err = in.Serve(serveCall("GET", "/v1/sms-status?id=m-1", "", nil), env, nil)
	if e := canonical.AsError(err); err == nil || e.Code != canonical.ErrUnauthorized {
		t.Errorf("without an account: %v, want unauthorized", err)
	}
	_, _, err = in.Serve(serveCall("POST", "/v1/sms/status/search", `{}`, acme), env, nil)
	if e := canonical.AsError(err); err == nil || e.Code != canonical.ErrInvalid {
		t.Errorf("empty search: %v, want invalid", err)
	}
}
