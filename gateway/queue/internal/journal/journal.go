// Package journal is the queue's redo log: with durability "always" every write the queue
// makes to Badger is first appended here and made durable with one fdatasync, and only then
// handed to Badger, which no longer syncs anything itself. A group commit so costs one device
// flush instead of Badger's two (value log, then memtable WAL). After a crash or a power cut
// the queue replays the journal into Badger: every write since Badger's files were last
// synced is in it, so what Badger's unsynced files lost, or hold half-written, is written
// again. Once the queue has synced Badger past a segment, the segment is released.
//
// A journal is a directory of segments, files named by a number that grows by one. A segment
// holds records back to back; a record is a 16-byte header (payload length, CRC-32C of the
// segment number, the sequence number and the payload, sequence number) and the payload. The
// sequence numbers grow by one across segments. A segment is written from its start and never
// appended to after a restart: the first record that does not check (a torn write, zeros, or a
// record of the segment's earlier life, see below) ends it.
//
// Released segments are recycled: the next segment reuses the file, whose blocks are
// allocated and written already, so that writing into it changes no metadata and fdatasync
// flushes only the data (on ext4 about half the cost of a sync that grows the file). A
// recycled file's old records carry its old number in their CRC and never check: a segment
// number is never given twice, since the spare keeps its number in its name ("spare.N") and
// the next segment takes one above every number on disk.
//
// The journal must never be read for anything but replay, and never holds anything that was
// not written through the queue's own committer.
package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// HeaderSize is the bytes a record's header takes. Callers build a record in a buffer whose
// first HeaderSize bytes are left for it (see Write).
const HeaderSize = 16

const (
	segExt      = ".seg"
	sparePrefix = "spare."      // "spare.N": segment N released and kept for reuse (N 0: zeros)
	fillTmp     = "filling.tmp" // a spare being zero-filled
	fileMode    = 0o600
	dirMode     = 0o700
	// fillAfter is how much a segment holds when the writer starts zero-filling a spare, if
	// there is none: a journal that has taken a megabyte is in use, and its next segment
	// should be as fast to sync as a recycled one. (Half a segment, for a smaller one.)
	fillAfter = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Journal is one directory of segments. Write and Sync are called by one goroutine at a time
// (the queue's writer); Release by another (its checkpointer).
type Journal struct {
	dir     string
	segSize int64
	room    func(n int64) bool
	log     *slog.Logger

	// The writer's state.
	f       *os.File
	cur     uint64 // the current segment's number (0: none open); written under mu
	off     int64
	seq     uint64 // the last record's sequence number
	synced  uint64 // the last record's sequence number at the last Sync
	err     error  // a write or sync failed: every later one fails too (see fail)
	rotated chan struct{}

	mu       sync.Mutex
	segs     []uint64 // segments on disk, oldest first, cur included once open
	top      uint64   // the highest segment number on disk, a spare's included
	spare    bool     // a spare exists, ready for reuse
	spareNum uint64   // its number
	filling  bool     // a spare is being zero-filled
	replayed bool
	wg       sync.WaitGroup
}

// Open opens the journal in dir, creating it if missing. Replay must be called before Write.
// segSize is the size at which the writer moves on to a new segment. room, when not nil,
// says whether n more bytes of disk may be taken for a spare.
func Open(dir string, segSize int64, room func(n int64) bool, log *slog.Logger) (*Journal, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("cannot open journal: %w", err)
	}
	j := &Journal{dir: dir, segSize: segSize, room: room, log: log, rotated: make(chan struct{}, 1)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open journal: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == fillTmp:
			os.Remove(filepath.Join(dir, name))
		case strings.HasPrefix(name, sparePrefix):
			n, err := strconv.ParseUint(strings.TrimPrefix(name, sparePrefix), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("cannot open journal: unexpected file %s", name)
			}
			if j.spare { // two spares (a cut between renames): keep one
				os.Remove(j.sparePath(min(n, j.spareNum)))
			}
			j.spare, j.spareNum = true, max(n, j.spareNum)
			j.top = max(j.top, n)
		case strings.HasSuffix(name, segExt):
			n, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
			if err != nil || n == 0 {
				return nil, fmt.Errorf("cannot open journal: unexpected file %s", name)
			}
			j.segs = append(j.segs, n)
			j.top = max(j.top, n)
		}
	}
	slices.Sort(j.segs)
	return j, nil
}

