package canonical

import (
	"reflect"
	"testing"
	"time"
)

func sampleMessage() *Message {
	return &Message{
		ID: NewID(), Seq: 42, Tenant: "acme", Dialect: "wavy", BatchID: "b1", ClientRef: "ref-1",
		To: "5511900000000", From: "5511911111111", Channel: ChannelWhatsApp, Kind: KindTemplate,
		Text: "שלום\nolá 👋", FlowID: "flow-1", Status: StatusQueued, LastError: "timeout",
		Upstream: "sink", UpstreamID: "up-1", Attempts: 3, Flash: true,
		NotBefore: time.Unix(1700000000, 5).UTC(), ExpiresAt: time.Unix(1800000000, 0).UTC(),
		CreatedAt: time.Unix(1690000000, 7).UTC(),
		Media:     []Media{{URL: "https://x/y.jpg", Caption: "c", Filename: "y.jpg"}, {URL: "C:/a", Local: true}},
		Buttons:   []string{"👍 Yes", "⛔ No"}, Options: []string{"a"},
		Template: &Template{Name: "otp", ID: "t1", Language: "he", GroupID: "g", Params: []string{"123456"}},
		Window:   &Window{Hours: []int{11, 12, 18}, TimeZone: "America/Sao_Paulo"},
		Vars:     map[string]string{"customerName": "John", "code": "1"},
		Extra:    map[string]string{"campaignAlias": "x"},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range []*Message{sampleMessage(), {ID: "x", To: "1"}, {}} {
		b, _ := m.MarshalBinary()
		var got Message
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(&got, m) {
			t.Fatalf("round trip changed the message:\n got %+v\nwant %+v", got, *m)
		}
	}
}

func TestCodecRejectsCorruptInput(t *testing.T) {
	b, _ := sampleMessage().MarshalBinary()
	var m Message
	for i := range len(b) - 1 {
		if err := m.UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("truncated to %d bytes decoded without error", i)
		}
	}
	bad := append([]byte{}, b...)
	bad[0] = 99
	if err := m.UnmarshalBinary(bad); err == nil {
		t.Fatal("unknown version decoded without error")
	}
	if err := m.UnmarshalBinary(append(b, 0)); err == nil {
		t.Fatal("trailing bytes decoded without error")
	}
}

// FuzzCodec: arbitrary bytes never panic, and whatever decodes re-encodes to a stable form.
func FuzzCodec(f *testing.F) {
	b, _ := sampleMessage().MarshalBinary()
	f.Add(b)
	f.Add([]byte{codecVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if m.UnmarshalBinary(data) != nil {
			return
		}
		enc, _ := m.MarshalBinary()
		var again Message
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(&m, &again) {
			t.Fatalf("unstable round trip")
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	m := sampleMessage()
	buf := m.AppendBinary(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendBinary(buf[:0])
		var got Message
		if err := got.UnmarshalBinary(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func TestChangesRoundTrip(t *testing.T) {
	hist := []Change{{Status: StatusQueued, At: time.Unix(1700000000, 1).UTC()},
		{Status: StatusFailed, Upstream: "wavy", Reason: "número inválido", Code: "202"}, {Status: StatusRead}}
	var b []byte
	for _, ch := range hist {
		b = AppendChange(b, ch)
	}
	got, err := DecodeChanges(b)
	if err != nil || !reflect.DeepEqual(got, hist) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	for i := 1; i < len(b); i++ {
		if got, err := DecodeChanges(b[:i]); err == nil && len(got) == len(hist) {
			t.Fatalf("truncated to %d bytes decoded as the whole history", i)
		}
	}
}
