package config

// Tenant returns the tenant with that id, or nil.
func (c *Config) Tenant(id string) *Tenant {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i]
		}
	}
	return nil
}
