package messageflow

import (
	"testing"

	"switchboard/adapters"
	"switchboard/adapters/adaptertest"
)

const fuzzUUID = "6a708fea-a4d0-4976-a180-9f3bdd3de52e"

func FuzzDecodeJSON(f *testing.F) {
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "POST", "/add_message",
		map[string]string{"Content-Type": "application/json"},
		`{"UUID":"`+fuzzUUID+`","ToMobileNumber":"972501234567","Message":"%D7%A9%D7%9C%D7%95%D7%9D%0A"}`,
		`{"uuid":"u","toMobileNumber":"0501234567","ToCountryCode":"972","FromMobileNumber":"9725xxxxxxxx","Message":"aMessageFlowLineBreakb 50% %zz"}`,
		`{"UUID":"u","ToMobileNumber":"0501234567","DownloadLink":"https://www.dropbox.com/s/x/Logo.jpg?dl=1","Message":"x"}`,
		`{"UUID":"u","ToMobileNumber":"+972 50-123-4567","DownloadLink":"C:\\Users\\u\\Pictures\\path","Message":"x"}`,
		`{"UUID":"u","ToMobileNumber":972501234567,"Message":{"a":[1,null]}}`,
		`[`, `null`, ``)
}

func FuzzDecodeQuery(f *testing.F) {
	for _, q := range []string{
		"UUID=" + fuzzUUID + "&ToMobileNumber=972501234567&wapMessage=%D7%A9%D7%9C%D7%95%D7%9D%0A",
		"UUID=u&toMobileNumber=0501234567&toCountryCode=972&fromMobileNumber=972521234567&downloadLink=https://www.dropbox.com/s/x/Logo.jpg?dl=1&wapMessage=a+b",
		`UUID=u&toMobileNumber=05xxxxxxxx&downloadLink=C:\Users\u\Pictures\path&wapMessage=MessageFlowLineBreak%FF`,
		"uuid=&UUID=u&TOMOBILENUMBER=00972501234567&WAPMESSAGE=x&downloadLink=javascript:x",
	} {
		f.Add("", q)
	}
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "GET", "/webhook/add_message", nil)
}

func FuzzDecodeForm(f *testing.F) {
	f.Add("ToMobileNumber=972501234567&wapMessage=x", "UUID=u")
	adaptertest.Fuzz(f, New(Options{}), adapters.OpSend, "POST", "/webhook/add_message",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		"UUID="+fuzzUUID+"&toMobileNumber=0501234567&toCountryCode=972&wapMessage=%D7%A9%D7%9C%D7%95%D7%9D%0A",
		"UUID=u&ToMobileNumber=972501234567&downloadLink=https%3A%2F%2Fa.example%2Fb.jpg&wapMessage=hi+there",
		"UUID=u&ToMobileNumber=972501234567&downloadLink=C%3A%5Ca.jpg&wapMessage=%00%FF")
}

// FuzzClassify: Classify decides every answer.
func FuzzClassify(f *testing.F) {
	out, err := NewOutbound(adapters.UpstreamConfig{URL: "https://api-messageflow.flow-il.com",
		Credentials: map[string]string{"uuid": "6a708fea-a4d0-4976-a180-9f3bdd3de52e"}})
	if err != nil {
		f.Fatal(err)
	}
	adaptertest.FuzzClassify(f, out, `{"success":true,"id":12345}`, `{"success":false,"error":"x"}`, `true`)
}
