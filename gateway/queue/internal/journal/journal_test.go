package journal

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const small = 4096 // segment size for tests: a few records fill a segment

func open(t *testing.T, dir string, segSize int64) *Journal {
	t.Helper()
	j, err := Open(dir, segSize, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() }) // waits for a spare fill before t.TempDir goes
	return j
}

func replay(t *testing.T, j *Journal) [][]byte {
	t.Helper()
	var got [][]byte
	n, err := j.Replay(func(p []byte) error {
		got = append(got, bytes.Clone(p))
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if n != len(got) {
		t.Fatalf("Replay returned %d, applied %d", n, len(got))
	}
	return got
}

// rec returns a record of size bytes in all, header included, whose payload depends on id.
func rec(id, size int) []byte {
	r := make([]byte, size)
	for i := HeaderSize; i < size; i++ {
		r[i] = byte(id*13 + i)
	}
	return r
}

func payloads(recs ...[]byte) [][]byte {
	var p [][]byte
	for _, r := range recs {
		p = append(p, r[HeaderSize:])
	}
	return p
}

func write(t *testing.T, j *Journal, recs ...[]byte) {
	t.Helper()
	for _, r := range recs {
		if err := j.Write(r); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := j.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func closeJ(t *testing.T, j *Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d: got %d bytes %x..., want %d bytes %x...", i, len(got[i]), got[i][:min(8, len(got[i]))], len(want[i]), want[i][:min(8, len(want[i]))])
		}
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segExt) {
			segs = append(segs, e.Name())
		}
	}
	return segs
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 64<<10)
	if got := replay(t, j); len(got) != 0 {
		t.Fatalf("empty journal replayed %d records", len(got))
	}
	recs := [][]byte{rec(1, HeaderSize+1), rec(2, 100), rec(3, 5000), rec(4, HeaderSize+7), rec(5, 300)}
	write(t, j, recs[:2]...)
	write(t, j, recs[2:]...)
	closeJ(t, j)

	same(t, replay(t, open(t, dir, 64<<10)), payloads(recs...))
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	replay(t, j)
	var recs [][]byte
	prev := j.Segment()
	for i := range 9 { // 1016 bytes each: four to a segment
		r := rec(i, 1016)
		recs = append(recs, r)
		write(t, j, r)
		cur := j.Segment()
		var rotated bool
		select {
		case <-j.Rotated():
			rotated = true
		default:
		}
		// Opening the first segment is not a rotation.
		if want := prev != 0 && cur != prev; rotated != want {
			t.Fatalf("record %d: segment %d -> %d, rotated %v", i, prev, cur, rotated)
		}
		if cur < prev || cur > prev+1 {
			t.Fatalf("record %d: segment %d -> %d", i, prev, cur)
		}
		prev = cur
	}
	if prev != 3 {
		t.Fatalf("9 records of a quarter segment ended in segment %d, want 3", prev)
	}
	closeJ(t, j)
	if segs := segFiles(t, dir); len(segs) != 3 {
		t.Fatalf("segments on disk: %v", segs)
	}
	same(t, replay(t, open(t, dir, small)), payloads(recs...))
}

// tornTail writes six records, three to a segment, and returns them with the last segment's path.
func tornTail(t *testing.T, dir string) ([][]byte, string) {
	j := open(t, dir, small)
	replay(t, j)
	var recs [][]byte
	for i := range 6 {
		recs = append(recs, rec(i, 1200))
	}
	write(t, j, recs...)
	if j.Segment() != 2 {
		t.Fatalf("segment %d, want 2", j.Segment())
	}
	closeJ(t, j)
	return recs, j.path(2)
}

