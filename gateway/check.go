package gateway

import (
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/adapters/flowbot"
	"switchboard/adapters/messageflow"
	"switchboard/adapters/multiwhats"
	"switchboard/adapters/registry"
	"switchboard/adapters/wavy"
	"switchboard/canonical"
	"switchboard/config"
)

// Check runs the vendors' own checks on a configuration that config's Validate passed:
// each dialect's options, each upstream's dialect, URL and credentials (building its
// adapter, as serving does) and the authentication of its receipts, and the dialects routes
// match. `switchboard check` and New
// both call it, so check rejects exactly what serve would. The error is config.Problems.
func Check(cfg *config.Config) error {
	return checkVendors(cfg, registry.Vendors())
}

func checkVendors(cfg *config.Config, vendors []adapters.Vendor) error {
	var probs config.Problems
	add := func(path string, e *canonical.Error) {
		if e.Field != "" {
			path += "." + e.Field
		}
		probs = append(probs, cfg.Problem(path, "%s", e.Reason))
	}
	opts := dialectOptions(cfg)
	for _, v := range vendors {
		for _, e := range adapters.CheckOptions(opts[v.Name]) {
			add(v.Name, e)
		}
	}
	var upstream, ingress []string
	for _, v := range vendors {
		if v.NewOutbound != nil || v.NewLocal != nil {
			upstream = append(upstream, v.Name)
		}
		if v.Ingress {
			ingress = append(ingress, v.Name)
		}
	}
	for i, u := range cfg.Upstreams {
		p := "upstreams[" + strconv.Itoa(i) + "]"
		v, ok := adapters.Lookup(vendors, u.Dialect)
		if !ok || (v.NewOutbound == nil && v.NewLocal == nil) {
			probs = append(probs, oneOf(cfg, p+".dialect", u.Dialect, upstream))
			continue
		}
		if u.Replies != nil && v.NewLocal != nil {
			probs = append(probs, cfg.Problem(p+".replies", "a %s upstream delivers in-process: no reply ever comes from it", u.Dialect))
		}
		if !v.NoURL && !checkURL(cfg, &probs, p+".url", u.URL) {
			continue
		}
		for _, e := range v.CheckUpstream(adapters.UpstreamConfig{Name: u.Name, URL: u.URL, Credentials: u.Credentials}) {
			add(p, e)
		}
		checkReceipts(cfg, &probs, p, &cfg.Upstreams[i], v)
	}
	for i, r := range cfg.Routes {
		for j, d := range r.Match.Dialects {
			if v, ok := adapters.Lookup(vendors, d); !ok || !v.Ingress {
				probs = append(probs, oneOf(cfg, "routes["+strconv.Itoa(i)+"].match.dialects["+strconv.Itoa(j)+"]", d, ingress))
			}
		}
	}
	for i, t := range cfg.Tenants {
		if d := t.Replies.Dialect; d != "" {
			if v, ok := adapters.Lookup(vendors, d); !ok || !v.Ingress {
				probs = append(probs, oneOf(cfg, "tenants["+strconv.Itoa(i)+"].replies.dialect", d, ingress))
			}
		}
	}
	return probs.Err()
}

func oneOf(cfg *config.Config, path, v string, allowed []string) config.Problem {
	if v == "" {
		return cfg.Problem(path, "is required (one of %s)", strings.Join(allowed, ", "))
	}
	return cfg.Problem(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// checkURL reports a missing or non-http(s) upstream URL.
func checkURL(cfg *config.Config, probs *config.Problems, path, v string) bool {
	if v == "" {
		*probs = append(*probs, cfg.Problem(path, "is required"))
		return false
	}
	if !config.IsHTTPURL(v) {
		*probs = append(*probs, cfg.Problem(path, "%q is not an http(s) URL", v))
		return false
	}
	return true
}

// dialectOptions translates config's dialect sections into each dialect's options, keyed
// by dialect name; a dialect without options has no entry.
func dialectOptions(cfg *config.Config) map[string]adapters.Options {
	return map[string]adapters.Options{
		messageflow.Dialect: messageflow.Options{DefaultCountryCode: cfg.MessageFlow.DefaultCountryCode},
		multiwhats.Dialect:  multiwhats.Options{Reply: cfg.MultiWhats.Reply},
		wavy.Dialect:        wavy.Options{SingleReply: cfg.Wavy.SingleReply},
		flowbot.Dialect:     flowbotOptions(cfg),
	}
}
