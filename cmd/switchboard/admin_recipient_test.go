package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAdminMessagesByRecipient: GET /admin/v1/messages?to= through the real server answers
// the messages to that recipient, newest first, with their history, in pages of limit; a bad
// recipient is refused naming the field, and the admin token is required.
func TestAdminMessagesByRecipient(t *testing.T) {
	s := startSink(t)
	cfgPath, addr := gatewayConfig(t, gatewayOpts{sink: s})
	startProc(t, addr, "serve", "-config", cfgPath)
	var toA, all []string
	for i, to := range []string{"+972505551000", "+972505552000", "+972505551000", "+972505552000", "+972505551000"} {
		code, body := sendNative(addr, fmt.Sprintf(`{"to":"%s","text":"hello %d"}`, to, i))
		if code != 202 {
			t.Fatalf("send: %d %s", code, body)
		}
		id := messageID(t, body)
		all = append(all, id)
		if to == "+972505551000" {
			toA = append(toA, id)
		}
	}
	waitFinal(t, addr, all, 20*time.Second)
	newestFirst := slices.Clone(toA)
	slices.Reverse(newestFirst)

	type answer struct {
		Messages []struct {
			Message struct{ ID, To, Status string }
			History []struct{ Status string }
		}
		Truncated bool
		Next      string
	}
	lookup := func(query string) answer {
		t.Helper()
		code, body := get("http://"+addr+"/admin/v1/messages?"+query, adminAuth)
		var a answer
		if code != 200 || json.Unmarshal([]byte(body), &a) != nil {
			t.Fatalf("messages?%s: %d %s", query, code, body)
		}
		return a
	}
	ids := func(a answer) []string {
		out := []string{}
		for _, m := range a.Messages {
			out = append(out, m.Message.ID)
		}
		return out
	}

	a := lookup("to=%2B972505551000")
	if got := ids(a); !slices.Equal(got, newestFirst) || a.Truncated {
		t.Fatalf("to A: %v (truncated %v), want %v", got, a.Truncated, newestFirst)
	}
	for _, m := range a.Messages {
		if m.Message.To != "972505551000" || m.Message.Status != "sent" || len(m.History) == 0 {
			t.Fatalf("to A answered %+v", m)
		}
	}
	first := lookup("to=972505551000&tenant=acme&limit=2")
	rest := lookup("to=972505551000&tenant=acme&limit=2&before=" + first.Next)
	if !first.Truncated || first.Next == "" || rest.Truncated || !slices.Equal(append(ids(first), ids(rest)...), newestFirst) {
		t.Fatalf("pages of 2: %v then %v, want %v", ids(first), ids(rest), newestFirst)
	}
	for query, want := range map[string]int{"to=%2B972505552000": 2, "to=972505553000": 0, "to=972505551000&tenant=nobody": 0,
		"to=972505551000&since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z": 0} {
		if n := len(lookup(query).Messages); n != want {
			t.Errorf("messages?%s: %d, want %d", query, n, want)
		}
	}

	if code, body := get("http://"+addr+"/admin/v1/messages?to=not-a-phone", adminAuth); code != 400 || !strings.Contains(body, `"field":"to"`) {
		t.Errorf("a bad recipient: %d %s, want 400 naming to", code, body)
	}
	if code, body := get("http://"+addr+"/admin/v1/messages?to=972505551000&limit=1001", adminAuth); code != 400 || !strings.Contains(body, `"field":"limit"`) {
		t.Errorf("limit 1001: %d %s, want 400 naming limit", code, body)
	}
	if code, _ := get("http://"+addr+"/admin/v1/messages?to=972505551000", nil); code != 401 {
		t.Errorf("without the admin token: %d, want 401", code)
	}
}

// TestAdminMessagesByRecipientJetStream: the JetStream queue cannot scan its messages by
// time, so the lookup by recipient answers 503 in the native shape saying so, and the lookup
// by id still answers.
func TestAdminMessagesByRecipientJetStream(t *testing.T) {
	c := startNATSCluster(t)
	sk := startSink(t)
	gw := startClusterGateways(t, c, sk, 1)[0]
	code, body := sendNative(gw.addr, `{"to":"+972505551000","text":"hello"}`)
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	id := messageID(t, body)
	code, body = get("http://"+gw.addr+"/admin/v1/messages?to=972505551000", adminAuth)
	if code != 503 || !strings.Contains(body, `"error":{"code":`) || !strings.Contains(body, "no lookup by recipient") {
		t.Fatalf("by recipient on jetstream: %d %s, want 503 saying there is no lookup by recipient", code, body)
	}
	if code, body := get("http://"+gw.addr+"/admin/v1/messages/"+id, adminAuth); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("by id on jetstream: %d %s", code, body)
	}
}
