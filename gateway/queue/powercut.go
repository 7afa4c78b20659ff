package queue

// What a power cut can undo, file by file (Badger v4, read in its source; see badger.go for
// the keys, redo.go and internal/journal for the journal). The contract: every acknowledged
// message's latest state is readable after a power cut; a change may be undone, never left
// half-written.
//
// The danger is a value pointer on disk whose value-log bytes are not: the key's newest
// version is then unreadable, and the startup scan fails on a live message's. Pointers reach
// the disk three ways: the memtable WAL, written back by the kernel at any time (it is a
// shared mapping); an L0 table, which Badger's memtable flush writes and syncs without
// syncing the value log; and value-log GC, which moves values to the current file and their
// pointers to the memtable, then deletes the old file.
//
// With DurabilityAlways Badger syncs nothing itself (no SyncWrites): every transaction the
// queue commits is first written to the journal as one record and fdatasync'd, and only then
// committed to Badger. A group commit so costs one device flush, where Badger's SyncWrites
// cost two (the value log's msync, then the WAL's; measured in bench/RESULTS.md).
//
//   - Journal segments: a record is synced before Badger sees any of its writes, so every
//     write that can be on disk in Badger's files, whole or torn, is in the journal, on disk
//     (TestJournalBeforeBadger). A new segment's name is synced before it is written to; a
//     torn record fails its CRC and ends replay there, and was never acknowledged.
//   - Replay (Open): the journal's records are written into Badger again, in order, over
//     whatever Badger's files kept. A key whose newest version on disk points at value-log
//     bytes that were lost is written after the last checkpoint, so its record is in the
//     journal and replay gives it a newer version with its value; a key not written since
//     the checkpoint was synced by it. Replaying writes Badger already holds is harmless: each
//     record sets or deletes whole keys, and the last record of a key decides. Badger then
//     truncates a torn value-log or WAL tail at open as before, and the records replace what
//     the cut took. Replay is synced (below) before the segments go, so a cut during it
//     replays again (TestReplayRestoresWhatBadgerLost).
//   - Checkpoint: once the journal moves to a new segment, every record in the older ones has
//     been committed to Badger; the syncer (badgerfs) then syncs the value log, the WAL,
//     the files Badger left behind and the directory, and only then are the older segments
//     released, oldest first, with the directory synced after each, so that the segments on
//     disk stay a run without a gap. Writes landing in Badger during the checkpoint are in
//     the current segment, which stays. Close syncs and releases all of them.
//   - Tables (*.sst) and MANIFEST: written and synced by Badger as before; a pointer in a
//     table into value-log bytes not yet synced is a write after the last checkpoint, and is
//     replayed.
//   - Value-log GC: its writes are not in the journal, and without SyncWrites a moved value's
//     pointer can reach the disk before the value. So the file GC rewrote stays on disk
//     until the logs are synced after the rewrite: an iterator held open across it has Badger
//     defer the removal (badgerfs.HoldFiles); a second sync makes the removal durable. A
//     journal record marks the GC's start (with the machine's boot id) and another its end.
//     An Open whose journal ends inside a GC begun before the machine last booted (a process
//     that merely stopped left GC's writes in the page cache: TestRepairOnlyAfterABoot)
//     first keeps the value-log file numbers GC may have used (a file created by
//     it may be gone, its number would go to a new file, and the pointers into it would read
//     the new file's entries, which check: badgerfs.ReserveValueLogNumbers); then, after the
//     replay, it reads every key: a value that fails its checksum (Badger checks every value
//     read, VerifyValueChecksum) or lies past its file's end, which Badger logs and yields
//     as empty, is written again from the entry with the same key and version in the value
//     log (GC keeps a moved entry's version; badgerfs.ScanValueLogs reads the files, checking
//     each entry's CRC), which can only be in the file GC was moving from, still on disk
//     (TestRepairAfterCutDuringGC). GC and a checkpoint hold gcMu, so that no checkpoint
//     releases the start's segment while GC runs, nor syncs between GC's writes.
//     (GC can also bring back a deleted key's older value, whatever the durability: stillLive,
//     lease.go.)
//   - Consumers' state (PutState, the Changes cursor) goes through the journal too (update).
//
// A power cut then undoes nothing that a call returned for. What it can leave is a write the
// callers were not told of: a journaled record whose Badger commit failed (a storage error,
// answered as one) is applied at the next start; the caller may see its message sent.
//
// DurabilityInterval writes no journal and syncs on its timer (value log, then WAL, under
// writeMu): it may lose the last interval, and a flush or writeback between two syncs can
// still leave a pointer without its value; this mode accepts losing what it acknowledged. A
// journal left by a run with DurabilityAlways is replayed and removed at Open.