func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep int // records that survive
		harm func(path string) error
	}{
		{"truncated payload", 5, func(p string) error { return os.Truncate(p, 3*1200-100) }},
		{"truncated header", 5, func(p string) error { return os.Truncate(p, 2*1200+8) }},
		{"last byte overwritten", 5, func(p string) error { return flip(p, 3*1200-1) }},
		{"crc in the middle", 4, func(p string) error { return flip(p, 1200+4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			recs, last := tornTail(t, dir)
			if err := tc.harm(last); err != nil {
				t.Fatal(err)
			}
			j := open(t, dir, small)
			same(t, replay(t, j), payloads(recs[:tc.keep]...))

			// Writing goes on in a new segment, numbered on from the last record replayed.
			more := rec(9, 500)
			write(t, j, more)
			closeJ(t, j)
			same(t, replay(t, open(t, dir, small)), payloads(append(recs[:tc.keep:tc.keep], more)...))
		})
	}
}

func flip(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		return err
	}
	b[0] ^= 0xff
	_, err = f.WriteAt(b, off)
	return err
}

// recycle leaves dir with segment 2 holding one record and the spare holding segment 1's
// six old records, and returns both. The first run writes segment 1 past its half, so
// that the second run's segment 2 takes the zero-filled spare and Release finds none.
func recycle(t *testing.T, dir string) (j *Journal, old, seg2 [][]byte) {
	j = open(t, dir, small)
	replay(t, j)
	for i := range 6 {
		old = append(old, rec(i, 500))
	}
	write(t, j, old...)
	closeJ(t, j)

	j = open(t, dir, small)
	same(t, replay(t, j), payloads(old...))
	seg2 = [][]byte{rec(10, 1500)}
	write(t, j, seg2...)
	if j.Segment() != 2 || exists(t, spareFile(t, dir)) {
		t.Fatalf("segment %d, the spare not taken", j.Segment())
	}
	if err := j.Release(j.Segment()); err != nil {
		t.Fatal(err)
	}
	if exists(t, j.path(1)) || !exists(t, spareFile(t, dir)) {
		t.Fatalf("released segment 1 did not become the spare: %v", segFiles(t, dir))
	}
	return j, old, seg2
}

func TestReleaseRecycles(t *testing.T) {
	dir := t.TempDir()
	j, old, recs := recycle(t, dir)
	recs = append(recs, rec(11, 500))
	write(t, j, recs[1])
	select {
	case <-j.Rotated():
		t.Fatal("rotated within segment 2")
	default:
	}
	// 2000+2500 bytes do not fit: segment 3 reuses the spare and overwrites the first five
	// old records only.
	recs = append(recs, rec(12, 2500))
	write(t, j, recs[2])
	select {
	case <-j.Rotated():
	default:
		t.Fatal("Rotated did not receive")
	}
	if j.Segment() != 3 {
		t.Fatalf("segment %d, want 3", j.Segment())
	}
	closeJ(t, j) // waits for the spare the 2500 bytes started filling
	data, err := os.ReadFile(j.path(3))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[:2500], recs[2]) || !bytes.Equal(data[2500:3000], old[5]) {
		t.Fatal("segment 3 is not the old segment 1 overwritten in part")
	}
	if segs := segFiles(t, dir); !slices.Equal(segs, []string{filepath.Base(j.path(2)), filepath.Base(j.path(3))}) {
		t.Fatalf("segments on disk: %v", segs)
	}
	same(t, replay(t, open(t, dir, small)), payloads(recs...))
}

// A crash right after next renamed the spare leaves a segment holding only old records: their
// CRC, made with segment 1's number, must not check as segment 3's. (With the records after
// new ones, the sequence numbers would stop replay too; here only the CRC can.)
func TestRecycledSegmentBeforeFirstWrite(t *testing.T) {
	dir := t.TempDir()
	j, _, seg2 := recycle(t, dir)
	closeJ(t, j)
	if err := os.Rename(spareFile(t, dir), j.path(3)); err != nil {
		t.Fatal(err)
	}
	same(t, replay(t, open(t, dir, small)), payloads(seg2...))
}

