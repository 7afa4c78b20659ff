//go:build linux

package badgerfs

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"
)

// Badger appends to its value log and memtable WALs through shared mappings of sparse files.
// Left alone, the kernel's readahead on those page faults fills the page cache ahead of the
// writer with large folios (up to 2 MB), and writeback goes by folio: every sync rewrote the
// whole folio holding the log's tail, 1.7 MB on average for a few KB committed (35 KB of disk
// writes per message). MADV_RANDOM on a log's mapping turns that readahead off, so the pages
// the writer faults in are single pages (1.7 KB per message). It is only a hint, which changes
// no data: advising a range that Badger has unmapped meanwhile, and that another mapping has
// taken, costs that mapping its readahead at most.
//
// Pages Badger has written stay mapped, and count in the process's RssFile until the kernel
// reclaims them: they are page cache, which the kernel reclaims under pressure, and the
// gateway's memory goal counts its anonymous memory (RssAnon). The queue does not unmap them
// (MADV_DONTNEED): advising a range Badger had unmapped meanwhile and the Go heap had taken
// would zero live memory.

// AdviseRandom turns readahead off on the mappings of f, a log file Badger has mapped.
func AdviseRandom(f *os.File) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	return madviseMappings(syscall.MADV_RANDOM, fileID(&st))
}

// fileID names a file as /proc/self/maps does: its device (major:minor, in hex) and inode.
func fileID(st *syscall.Stat_t) string {
	major := st.Dev>>8&0xfff | st.Dev>>32&^0xfff
	minor := st.Dev&0xff | st.Dev>>12&^0xff
	return fmt.Sprintf("%02x:%02x %d", major, minor, st.Ino)
}

// madviseMappings applies advice to this process's shared mappings of the file named file
// (a fileID). Private mappings are left alone: no advice of ours is meant for them.
func madviseMappings(advice int, file string) error {
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return err
	}
	defer maps.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		f := bytes.Fields(sc.Bytes())
		if len(f) < 6 || len(f[1]) != 4 || f[1][3] != 's' || string(f[3])+" "+string(f[4]) != file {
			continue
		}
		start, end, _ := bytes.Cut(f[0], []byte{'-'})
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 != nil || err2 != nil || hi <= lo || hi-lo > math.MaxInt {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), uintptr(advice)); errno != 0 {
			return errno
		}
	}
	return sc.Err()
}
