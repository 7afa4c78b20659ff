package wavy

import (
	"github.com/valyala/fasthttp"

	"switchboard/adapters"
	"switchboard/canonical"
)

// Accepted renders the vendor's success answer: for a single send the documented array
// (or the object, with SingleReply "object"), for a bulk send the batch id and one entry
// per message, in request order.
func (in *Inbound) Accepted(c *adapters.Call, b *adapters.Batch, dst []byte) (int, []byte) {
	if c.Op == adapters.OpBulk {
		dst = append(dst, `{"id":`...)
		dst = adapters.AppendJSONString(dst, b.ID)
		dst = append(dst, `,"messages":[`...)
		for i, m := range b.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSingle(dst, m)
		}
		return 200, append(dst, "]}"...)
	}
	if in.object && len(b.Messages) > 0 {
		return 200, appendSingle(dst, b.Messages[0])
	}
	dst = append(dst, '[')
	for i, m := range b.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendSingle(dst, m)
	}
	return 200, append(dst, ']')
}

// appendSingle renders one SingleSMSResponse. correlationId is left out when the client
// gave none, as the document's bulk answer shows.
func appendSingle(dst []byte, m *canonical.Message) []byte {
	dst = append(dst, `{"id":`...)
	dst = adapters.AppendJSONString(dst, m.ID)
	if m.ClientRef != "" {
		dst = append(dst, `,"correlationId":`...)
		dst = adapters.AppendJSONString(dst, m.ClientRef)
	}
	return append(dst, '}')
}

// Error renders err as {"errorCode":<http status>,"errorMessage":"..."}.
func (in *Inbound) Error(c *adapters.Call, err *canonical.Error, dst []byte) (int, []byte) {
	status := err.Code.HTTPStatus()
	msg := err.Error()
	switch {
	case err.Code == canonical.ErrUnauthorized:
		msg = authError
	case msg == "":
		msg = fasthttp.StatusMessage(status)
	}
	dst = append(dst, `{"errorCode":`...)
	dst = appendInt(dst, int64(status))
	dst = append(dst, `,"errorMessage":`...)
	dst = adapters.AppendJSONString(dst, msg)
	return status, append(dst, '}')
}
