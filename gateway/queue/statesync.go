package queue

// StateSyncer is implemented by backends whose State writes survive a crash of the process
// but not a power cut until synced (Badger writes them without the committer's fsync): the
// caller syncs what must not be lost once it has answered, such as an opt-out.
type StateSyncer interface {
	// SyncState makes every State write so far durable.
	SyncState() error
}

// SyncState syncs Badger's write-ahead files (memtable and value log).
func (q *Badger) SyncState() error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.exit()
	if err := q.db.Sync(); err != nil {
		return q.storageError("sync state", err)
	}
	return nil
}
