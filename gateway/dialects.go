package gateway

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"switchboard/adapters"
	"switchboard/canonical"
	"switchboard/config"
)

// dialects are the config file's dialect sections as their vendors decoded them: each
// dialect's options and each tenant's credentials, in the order of cfg.Tenants.
type dialects struct {
	options map[string]adapters.Options
	tenants []tenantDialects
}

// tenantDialects are one tenant's account and its credentials, by dialect.
type tenantDialects struct {
	account adapters.Account
	creds   map[string]adapters.TenantCredentials
}

// readDialects hands every dialect section of cfg to its vendor of the table: the tenants'
// credentials (tenants[].<dialect>) to Tenant, then each dialect's own section with the
// tenants that speak it to Options. A section no vendor owns is an unknown key; a tenant
// without credentials, a value two tenants share where it must name one, and whatever a
// vendor's decoding and Validate find are problems, each at its path and line.
func readDialects(cfg *config.Config, vendors []adapters.Vendor) (*dialects, config.Problems) {
	var probs config.Problems
	d := &dialects{options: map[string]adapters.Options{}, tenants: make([]tenantDialects, len(cfg.Tenants))}
	var speakers, optioned []string
	for _, v := range vendors {
		if v.Tenant != nil {
			speakers = append(speakers, v.Name)
		}
		if v.Options != nil {
			optioned = append(optioned, v.Name)
		}
	}
	seen := map[string]string{} // dialect, kind and value -> path of the first holder
	for i := range cfg.Tenants {
		tc := &cfg.Tenants[i]
		p := "tenants[" + strconv.Itoa(i) + "]"
		td := tenantDialects{account: adapters.Account{Tenant: tc.ID, CountryCode: tc.DefaultCountryCode}, creds: map[string]adapters.TenantCredentials{}}
		if len(tc.Dialects) == 0 {
			probs = append(probs, cfg.Problem(p, "has no credentials: give at least one of %s", strings.Join(speakers, ", ")))
		}
		for _, name := range slices.Sorted(maps.Keys(tc.Dialects)) {
			sec := tc.Dialects[name]
			v, ok := adapters.Lookup(vendors, name)
			if !ok || v.Tenant == nil {
				probs = append(probs, sec.Unknown(cfg, speakers))
				continue
			}
			creds, err := v.Tenant(decodeOf(sec))
			if err != nil {
				probs = append(probs, placed(cfg, sec.Path(), err)...)
				continue
			}
			for _, u := range creds.Unique() {
				if u.Value == "" {
					continue
				}
				key := name + "\x00" + u.Kind + "\x00" + u.Value
				if first, dup := seen[key]; dup {
					// The value may be a secret, so only its holder is named.
					probs = append(probs, cfg.Problem(sec.Path()+"."+u.Field, "is already used by %s: each credential must identify one tenant", first))
					continue
				}
				seen[key] = sec.Path() + "." + u.Field
			}
			if err := creds.Validate(); err != nil {
				probs = append(probs, placed(cfg, sec.Path(), err)...)
				continue
			}
			creds.Fill(&td.account)
			td.creds[name] = creds
		}
		d.tenants[i] = td
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Dialects)) {
		if v, ok := adapters.Lookup(vendors, name); !ok || v.Options == nil {
			probs = append(probs, cfg.Dialects[name].Unknown(cfg, optioned))
		}
	}
	for _, v := range vendors {
		if v.Options == nil {
			continue
		}
		var entries []adapters.TenantEntry
		for _, td := range d.tenants {
			if c, ok := td.creds[v.Name]; ok {
				entries = append(entries, adapters.TenantEntry{Account: td.account, Credentials: c})
			}
		}
		decode := func(any) error { return nil }
		if sec, ok := cfg.Dialects[v.Name]; ok {
			decode = decodeOf(sec)
		}
		opts, err := v.Options(decode, entries)
		if err == nil {
			err = opts.Validate()
		}
		if err != nil {
			probs = append(probs, placed(cfg, v.Name, err)...)
			continue
		}
		d.options[v.Name] = opts
	}
	return d, probs
}

// decodeOf is a section's Decode as vendors take it.
func decodeOf(sec config.Section) adapters.Decode {
	return func(v any) error {
		if probs := sec.Decode(v); len(probs) > 0 {
			return probs
		}
		return nil
	}
}

// placed turns what a vendor reported of the section at path into problems: config's own
// (from decoding) as they are, the vendor's field errors at the field's path and line.
func placed(cfg *config.Config, path string, err error) config.Problems {
	var probs config.Problems
	if errors.As(err, &probs) {
		return probs
	}
	for _, e := range adapters.FieldErrors(err) {
		probs = append(probs, fieldProblem(cfg, path, e))
	}
	return probs
}

// fieldProblem places a vendor's error about the section at path: at its field, if it names one.
func fieldProblem(cfg *config.Config, path string, e *canonical.Error) config.Problem {
	if e.Field != "" {
		path += "." + e.Field
	}
	return cfg.Problem(path, "%s", e.Reason)
}
