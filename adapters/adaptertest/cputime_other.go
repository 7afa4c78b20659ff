//go:build !unix

package adaptertest

import "time"

// cpuTime is 0 where the process's CPU time is not read: CompareJSON then reports none.
func cpuTime() time.Duration { return 0 }
