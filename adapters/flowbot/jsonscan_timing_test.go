package flowbot

import (
	"testing"

	"github.com/goccy/go-json"
)

// The two benchmarks below read the same outbound body into the same fields and flow
// variables: once with the package's scanner (jsonscan.go), once with goccy/go-json into a
// struct and a map of raw values. They are the measure of whether the scanner pays for its
// lines; see the comment at the top of jsonscan.go.

func BenchmarkScanOutboundFields(b *testing.B) {
	body := []byte(benchOutbound)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		obj, err := objectBody(body)
		if err != nil {
			b.Fatal(err)
		}
		var phone, flowID, group string
		var data []byte
		for it := members(obj); ; {
			key, val, ok := it.nextMember()
			if !ok {
				break
			}
			switch string(keyName(key)) {
			case "phone":
				phone, _ = stringField("phone", val)
			case "flowId":
				flowID, _ = stringField("flowId", val)
			case "templateGroupId":
				group, _ = stringField("templateGroupId", val)
			case "data":
				data = val
			}
		}
		vars := make(map[string]string, 8)
		for it := members(data); ; {
			key, val, ok := it.nextMember()
			if !ok {
				break
			}
			if err := setVar(vars, "data.", keyName(key), val); err != nil {
				b.Fatal(err)
			}
		}
		if phone == "" || flowID == "" || group == "" || len(vars) != 7 {
			b.Fatal("missed a field")
		}
	}
}

func BenchmarkGoccyOutboundFields(b *testing.B) {
	body := []byte(benchOutbound)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var req struct {
			Phone           string                     `json:"phone"`
			FlowID          string                     `json:"flowId"`
			TemplateGroupID string                     `json:"templateGroupId"`
			Data            map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			b.Fatal(err)
		}
		vars := make(map[string]string, 8)
		for k, raw := range req.Data {
			var s string
			if len(raw) > 0 && raw[0] == '"' {
				if err := json.Unmarshal(raw, &s); err != nil {
					b.Fatal(err)
				}
			} else {
				s = string(raw)
			}
			vars[k] = s
		}
		if req.Phone == "" || req.FlowID == "" || req.TemplateGroupID == "" || len(vars) != 7 {
			b.Fatal("missed a field")
		}
	}
}
