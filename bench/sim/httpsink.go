package sim

import (
	"github.com/goccy/go-json"

	"switchboard/adapters"
	"switchboard/adapters/native"
	"switchboard/canonical"
)

// httpInbound simulates a receiver of the generic http upstream: POST /messages with the
// canonical message as JSON (Authorization: Bearer <bearer>), answered 200 {"id":"..."}.
// The message's own id (ours, also sent as Idempotency-Key) is kept as its ClientRef: to
// this receiver it is the client's reference, and its receipts name it.
type httpInbound struct{}

// httpDialect names the simulator of the http upstream.
const httpDialect = "http"

func (httpInbound) Dialect() string { return httpDialect }

func (httpInbound) Routes() []adapters.Route {
	return []adapters.Route{{Op: adapters.OpSend, Methods: []string{"POST"}, Path: "/messages"}}
}

func (httpInbound) Credential(c *adapters.Call) (adapters.Credential, bool) {
	tok, _ := native.BearerToken(c.Req.Header.Peek("Authorization"))
	return adapters.Credential{Scheme: adapters.SchemeBearer, Secret: tok}, true
}

func (in httpInbound) Decode(c *adapters.Call, b *adapters.Batch) error {
	b.Cred, _ = in.Credential(c)
	m := new(canonical.Message)
	if err := json.Unmarshal(c.Req.Body(), m); err != nil {
		return canonical.Invalid("body", "cannot parse the message: %v", err)
	}
	if m.ID == "" || m.To == "" {
		return canonical.Invalid("id", "id and to are required")
	}
	m.ClientRef = m.ID
	b.Messages = append(b.Messages, m)
	return nil
}

func (httpInbound) Accepted(_ *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, b.Messages[0].ID)
	return 200, append(dst, '}')
}

func (httpInbound) Error(_ *adapters.Call, e *canonical.Error, dst []byte) (int, []byte) {
	return e.Code.HTTPStatus(), native.AppendError(dst, e)
}

var _ adapters.Inbound = httpInbound{}
