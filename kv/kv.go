package kv

import (
	"errors"
)

// ErrClosed is returned by operations on a finished transaction or a closed
// engine.
var ErrClosed = errors.New("kv: transaction or engine is closed")

// Engine is a transactional, ordered key-value store.
type Engine interface {
	// Begin starts a transaction that reads from a snapshot taken now.
	Begin() (Txn, error)
	// Close releases the engine. Open transactions must be finished first.
	Close() error
}

// Txn is a snapshot-isolated transaction. Reads see the snapshot taken at
// Begin plus the transaction's own writes. A Txn is not safe for concurrent
// use.
type Txn interface {
	// Get returns the value of key. found is false when the key is absent.
	// The returned slice is valid until the next call on the Txn.
	Get(key []byte) (value []byte, found bool, err error)
	// Put sets key to value. Both slices may be reused after the call.
	Put(key, value []byte) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(key []byte) error
	// NewIterator returns an iterator over the keys k with
	// lower <= k < upper in ascending order. A nil bound is open. The
	// iterator sees the transaction's writes made before the call, not later
	// ones. Commit and Rollback close the iterators that are still open.
	NewIterator(lower, upper []byte) (Iterator, error)
	// Commit makes the writes durable (fsynced) and visible. It fails with a
	// pgerror of SQLSTATE 40001 when another transaction committed a write to
	// one of the same keys after this transaction's snapshot was taken; the
	// writes are then discarded. The Txn is finished after Commit returns.
	Commit() error
	// Rollback discards the writes and releases the snapshot. It is safe to
	// call after Commit or a previous Rollback.
	Rollback()
	// HasWrites reports whether the transaction wrote anything.
	HasWrites() bool
	// Refresh moves the read snapshot forward to the newest commits and
	// keeps the transaction's writes, for READ COMMITTED statements. A key
	// written before a refresh still conflicts with commits after the
	// original snapshot. A key first written after it conflicts only with
	// commits after the refreshed one. It fails while iterators are open.
	Refresh() error
	// TrackReads makes Commit also fail with 40001 when another transaction
	// committed, after this one's snapshot, a key this one read with Get or
	// a key inside the bounds of one of its iterators. SERIALIZABLE
	// transactions use it to rule out write skew. A transaction that wrote
	// nothing commits without the check.
	TrackReads()
	// Savepoint marks the current state of the writes and returns a token
	// for RollbackToSavepoint.
	Savepoint() int
	// RollbackToSavepoint undoes the writes made since the Savepoint call
	// that returned token. Later savepoints are invalid afterwards; the
	// token's own savepoint stays usable.
	RollbackToSavepoint(token int) error
}

// Iterator walks keys in ascending order within its bounds. Key and Value
// are valid until the next positioning call.
type Iterator interface {
	// First positions at the first key and reports whether it exists.
	First() bool
	// SeekGE positions at the first key >= key and reports whether it exists.
	SeekGE(key []byte) bool
	// Next advances and reports whether a key is there.
	Next() bool
	// Last positions at the last key and reports whether it exists. An
	// iterator positioned by Last moves with Prev, not Next.
	Last() bool
	// Prev moves back and reports whether a key is there.
	Prev() bool
	// Valid reports whether the iterator is positioned at a key.
	Valid() bool
	Key() []byte
	Value() []byte
	// Close releases the iterator and returns any error met while iterating.
	Close() error
}
