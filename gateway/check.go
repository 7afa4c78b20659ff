package gateway

import (
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/adapters/registry"
	"switchboard/config"
)

// Check runs the vendors' own checks on a configuration that config's Validate passed:
// each dialect's options, each upstream's dialect, URL and credentials (building its
// adapter, as serving does) and the authentication of its receipts, and the dialects routes
// match. `switchboard check` and New
// both call it, so check rejects exactly what serve would. The error is config.Problems.
func Check(cfg *config.Config) error {
	_, err := checkVendors(cfg, registry.Vendors())
	return err
}

// checkVendors is Check with the vendor table given; it also returns the dialect sections
// as the vendors decoded them, for serving.
func checkVendors(cfg *config.Config, vendors []adapters.Vendor) (*dialects, error) {
	d, probs := readDialects(cfg, vendors)
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
			probs = append(probs, fieldProblem(cfg, p, e))
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
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return d, nil
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
