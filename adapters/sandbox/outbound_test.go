package sandbox

import (
	"testing"

	"switchboard/adapters"
	"switchboard/canonical"
)

func TestDeliver(t *testing.T) {
	up, err := New(adapters.UpstreamConfig{Name: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	res := up.Deliver(&canonical.Message{ID: "m1", To: "972501234567", Text: "hi"})
	want := adapters.Result{Outcome: adapters.Sent, Status: canonical.StatusDelivered, UpstreamID: "sandbox-m1"}
	if res != want {
		t.Fatalf("Deliver = %+v, want %+v", res, want)
	}
	c := up.Caps()
	if !c.Text || !c.Media || !c.LocalMedia || !c.Buttons || !c.List || !c.Template || !c.Flash || !c.Flow || c.MaxText != 0 {
		t.Fatalf("Caps = %+v, want everything", c)
	}
}