func TestGapBetweenSegments(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	replay(t, j)
	for i := range 9 {
		write(t, j, rec(i, 1016))
	}
	closeJ(t, j)
	if err := os.Remove(j.path(2)); err != nil {
		t.Fatal(err)
	}
	n, err := open(t, dir, small).Replay(func([]byte) error { return nil })
	if err == nil {
		t.Fatal("Replay over a missing segment succeeded")
	}
	if n != 4 {
		t.Fatalf("Replay applied %d records before the gap, want 4", n)
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	if err := j.Write(rec(1, 100)); err == nil {
		t.Fatal("Write before Replay succeeded")
	}
	if segs := segFiles(t, dir); len(segs) != 0 {
		t.Fatalf("Write before Replay left %v", segs)
	}
	replay(t, j)
	for _, size := range []int{0, 1, HeaderSize - 1, HeaderSize} {
		if err := j.Write(make([]byte, size)); err == nil {
			t.Fatalf("Write of %d bytes succeeded", size)
		}
	}
	// A rejected record leaves the journal usable.
	ok := rec(2, HeaderSize+1)
	write(t, j, ok)
	closeJ(t, j)
	same(t, replay(t, open(t, dir, small)), payloads(ok))
}

func TestReleaseAll(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	replay(t, j)
	for i := range 9 {
		write(t, j, rec(i, 1016))
	}
	closeJ(t, j)
	if segs := segFiles(t, dir); len(segs) != 3 {
		t.Fatalf("segments on disk: %v", segs)
	}
	if err := j.Release(^uint64(0)); err != nil {
		t.Fatal(err)
	}
	if segs := segFiles(t, dir); len(segs) != 0 {
		t.Fatalf("segments left after Release: %v", segs)
	}
	if got := replay(t, open(t, dir, small)); len(got) != 0 {
		t.Fatalf("replayed %d released records", len(got))
	}
}

// The queue's own cycle: a clean stop releases every segment, and the next run writes into
// the spare, which is the old segment 1, and numbers its sequence from 1 again. Were the
// segment numbered 1 again too, the old records (segment 1 in their CRC, sequence numbers
// following on) would replay once the new records end where an old one began.
func TestRestartAfterReleaseAll(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	replay(t, j)
	write(t, j, rec(1, 300), rec(2, 300), rec(3, 300))
	closeJ(t, j)
	if err := j.Release(^uint64(0)); err != nil {
		t.Fatal(err)
	}

	j = open(t, dir, small)
	replay(t, j)
	fresh := rec(4, 300)
	write(t, j, fresh)
	closeJ(t, j)
	same(t, replay(t, open(t, dir, small)), payloads(fresh))
}

func TestSpareFill(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, small)
	replay(t, j)
	write(t, j, rec(1, 1024), rec(2, 1024)) // exactly half a segment
	closeJ(t, j)
	if exists(t, spareFile(t, dir)) {
		t.Fatal("a spare filled before the segment passed its half")
	}

	j = open(t, dir, small)
	replay(t, j)
	write(t, j, rec(3, 2049))
	closeJ(t, j)
	data, err := os.ReadFile(spareFile(t, dir))
	if err != nil {
		t.Fatalf("no spare after passing half a segment: %v", err)
	}
	if len(data) != small || bytes.Count(data, []byte{0}) != small {
		t.Fatalf("spare of %d bytes, not all zeros", len(data))
	}
	if exists(t, filepath.Join(dir, fillTmp)) {
		t.Fatal("spare.tmp left behind")
	}

	// A reopened journal finds the spare and writes its next segment into it.
	j = open(t, dir, small)
	replay(t, j)
	write(t, j, rec(4, 100))
	if exists(t, spareFile(t, dir)) {
		t.Fatal("the new segment did not take the spare")
	}
	closeJ(t, j)
	if segs := segFiles(t, dir); len(segs) != 3 {
		t.Fatalf("segments on disk: %v", segs)
	}
}

// spareFile is the path of the journal's spare in dir ("spare.N"), or of none when there is
// none.
func spareFile(t *testing.T, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, sparePrefix+"*"))
	if err != nil || len(names) > 1 {
		t.Fatalf("spares %v (%v)", names, err)
	}
	if len(names) == 0 {
		return filepath.Join(dir, sparePrefix+"none")
	}
	return names[0]
}
