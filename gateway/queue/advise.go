package queue

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
)

// Badger reads and writes its logs through shared mmaps, and two habits of the kernel with
// those mappings cost the gateway dearly; the queue advises the kernel on them.
//
// Badger appends to its value log and memtable WALs through mappings of sparse files. Left
// alone, the kernel's readahead on those page faults fills the page cache ahead of the writer
// with large folios (up to 2 MB), and writeback goes by folio: every sync rewrote the whole
// folio holding the log's tail, 1.7 MB on average for a few KB committed (35 KB of disk
// writes per message). MADV_RANDOM on a log's mapping turns that readahead off, so the pages
// the writer faults in are single pages (1.7 KB per message). It is only a hint: advising a
// range Badger has unmapped meanwhile would do no harm.
//
// And every page written stays mapped, so the process's resident memory grew by all that was
// written (the value log by some 300 MB in a 30 s load, the tables by 70 MB). MADV_DONTNEED on
// a shared file mapping only unmaps: the data stays in the page cache (dirty pages are written
// back as usual) and a later read maps it again from there. Every dropInterval the queue drops
// the pages of Badger's tables and of what Badger has written of its value-log files. It must
// never advise an address range Badger has unmapped meanwhile (another mapping may have taken
// it), so it keeps to mappings Badger cannot unmap while it works:
//   - a table is unmapped when it is removed, once no iterator holds it; the queue holds an
//     iterator, which holds every table of the levels when it was made: those listed in the
//     levels both before and after it was made;
//   - a value-log file is unmapped when it is removed, by value-log GC (which runs in the same
//     goroutine) or by the last iterator to close (the queue's is open); otherwise Badger only
//     shrinks the mapping of the file it writes, to what it has written, when it moves on.
//     It would move the mapping to grow it for a write past twice valueLogFileSize, but it
//     moves on to a new file at valueLogFileSize, and no write comes near that: a commit
//     writes at most maxTxnValues of values, the feed consumers' state a few KB (value-log GC
//     may write more, in this goroutine).

// dropInterval is how often dropPages runs.
const dropInterval = time.Second

// seekHole is lseek's SEEK_HOLE: the offset of the first hole, past the data written.
const seekHole = 4

// adviseRandom turns readahead off on the mappings of f (see above). The syncer calls it
// for each log file it opens: Badger has mapped the file by then.
func adviseRandom(f *os.File) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	return madviseMappings(syscall.MADV_RANDOM, func(file string) int64 {
		if file == fileID(&st) {
			return math.MaxInt64
		}
		return 0
	})
}

// dropPages unmaps the pages of Badger's tables, and of its value-log files up to what it
// has written; see above.
func (q *Badger) dropPages() {
	before := q.tables()
	txn := q.db.NewTransaction(false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{}) // holds the tables, and off the removal of files
	defer it.Close()
	held := q.tables()
	for name := range held {
		held[name] = before[name]
	}
	limits, err := droppable(q.opts.Dir, held)
	if err == nil {
		err = madviseMappings(syscall.MADV_DONTNEED, func(file string) int64 { return limits[file] })
	}
	if err != nil {
		q.log.Warn("cannot release the queue's files from memory", "err", err)
	}
}

// tables returns the file names of the tables in Badger's levels.
func (q *Badger) tables() map[string]bool {
	names := map[string]bool{}
	for _, t := range q.db.Tables() {
		names[table.IDToFilename(t.ID)] = true
	}
	return names
}

// droppable returns, by fileID, how much of each file in dir may be dropped: all of the
// tables held, and of each value-log file what is written less two pages (past the last entry
// may come the zeroed header Badger writes after it, which the shrink leaves out).
func droppable(dir string, held map[string]bool) (map[string]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	limits := map[string]int64{}
	for _, e := range entries {
		name := e.Name()
		vlog := strings.HasSuffix(name, ".vlog")
		if !vlog && !held[name] {
			continue
		}
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var st syscall.Stat_t
		limit := int64(math.MaxInt64)
		err = syscall.Fstat(int(f.Fd()), &st)
		if err == nil && vlog {
			limit, err = f.Seek(0, seekHole)
			limit -= 2 * int64(os.Getpagesize())
		}
		f.Close()
		if err != nil {
			return nil, err
		}
		limits[fileID(&st)] = limit
	}
	return limits, nil
}

// fileID names a file as /proc/self/maps does: its device (major:minor, in hex) and inode.
func fileID(st *syscall.Stat_t) string {
	major := st.Dev>>8&0xfff | st.Dev>>32&^0xfff
	minor := st.Dev&0xff | st.Dev>>12&^0xff
	return fmt.Sprintf("%02x:%02x %d", major, minor, st.Ino)
}

// madviseMappings applies advice to this process's shared file mappings, to the bytes of each
// file before limit(its fileID) (none when it is 0 or less). Private mappings are left alone:
// MADV_DONTNEED would discard their changes.
func madviseMappings(advice int, limit func(file string) int64) error {
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return err
	}
	defer maps.Close()
	page := uint64(os.Getpagesize())
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || len(f[1]) != 4 || f[1][3] != 's' {
			continue
		}
		n := limit(string(f[3]) + " " + string(f[4]))
		start, end, _ := bytes.Cut(f[0], []byte{'-'})
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		off, err3 := strconv.ParseUint(string(f[2]), 16, 64)
		if n <= 0 || err1 != nil || err2 != nil || err3 != nil || uint64(n) <= off {
			continue
		}
		hi = min(hi, lo+(uint64(n)-off)/page*page)
		if hi <= lo {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), uintptr(advice)); errno != 0 {
			return errno
		}
	}
	return sc.Err()
}
