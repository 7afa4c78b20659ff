package adapters

// Decode fills v, a pointer to a struct whose fields carry yaml tags and already hold their
// defaults, from a dialect's section of the config file, as config decodes its own keys:
// ${VAR} expanded, every unknown key and bad value an error naming it. It fills nothing
// when the file has no such section.
type Decode func(v any) error

// TenantCredentials are one tenant's credentials in a dialect: the tenants[].<dialect>
// section of the config file, decoded by the vendor's Tenant.
type TenantCredentials interface {
	// Validate reports every bad key, each a *canonical.Error whose Field is the key within
	// the tenant's section (errors.Join for several).
	Validate() error
	// Credential is what a request in the dialect presents to be this tenant, as the
	// dialect's Credential and Decode read it from a request; false for a dialect that
	// checks its credentials itself (a Guard).
	Credential() (Credential, bool)
	// Unique are the values that must each identify one tenant in the dialect.
	Unique() []Unique
	// Fill adds the tenant's identity in the dialect to its account.
	Fill(a *Account)
}

// Unique is a value that no two tenants may share: Kind names what it is (two values of the
// same kind and dialect clash), Field is its key within the tenant's section.
type Unique struct {
	Kind, Field, Value string
}

// TenantEntry is a tenant with credentials in a dialect, as its options see it.
type TenantEntry struct {
	// Account is the tenant's, every dialect's part filled.
	Account     Account
	Credentials TenantCredentials
}

// TenantOf adapts a dialect's tenant type to Vendor.Tenant: decode fills a new T.
func TenantOf[T any, P interface {
	*T
	TenantCredentials
}]() func(Decode) (TenantCredentials, error) {
	return func(decode Decode) (TenantCredentials, error) {
		p := P(new(T))
		if err := decode(p); err != nil {
			return nil, err
		}
		return p, nil
	}
}

// OptionsOf adapts a dialect's options type to Vendor.Options for a dialect whose options
// are its section alone: decode fills a copy of defaults.
func OptionsOf[O Options](defaults O) func(Decode, []TenantEntry) (Options, error) {
	return func(decode Decode, _ []TenantEntry) (Options, error) {
		o := defaults
		if err := decode(&o); err != nil {
			return nil, err
		}
		return o, nil
	}
}
