// Package badgerfs is what the queue knows of Badger's files beyond Badger's API: their names,
// how Badger writes them (through shared mmaps) and when it moves on to the next one. It syncs
// Badger's logs in place of db.Sync (syncer.go), on Linux turns the kernel's readahead off on
// their mappings (advise_linux.go), keeps a file value-log GC rewrote until the caller has
// synced the moves (hold.go), and reads value-log files and keeps their numbers from reuse
// for the queue's repair after a power cut in the middle of a GC (vlogread.go).
//
// Everything here rests on Badger's unexported behaviour as of CheckedVersion;
// TestBadgerVersion fails when the Badger the project builds with is another, so that the
// reasoning is checked again (file names, mmap writes, when files are removed) before the
// version moves.
package badgerfs

// CheckedVersion is the Badger release whose sources this package's reasoning was checked
// against.
const CheckedVersion = "v4.9.6"

// Badger v4's log files: value logs "%06d.vlog", memtable WALs "%05d.mem", numbered up by one.
const (
	vlogExt    = ".vlog"
	vlogFormat = "%06d.vlog"
	walExt     = ".mem"
	walFormat  = "%05d.mem"
)

// Log is one of the two logs Badger appends to.
type Log int

const (
	// ValueLog is the value log, which holds message bodies and finished records.
	ValueLog Log = iota
	// WAL is the memtable's write-ahead log, which holds keys and small values.
	WAL
)
