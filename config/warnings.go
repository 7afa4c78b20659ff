package config

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Warnings lists what in a valid config is allowed but likely a mistake, with lines as for
// problems: `check` prints them and exits 0 (-strict makes them errors), a reload reports
// them. A tenant with no credentials is not among them: Validate refuses it.
func Warnings(c *Config) Problems {
	k := &checker{c: c}
	k.mirrorTwice()
	k.shadowedRoutes()
	k.splitTotals()
	k.unusedUpstreams()
	k.unsetSecrets()
	k.openReceipts()
	k.probs.sort()
	return k.probs
}

// mirrorTwice: a route whose mirror is also one of its upstreams sends that vendor every
// message twice.
func (k *checker) mirrorTwice() {
	for i, r := range k.c.Routes {
		if r.Mirror == "" {
			continue
		}
		p := "routes[" + strconv.Itoa(i) + "]"
		if slices.Contains(r.Upstreams, r.Mirror) {
			k.add(p+".mirror", "%q is also in the route's upstreams: it would get every message it is sent twice", r.Mirror)
			continue
		}
		for _, s := range r.Split {
			if s.Upstream == r.Mirror && s.Weight > 0 {
				k.add(p+".mirror", "%q is also an arm of the route's split: its share of messages would be sent to it twice", r.Mirror)
				break
			}
		}
	}
}

// shadowedRoutes: routes after one that matches everything can never match.
func (k *checker) shadowedRoutes() {
	for i, r := range k.c.Routes {
		m := r.Match
		if len(m.Tenants)+len(m.Dialects)+len(m.ToPrefixes)+len(m.Channels)+len(m.Kinds) > 0 {
			continue
		}
		for j := i + 1; j < len(k.c.Routes); j++ {
			k.add("routes["+strconv.Itoa(j)+"]", "route %q never matches: route %q before it matches every message",
				k.c.Routes[j].Name, r.Name)
		}
		return
	}
}

// splitTotals: weights are shares, so any total works, but one that is not 100 is most
// often a percentage typed wrong (110 sends 10/110, not 10 %, to an arm).
func (k *checker) splitTotals() {
	for i, r := range k.c.Routes {
		total := 0
		for _, s := range r.Split {
			total += max(s.Weight, 0)
		}
		if len(r.Split) > 0 && total != 100 && total > 0 {
			k.add("routes["+strconv.Itoa(i)+"].split", "the weights add to %d, not 100: each arm gets its weight/%d of the recipients", total, total)
		}
	}
}

// unusedUpstreams: an upstream no route names gets nothing.
func (k *checker) unusedUpstreams() {
	used := map[string]bool{}
	for _, r := range k.c.Routes {
		for _, u := range r.Upstreams {
			used[u] = true
		}
		for _, s := range r.Split {
			used[s.Upstream] = true
		}
		used[r.Mirror] = true
	}
	for i, u := range k.c.Upstreams {
		if u.Name != "" && !used[u.Name] {
			k.add("upstreams["+strconv.Itoa(i)+"].name", "upstream %q is used by no route", u.Name)
		}
	}
}

// secretFeatures says what an optional secret left empty turns off, by the last key of its path.
var secretFeatures = map[string]string{
	"admin_token":   "the admin API is off",
	"secret":        "callbacks go unsigned",
	"receipt_token": "check refuses the upstream, unless receipts: open takes its receipts unauthenticated",
	"app_secret":    "this upstream's status webhooks are refused",
	"verify_token":  "Meta's subscription handshake is refused",
}

// unsetSecrets: an optional key whose ${VAR} is unset is empty, which silently turns its
// feature off (Validate already reports the required ones).
func (k *checker) unsetSecrets() {
	for _, path := range slices.Sorted(maps.Keys(k.c.unset)) {
		key := path[strings.LastIndexByte(path, '.')+1:]
		feature, ok := secretFeatures[key]
		if !ok {
			feature = "it is empty"
		}
		// add appends "(${VAR} is not set)" for paths in unset.
		k.add(path, "%s", feature)
	}
}

// ReceiptsOpen is the Upstream.Receipts value that takes receipts unauthenticated.
const ReceiptsOpen = "open"

// openReceipts: an upstream whose receipts are open takes a forged receipt from anyone who
// can reach the gateway (the receipt is still only recorded on a message that upstream sent).
func (k *checker) openReceipts() {
	for i, u := range k.c.Upstreams {
		if u.Receipts == ReceiptsOpen {
			k.add("upstreams["+strconv.Itoa(i)+"].receipts", "receipts posted to /receipts/%s are taken unauthenticated, from anyone who can reach the gateway: set credentials.receipt_token instead", u.Name)
		}
	}
}
