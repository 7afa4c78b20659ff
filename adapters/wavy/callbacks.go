package wavy

import (
	"switchboard/adapters"
	"switchboard/canonical"
)

// Kinds of Wavy's status callbacks (adapters.StatusCallback.Kind).
const (
	KindSentCallback     = "sent"                        // the sent-status callback, to callbacks.url
	KindDeliveryCallback = adapters.KindDeliveryCallback // the delivery receipt, to callbacks.delivery_url
)

// RenderStatus is the Wavy row's adapters.Vendor.RenderStatus: the sent-status callback
// and/or the delivery receipt that the last change of history calls for (CallbacksDue).
func RenderStatus(m *canonical.Message, history []canonical.Change) []adapters.StatusCallback {
	sent, delivery := CallbacksDue(m, history)
	var out []adapters.StatusCallback
	if sent {
		out = append(out, adapters.StatusCallback{Kind: KindSentCallback, Body: AppendSentCallback(nil, m, history)})
	}
	if delivery {
		out = append(out, adapters.StatusCallback{Kind: KindDeliveryCallback, Body: AppendDeliveryCallback(nil, m, history)})
	}
	return out
}
