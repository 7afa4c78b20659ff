package queue

// What a power cut can undo, file by file (Badger v4, read in its source; see badger.go for
// the keys). The contract: every acknowledged message's latest state is readable after a
// power cut; a change may be undone, never left half-written.
//
// The danger is a value pointer on disk whose value-log bytes are not: the key's newest
// version is then unreadable, and the startup scan fails on a live message's. Pointers reach
// the disk three ways: the memtable WAL, synced by us or written back by the kernel at any
// time (it is a shared mapping); an L0 table, which Badger's memtable flush writes and syncs
// without syncing the value log (valueLog.sync does nothing unless SyncWrites is off, and
// the flush does not call it); and value-log GC, which moves values to the current file and
// their pointers to the memtable, then deletes the old file. Syncing after a commit, as the
// queue did, cannot close the first way (the kernel may write the WAL's page first) and left
// the second open for groups that did not wait for a sync (Finish, Retry, Record).
//
// So with DurabilityAlways Badger is opened with SyncWrites (syncWrites), which orders the
// files at the only point where it can be done: in Badger's write goroutine, after a batch's
// values are copied into the value log and before their pointers enter the memtable.
//
//   - Value log (*.vlog): synced (msync) after every write batch, before its pointers go to
//     the memtable (valueLog.write); a file left behind is synced before the next is used
//     (logFile.doneWriting). So no pointer anywhere refers to bytes that are not on disk.
//   - Memtable WAL (*.mem): synced after each request's entries (writeToLSM), that is after
//     each transaction the committer commits. A commit that returned is durable.
//   - Tables (*.sst): written and synced (msync) before the MANIFEST names them; their
//     pointers are into value-log bytes synced earlier, by the above. Badger syncs the
//     directory after a compaction, not after a memtable flush: the name of a new L0 table
//     rests on the filesystem's journal, which the MANIFEST's fsync commits with it (ext4,
//     xfs), as before this change.
//   - MANIFEST: appended and synced by Badger on every change of the tree; a table it names
//     is on disk, and the WAL it replaces is deleted only after.
//   - Directory: Badger syncs it after adding tables, not after creating a value-log file or
//     a WAL (ristretto's z.OpenMmapFileUsing tests the size it has just set, so it never
//     does). After every commit the syncer (badgerfs, NamesOnly) syncs the directory when it
//     gained or lost a file, before any caller is released.
//   - GC: its rewrite is written like any write, so the moved values and their pointers are
//     synced before the old file is deleted. A file GC creates is named durably by the
//     syncAll after it; until then its name rests on the filesystem's journal, which
//     commits the creation before the later deletion of the old file (ext4, xfs).
//
// A power cut then undoes nothing that a call returned for: Enqueue, Replay, replies, and
// now Finish, Retry and Record too are on disk when they return (each group pays one
// value-log and one WAL sync, measured in bench/RESULTS.md). A group Badger split into several
// transactions may be cut between them; applyFinish writes the final record before deleting
// the live message for that.
//
// DurabilityInterval keeps SyncWrites off and syncs on its timer (value log, then WAL, under
// writeMu): it may lose the last interval, and a flush or writeback between two syncs can
// still leave a pointer without its value; this mode accepts losing what it acknowledged.

// syncWrites is whether Badger syncs every write itself (see above).
func syncWrites(d Durability) bool { return d == DurabilityAlways }
