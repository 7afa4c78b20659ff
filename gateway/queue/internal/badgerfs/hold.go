package badgerfs

import "github.com/dgraph-io/badger/v4"

// HoldFiles keeps Badger from removing a value-log file until the returned func is called.
// Badger removes a file that value-log GC has rewritten only when no iterator is open
// (valueLog.rewrite defers it to the last iterator's Close), so an iterator held open across
// RunValueLogGC lets the caller sync the values GC moved before the file they came from goes.
// The iterator reads nothing.
func HoldFiles(db *badger.DB) (release func()) {
	txn := db.NewTransaction(false)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{0xff, 0xff, 0xff}})
	return func() {
		it.Close()
		txn.Discard()
	}
}
