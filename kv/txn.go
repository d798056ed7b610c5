package kv

import (
	"bytes"
	"context"
	"errors"

	"github.com/cockroachdb/pebble/v2"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Tags of the values in a transaction's write index. A put stores its value
// after writePut, a delete stores the single byte writeDelete, so iterators
// over the index see deletions as tombstones (a pebble iterator would hide
// a real deletion).
const (
	writeDelete byte = 0
	writePut    byte = 1
	// writeNone marks a key whose writes a rollback to a savepoint undid:
	// reads fall through to the snapshot and commit skips it.
	writeNone byte = 2
)

// pebbleTxn is a transaction over a pebble snapshot.
//
// Reads go to the write index first and then to the snapshot. The write
// index is an indexed pebble batch used as an ordered map of the keys the
// transaction wrote. Only pebble's batch-only iterators read it, because a
// batch's ordinary reads fall through to the newest state of the store
// instead of the snapshot. Commit turns the index into a plain batch of sets
// and deletes.
type pebbleTxn struct {
	engine   *pebbleEngine
	startSeq uint64
	snap     *pebble.Snapshot

	// writes is the write index, created by the first Put or Delete.
	writes *pebble.Batch
	// writeCount counts the Put and Delete calls.
	writeCount uint64
	// getIter is a batch-only iterator over writes that Get reuses.
	// getIterCount is the writeCount its view of the batch was refreshed at.
	getIter      *pebble.Iterator
	getIterCount uint64

	// readSeq is the commit sequence the current snapshot contains. It is
	// startSeq until Refresh moves it. The conflict check of a key starts
	// from startSeq, or from keyBase[key] for a key first written after a
	// refresh, which is the readSeq of that first write.
	readSeq uint64
	keyBase map[string]uint64

	// reads, when not nil, records the keys and key ranges read, for the
	// conflict check of TrackReads.
	reads *readSet
	// undo records, once a savepoint exists, the prior state of every key
	// written since, newest last.
	undo       []undoEntry
	savepoints int

	// iters contains the open iterators, which Commit and Rollback close.
	iters map[*txnIterator]struct{}
	// valueBuf contains the last value Get returned.
	valueBuf []byte
	done     bool
}

var _ Txn = (*pebbleTxn)(nil)

// Get returns the value of key as of the snapshot plus the transaction's
// own writes.
func (t *pebbleTxn) Get(key []byte) ([]byte, bool, error) {
	if t.done {
		return nil, false, ErrClosed
	}
	if t.reads != nil {
		t.reads.keys[string(key)] = struct{}{}
	}

	if t.writes != nil {
		value, tag, written, err := t.getWrite(key)
		if err != nil {
			return nil, false, err
		}
		if written {
			if tag == writeDelete {
				return nil, false, nil
			}
			t.valueBuf = append(t.valueBuf[:0], value...)
			return t.valueBuf, true, nil
		}
	}

	value, closer, err := t.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, pgerror.Wrapf(err, pgcode.IoError, "kv: read key %q", key)
	}
	t.valueBuf = append(t.valueBuf[:0], value...)
	if err := closer.Close(); err != nil {
		return nil, false, pgerror.Wrapf(err, pgcode.IoError, "kv: read key %q", key)
	}
	return t.valueBuf, true, nil
}

// getWrite looks key up in the write index. written is false when the
// transaction did not write key. The value is valid until the next call.
func (t *pebbleTxn) getWrite(key []byte) (value []byte, tag byte, written bool, err error) {
	if t.getIter == nil {
		t.getIter, err = t.writes.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{})
		if err != nil {
			return nil, 0, false, pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
		}
		t.getIterCount = t.writeCount
	}
	if t.getIterCount != t.writeCount {
		// SetOptions refreshes the iterator's view of the batch.
		t.getIter.SetOptions(&pebble.IterOptions{})
		t.getIterCount = t.writeCount
	}

	if !t.getIter.SeekGE(key) {
		if err := t.getIter.Error(); err != nil {
			return nil, 0, false, pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
		}
		return nil, 0, false, nil
	}
	if string(t.getIter.Key()) != string(key) {
		return nil, 0, false, nil
	}
	tagged, err := t.getIter.ValueAndErr()
	if err != nil {
		return nil, 0, false, pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
	}
	if tagged[0] == writeNone {
		return nil, 0, false, nil
	}
	return tagged[1:], tagged[0], true, nil
}

// Put records key = value in the write index.
func (t *pebbleTxn) Put(key, value []byte) error {
	return t.write(key, value, writePut)
}

// Delete records a tombstone for key in the write index.
func (t *pebbleTxn) Delete(key []byte) error {
	return t.write(key, nil, writeDelete)
}

