package adapters

import "github.com/goccy/go-json"

// MarshalJSON writes v as JSON with goccy/go-json, leaving "<", ">" and "&" as they are, as
// AppendJSONString does. A request whose shape varies with the message reads more plainly
// as a struct; a dialect appends by hand only where its json_timing_test.go shows that
// pays (bench/RESULTS.md has the figures).
func MarshalJSON(v any) ([]byte, error) {
	return json.MarshalWithOption(v, json.DisableHTMLEscape())
}
