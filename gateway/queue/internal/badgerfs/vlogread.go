package badgerfs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ValueLogEntry is one entry of a value-log file, as Badger wrote it.
type ValueLogEntry struct {
	Key       []byte // the user key, without Badger's version suffix
	Version   uint64 // the version (commit timestamp) Badger gave the entry, as badger.Item.Version() reports it
	UserMeta  byte
	ExpiresAt uint64 // Unix seconds, 0 for none
	Value     []byte
}

// Badger's value-log format, as logFile.bootstrap and logFile.encodeEntry write it and
// logFile.iterate and safeRead.Entry read it (memtable.go, value.go, structs.go):
//
//	file:  keyID (8 bytes big-endian, 0 when not encrypted) | baseIV (12 bytes) | entry...
//	entry: meta | userMeta | uvarint klen | uvarint vlen | uvarint expiresAt | key | value | crc
//
// The key ends in y.KeyWithTs's suffix, MaxUint64-version big-endian; crc is the CRC-32
// Castagnoli (y.CastagnoliCrcTable) of all before it in the entry, big-endian.
const (
	vlogFileHeaderSize          = 20      // vlogHeaderSize
	vlogMaxEntryHeaderSize      = 22      // maxHeaderSize
	vlogMaxKeySize              = 1 << 16 // safeRead.Entry takes a longer one for a torn entry
	vlogTsSize                  = 8
	vlogBitDelete          byte = 1 << 0
)

var (
	vlogCRCTable = crc32.MakeTable(crc32.Castagnoli)
	// Keys with this prefix are Badger's own (txn.modify refuses them from users). The one
	// that can reach the value log is the "!badger!txn" marker ending a transaction:
	// valueLog.write clears bitTxn and bitFinTxn from the entries it writes, but with a
	// value threshold of 0 the marker is not inline and is written like a user's entry.
	vlogBadgerPrefix = []byte("!badger!")
)

// ScanValueLogs calls fn with every entry of every value-log file (*.vlog) in dir whose checksum
// holds, file by file in file-number order, each file from its start to its first entry that does not check
// (as Badger reads its last file at open). Key and Value are only valid during the call. fn's error stops the scan and is returned.
//
// Badger's own entries and deletions (which carry no value) are not passed to fn. A file
// shorter than its header has no entries; an encrypted file is an error.
func ScanValueLogs(dir string, fn func(e ValueLogEntry) error) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var fids []uint64
	for _, de := range des {
		name, ok := strings.CutSuffix(de.Name(), vlogExt)
		if !ok {
			continue
		}
		fid, err := strconv.ParseUint(name, 10, 32)
		if err != nil { // Badger does not open with such a file either (populateFilesMap)
			return fmt.Errorf("value log %s: not a file number", filepath.Join(dir, de.Name()))
		}
		fids = append(fids, fid)
	}
	slices.Sort(fids)
	for _, fid := range fids {
		if err := scanValueLog(filepath.Join(dir, fmt.Sprintf(vlogFormat, fid)), fn); err != nil {
			return err
		}
	}
	return nil
}

func scanValueLog(path string, fn func(e ValueLogEntry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	left := st.Size() - vlogFileHeaderSize // bytes after r's position
	r := bufio.NewReaderSize(f, 64<<10)
	var fh [vlogFileHeaderSize]byte
	if _, err := io.ReadFull(r, fh[:]); err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	} else if err != nil {
		return err
	}
	if keyID := binary.BigEndian.Uint64(fh[:8]); keyID != 0 {
		return fmt.Errorf("value log %s is encrypted (data key %d)", path, keyID)
	}
	var kv []byte
	for {
		buf, err := r.Peek(vlogMaxEntryHeaderSize) // short only at the end of the file
		if err != nil && err != io.EOF {
			return err
		}
		h, ok := decodeVlogHeader(buf)
		// A zero-filled tail (Badger maps files past what it wrote) stops here, or at the
		// checksum, as a torn entry does. Checking the length against the file's also keeps a
		// torn length from allocating gigabytes.
		size := int64(h.len) + int64(h.klen) + int64(h.vlen) + crc32.Size
		if !ok || h.klen < vlogTsSize || h.klen > vlogMaxKeySize || size > left {
			return nil
		}
		crc := crc32.Checksum(buf[:h.len], vlogCRCTable) // before Discard reuses buf
		if _, err := r.Discard(h.len); err != nil {
			return err
		}
		n := h.klen + h.vlen
		kv = slices.Grow(kv[:0], n+crc32.Size)[:n+crc32.Size]
		if _, err := io.ReadFull(r, kv); err != nil {
			return err // the file holds the entry: this is a read error
		}
		left -= size
		if crc32.Update(crc, vlogCRCTable, kv[:n]) != binary.BigEndian.Uint32(kv[n:]) {
			return nil
		}
		key := kv[:h.klen]
		if h.meta&vlogBitDelete != 0 || bytes.HasPrefix(key, vlogBadgerPrefix) {
			continue
		}
		err = fn(ValueLogEntry{
			Key:       key[:h.klen-vlogTsSize],
			Version:   math.MaxUint64 - binary.BigEndian.Uint64(key[h.klen-vlogTsSize:]), // y.ParseTs
			UserMeta:  h.userMeta,
			ExpiresAt: h.expiresAt,
			Value:     kv[h.klen:n],
		})
		if err != nil {
			return err
		}
	}
}

// vlogHeader is Badger's entry header (structs.go header) and its encoded length.
type vlogHeader struct {
	meta, userMeta byte
	klen, vlen     int
	expiresAt      uint64
	len            int
}

// decodeVlogHeader decodes what header.Encode wrote at the start of buf; ok is false when buf
// does not start with a whole header.
func decodeVlogHeader(buf []byte) (h vlogHeader, ok bool) {
	if len(buf) < 2 {
		return h, false
	}
	h.meta, h.userMeta, h.len = buf[0], buf[1], 2
	var v [3]uint64 // klen, vlen, expiresAt
	for i := range v {
		x, n := binary.Uvarint(buf[h.len:])
		if n <= 0 {
			return h, false
		}
		v[i], h.len = x, h.len+n
	}
	if v[0] > math.MaxUint32 || v[1] > math.MaxUint32 {
		return h, false
	}
	h.klen, h.vlen, h.expiresAt = int(v[0]), int(v[1]), v[2]
	return h, true
}

// ReserveValueLogNumbers puts an empty value-log file n numbers above the highest in dir, so
// that Badger, which opens a new file above the highest it finds, gives none of the numbers
// between to a new file. After a power cut, a file Badger had created may be gone while
// pointers into it survived (in its WAL or a table); were its number given again, those
// pointers would read the new file's entries, which check. The empty file is what Badger
// writes when it creates one (an unencrypted header), and Badger removes it at a later open,
// once it is not the highest.
func ReserveValueLogNumbers(dir string, n int) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	top := 0
	for _, de := range des {
		if num, ok := strings.CutSuffix(de.Name(), vlogExt); ok {
			if i, err := strconv.Atoi(num); err == nil {
				top = max(top, i)
			}
		}
	}
	path := filepath.Join(dir, fmt.Sprintf(vlogFormat, top+n))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, vlogFileHeaderSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsyncFile(dir)
	}
	return err
}