func (t *pebbleTxn) write(key, value []byte, tag byte) error {
	if t.done {
		return ErrClosed
	}
	if t.writes == nil {
		t.writes = t.engine.db.NewIndexedBatch()
	}
	if t.savepoints > 0 {
		prev, prevTag, written, err := t.getWrite(key)
		if err != nil {
			return err
		}
		t.undo = append(t.undo, undoEntry{key: bytes.Clone(key), value: bytes.Clone(prev), tag: prevTag, written: written})
	}
	if t.readSeq > t.startSeq {
		if _, seen := t.keyBase[string(key)]; !seen {
			_, _, written, err := t.getWrite(key)
			if err != nil {
				return err
			}
			if !written {
				t.keyBase[string(key)] = t.readSeq
			}
		}
	}
	return t.rawWrite(key, value, tag)
}

// rawWrite records a tagged value in the write index.
func (t *pebbleTxn) rawWrite(key, value []byte, tag byte) error {
	op := t.writes.SetDeferred(len(key), 1+len(value))
	copy(op.Key, key)
	op.Value[0] = tag
	copy(op.Value[1:], value)
	if err := op.Finish(); err != nil {
		return pgerror.Wrapf(err, pgcode.InternalError, "kv: write key %q", key)
	}
	t.writeCount++
	return nil
}

// HasWrites reports whether Put or Delete was called.
func (t *pebbleTxn) HasWrites() bool {
	return t.writeCount > 0
}

// Rollback discards the writes, closes the open iterators and releases the
// snapshot.
func (t *pebbleTxn) Rollback() {
	if t.done {
		return
	}
	t.finish()
	t.engine.oracle.end(t.startSeq)
}

// finish closes the iterators, the write index and the snapshot, and marks
// the transaction done. It leaves the transaction registered in the oracle.
func (t *pebbleTxn) finish() {
	t.done = true
	for it := range t.iters {
		it.release()
	}
	t.iters = nil
	if t.getIter != nil {
		// An error here is one already met and returned by Get.
		_ = t.getIter.Close()
		t.getIter = nil
	}
	if t.writes != nil {
		// Batch.Close fails only on a second close (pebble v2.1.7).
		_ = t.writes.Close()
		t.writes = nil
	}
	if err := t.snap.Close(); err != nil {
		t.engine.logger.Error("kv: release snapshot failed", "err", err)
	}
	t.snap = nil
}

// Refresh replaces the snapshot with a new one and keeps the writes.
func (t *pebbleTxn) Refresh() error {
	if t.done {
		return ErrClosed
	}
	if len(t.iters) > 0 {
		return pgerror.Newf(pgcode.ObjectNotInPrerequisiteState, "kv: cannot refresh a transaction with %d open iterators", len(t.iters))
	}
	// NB: as in Begin, the sequence is read before the snapshot is taken,
	// so the snapshot contains every commit up to it.
	seq := t.engine.oracle.visible.Load()
	snap := t.engine.db.NewSnapshot()
	if err := t.snap.Close(); err != nil {
		t.engine.logger.Error("kv: release snapshot failed", "err", err)
	}
	t.snap, t.readSeq = snap, seq
	if t.keyBase == nil {
		t.keyBase = map[string]uint64{}
	}
	return nil
}

// readSet is what a transaction that tracks its reads has read.
type readSet struct {
	keys   map[string]struct{}
	ranges []keyRange
}

// keyRange is the half-open range [lower, upper); nil bounds are open.
type keyRange struct{ lower, upper []byte }

func (r keyRange) contains(key string) bool {
	if r.lower != nil && key < string(r.lower) {
		return false
	}
	return r.upper == nil || key < string(r.upper)
}

// TrackReads starts recording reads for the commit check.
func (t *pebbleTxn) TrackReads() {
	if t.reads == nil {
		t.reads = &readSet{keys: map[string]struct{}{}}
	}
}

// undoEntry is the state of a key in the write index before a write.
type undoEntry struct {
	key     []byte
	value   []byte
	tag     byte
	written bool
}

// Savepoint starts recording undo information and returns the position
// to roll back to.
func (t *pebbleTxn) Savepoint() int {
	t.savepoints++
	return len(t.undo)
}

// RollbackToSavepoint restores every key written since token to its state
// at the savepoint.
func (t *pebbleTxn) RollbackToSavepoint(token int) error {
	if t.done {
		return ErrClosed
	}
	if token < 0 || token > len(t.undo) {
		return pgerror.Internal("kv: invalid savepoint %d", token)
	}
	for i := len(t.undo) - 1; i >= token; i-- {
		u := t.undo[i]
		tag := writeNone
		if u.written {
			tag = u.tag
		}
		if err := t.rawWrite(u.key, u.value, tag); err != nil {
			return err
		}
	}
	t.undo = t.undo[:token]
	return nil
}
