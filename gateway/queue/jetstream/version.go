package jetstream

import (
	"fmt"
	"strconv"
	"strings"
)

// minServerVersion is the oldest nats-server the queue runs on: the work stream uses
// JetStream's message scheduler (AllowMsgSchedules, nats-server 2.12) and the state bucket
// per-message TTLs (LimitMarkerTTL, 2.11). An older server fails the setup with errors that
// do not say so ("limit marker TTLs not supported by server"), so Open checks first.
const minServerVersion = "2.12.0"

// checkServerVersion fails, naming the minimum, when version (as the server reports it in
// its INFO) is older than minServerVersion. A version it cannot read passes: the setup then
// says what is missing, with the minimum named there too.
func checkServerVersion(version string) error {
	have, ok := parseVersion(version)
	if !ok {
		return nil
	}
	need, _ := parseVersion(minServerVersion)
	for i := range have {
		if have[i] != need[i] {
			if have[i] < need[i] {
				return fmt.Errorf("nats-server %s is too old: the queue needs nats-server %s or later (JetStream message schedules and per-message TTLs)",
					version, minServerVersion)
			}
			return nil
		}
	}
	return nil
}

// parseVersion reads major.minor.patch, ignoring a leading v and anything after the patch
// number (-beta.1, +build).
func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) != 3 {
		return out, false
	}
	if i := strings.IndexFunc(parts[2], func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		parts[2] = parts[2][:i]
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	return out, true
}
