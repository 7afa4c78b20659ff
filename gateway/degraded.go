package gateway

import (
	"github.com/goccy/go-json"

	"switchboard/gateway/queue"
)

// degraded is /readyz's body while the gateway serves but refuses new messages (its disk
// below the queue's reserve), or nil. The status stays 200: a load balancer that took the
// gateway out would also cut off what it still does, delivering what it accepted and
// answering status queries and receipts for it, which no other gateway can (with Badger, the
// messages are in this one's data_dir); a client's new message is told to try later.
func (s *Server) degraded() []byte {
	d, ok := s.q.(queue.Degraded)
	if !ok {
		return nil
	}
	why := d.Degraded()
	if why == "" {
		return nil
	}
	return statusBody("degraded", why)
}

// statusBody is a /readyz body with the detail an operator should read.
func statusBody(status, detail string) []byte {
	b, _ := json.Marshal(struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	}{status, detail})
	return b
}