func (j *Journal) sparePath(n uint64) string {
	return filepath.Join(j.dir, sparePrefix+strconv.FormatUint(n, 10))
}

func (j *Journal) path(n uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d%s", n, segExt))
}

// Replay calls apply with the payload of every record on disk, in order, and returns how many
// there were. A record that does not check ends its segment; a gap in the sequence numbers
// between segments is corruption and fails. The payload is only valid during the call.
func (j *Journal) Replay(apply func(payload []byte) error) (int, error) {
	var n int
	var prev uint64 // the last record's sequence number, 0 before the first
	var buf []byte
	for _, seg := range j.segs {
		f, err := os.Open(j.path(seg))
		if err != nil {
			return n, fmt.Errorf("cannot replay journal: %w", err)
		}
		first := true
		var hdr [HeaderSize]byte
		for {
			if _, err := io.ReadFull(f, hdr[:]); err != nil {
				break // the end of the file, or a torn header
			}
			size := binary.LittleEndian.Uint32(hdr[0:])
			sum := binary.LittleEndian.Uint32(hdr[4:])
			seq := binary.LittleEndian.Uint64(hdr[8:])
			if size == 0 || int64(size) > max(j.segSize, 1<<30) {
				break
			}
			buf = slices.Grow(buf[:0], int(size))[:size]
			if _, err := io.ReadFull(f, buf); err != nil {
				break
			}
			if checksum(seg, hdr[8:], buf) != sum {
				break
			}
			if prev != 0 && seq != prev+1 {
				if first {
					f.Close()
					return n, fmt.Errorf("cannot replay journal: segment %d starts at record %d, want %d", seg, seq, prev+1)
				}
				break // a record of the file's earlier life cannot check; this is not one
			}
			first = false
			if err := apply(buf); err != nil {
				f.Close()
				return n, err
			}
			prev = seq
			n++
		}
		f.Close()
	}
	j.seq = prev
	j.replayed = true
	return n, nil
}

// Segment returns the number of the segment being written (0 before the first Write).
// Every record in an older segment was written before the last record of this one.
func (j *Journal) Segment() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cur
}

// Rotated receives after Write moved to a new segment: the queue then syncs Badger and
// releases the segments before it.
func (j *Journal) Rotated() <-chan struct{} { return j.rotated }

// Write appends rec as one record; rec's first HeaderSize bytes are the journal's to fill.
// The record is durable once Sync returns. After a failed sync (here or in Sync) the journal
// is unusable: the kernel may have dropped the pages it could not write, and which records
// are on disk is no longer known.
func (j *Journal) Write(rec []byte) error {
	if j.err != nil {
		return j.err
	}
	if !j.replayed {
		return errors.New("journal: write before replay")
	}
	if len(rec) <= HeaderSize || len(rec)-HeaderSize > 1<<30 {
		return fmt.Errorf("journal: record of %d bytes", len(rec))
	}
	if j.f == nil || (j.off > 0 && j.off+int64(len(rec)) > j.segSize) {
		if err := j.next(); err != nil {
			return err
		}
	}
	seq := j.seq + 1
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(rec)-HeaderSize))
	binary.LittleEndian.PutUint64(rec[8:], seq)
	binary.LittleEndian.PutUint32(rec[4:], checksum(j.cur, rec[8:16], rec[HeaderSize:]))
	if _, err := j.f.WriteAt(rec, j.off); err != nil {
		// Not fatal (a full disk): the next record is written at the same offset, over
		// whatever part of this one reached the file.
		return fmt.Errorf("cannot write journal: %w", err)
	}
	j.off += int64(len(rec))
	j.seq = seq
	if j.off > min(j.segSize/2, fillAfter) {
		j.fillSpare()
	}
	return nil
}

