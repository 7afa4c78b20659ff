package native

import (
	"bytes"

	"github.com/goccy/go-json"

	"switchboard/canonical"
)

// A send's body is read with one Unmarshal from the body's bytes: a json.Decoder, the
// only goccy/go-json call that takes DisallowUnknownFields, allocates a 512-byte buffer
// and a stream for every request and reads through a bytes.Reader, about half of what a
// native decode cost. The flag is an option of every decode (DecodeOption.Flags);
// disallowUnknown copies it from a Decoder once. A body Unmarshal refuses is read again
// through the Decoder, so that every error keeps the words it always had.

// disallowUnknown is the DecodeOptionFunc of Decoder.DisallowUnknownFields.
var disallowUnknown = func() json.DecodeOptionFunc {
	var set json.DecodeOption
	dec := json.NewDecoder(bytes.NewReader([]byte("null")))
	dec.DisallowUnknownFields()
	var v any
	_ = dec.DecodeWithOption(&v, func(o *json.DecodeOption) { set = *o })
	return func(o *json.DecodeOption) { o.Flags |= set.Flags }
}()

// unmarshalSend decodes a send's body into r. Its errors are decodeStream's. UnmarshalOf
// leaves r where the caller has it (on its stack); only a refused body costs a request in
// the heap.
func unmarshalSend(body []byte, r *request) error {
	if json.UnmarshalOf(body, r, disallowUnknown) == nil {
		return nil
	}
	var again request
	err := decodeStream(body, &again)
	*r = again
	return err
}

// decodeStream decodes body into r with a Decoder that refuses unknown fields, and refuses
// anything but white space after the value, as json.Unmarshal does in the other dialects.
func decodeStream(body []byte, r *request) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return canonical.Errorf(canonical.ErrInvalid, "cannot parse JSON body: %s", jsonReason(err))
	}
	if off := dec.InputOffset(); off < int64(len(body)) && len(bytes.TrimSpace(body[off:])) > 0 {
		return canonical.Errorf(canonical.ErrInvalid, "cannot parse JSON body: unexpected data after the JSON object at offset %d", off)
	}
	return nil
}
