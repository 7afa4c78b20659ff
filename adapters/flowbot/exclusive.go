package flowbot

import "switchboard/canonical"

// exclusiveGroup refuses a bulk-send naming both a template and a template group: the
// document's body is "{ templateId? OR templateGroupId, ... }", one or the other, and
// Switchboard will not guess which the client meant. templateName names a template as
// templateId does.
func exclusiveGroup(t *canonical.Template) error {
	if t.GroupID == "" {
		return nil
	}
	switch {
	case t.ID != "":
		return canonical.Invalid("templateGroupId", "cannot be combined with templateId: give one of them")
	case t.Name != "":
		return canonical.Invalid("templateGroupId", "cannot be combined with templateName: give one of them")
	}
	return nil
}