// Sync makes every record written durable.
func (j *Journal) Sync() error {
	if j.err != nil {
		return j.err
	}
	if j.f == nil {
		return nil
	}
	if err := datasync(j.f); err != nil {
		return j.fail(err)
	}
	j.synced = j.seq
	return nil
}

// Written returns the sequence numbers of the last record written and of the last one
// synced (for tests: every record is synced before Badger sees it).
func (j *Journal) Written() (written, synced uint64) { return j.seq, j.synced }

func (j *Journal) fail(err error) error {
	j.err = fmt.Errorf("journal failed, the queue needs a restart: %w", err)
	return j.err
}

// next moves to a new segment, numbered above every number on disk: the spare if there is
// one, else a new file. Records the last segment holds unsynced are synced first. The
// directory is synced, so that the new name (and a spare's old one gone) survives a power cut
// before any record in it is acknowledged.
func (j *Journal) next() error {
	if j.f != nil && j.synced < j.seq {
		if err := datasync(j.f); err != nil {
			return j.fail(err)
		}
		j.synced = j.seq
	}
	j.mu.Lock()
	n := j.top + 1
	useSpare, spareNum := j.spare, j.spareNum
	j.mu.Unlock()
	var f *os.File
	var err error
	if useSpare {
		if err = os.Rename(j.sparePath(spareNum), j.path(n)); err == nil {
			f, err = os.OpenFile(j.path(n), os.O_RDWR, fileMode)
		}
	} else {
		f, err = os.OpenFile(j.path(n), os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	}
	if err != nil {
		return err
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return j.fail(err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.mu.Lock()
	if useSpare {
		j.spare = false
	}
	j.segs = append(j.segs, n)
	j.top = n
	rotated := j.cur != 0
	j.f, j.cur, j.off = f, n, 0
	j.mu.Unlock()
	if rotated {
		select {
		case j.rotated <- struct{}{}:
		default:
		}
	}
	return nil
}

// fillSpare starts zero-filling a spare in the background when there is none and the disk
// has room for it, so that the next segment, too, is written over allocated blocks.
func (j *Journal) fillSpare() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.spare || j.filling || (j.room != nil && !j.room(j.segSize)) {
		return
	}
	j.filling = true
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		err := zeroFill(filepath.Join(j.dir, fillTmp), j.segSize)
		if err == nil {
			err = os.Rename(filepath.Join(j.dir, fillTmp), j.sparePath(0))
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		j.filling = false
		if err != nil {
			os.Remove(filepath.Join(j.dir, fillTmp))
			j.log.Warn("cannot prepare a journal segment", "err", err)
			return
		}
		j.spare, j.spareNum = true, 0
	}()
}

func zeroFill(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < size && err == nil; off += int64(len(zeros)) {
		_, err = f.WriteAt(zeros[:min(int64(len(zeros)), size-off)], off)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Release gives up the segments older than seg, whose records the queue has made durable in
// Badger, oldest first: one becomes the spare if there is none, the others are removed. The
// directory is synced after each, so that the segments on disk stay a run without a gap: a
// segment older than one removed never comes back (its writes would be replayed over the
// later ones that the removed segment held).
func (j *Journal) Release(seg uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for len(j.segs) > 0 && j.segs[0] < seg {
		n := j.segs[0]
		var err error
		if !j.spare && !j.filling {
			if err = os.Rename(j.path(n), j.sparePath(n)); err == nil {
				j.spare, j.spareNum = true, n
			}
		} else if err = os.Remove(j.path(n)); os.IsNotExist(err) {
			err = nil
		}
		if err == nil {
			err = syncDir(j.dir)
		}
		if err != nil {
			return fmt.Errorf("cannot release journal segment %d: %w", n, err)
		}
		j.segs = j.segs[1:]
	}
	return nil
}

// Close closes the current segment and waits for a spare being filled.
func (j *Journal) Close() error {
	j.wg.Wait()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

func checksum(seg uint64, seq, payload []byte) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seg)
	c := crc32.Update(0, castagnoli, b[:])
	c = crc32.Update(c, castagnoli, seq)
	return crc32.Update(c, castagnoli, payload)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
