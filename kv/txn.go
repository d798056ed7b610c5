package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble/v2"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Tags of the values in a transaction's write index. A put stores its value
// after writePut, a delete stores writeDelete alone, so iterators over the
// index see deletions as tombstones (a pebble iterator would hide a real
// deletion).
const (
	writeDelete byte = 0
	writePut    byte = 1
	// writeNone marks a key whose writes a rollback to a savepoint undid:
	// reads fall through to the snapshot and commit skips it.
	writeNone byte = 2
	// writeHasBase is set in the tag of a write made after a Refresh to a
	// key the transaction had not written before. The 8-byte commit
	// sequence its conflict check starts from follows the tag.
	writeHasBase byte = 0x80
)

// parseWrite splits a tagged value of the write index into its tag, its
// base (zero when the conflict check starts from the transaction's
// startSeq) and the value of a put.
func parseWrite(tagged []byte) (tag byte, base uint64, value []byte) {
	tag, value = tagged[0], tagged[1:]
	if tag&writeHasBase != 0 {
		tag &^= writeHasBase
		base, value = binary.BigEndian.Uint64(value), value[8:]
	}
	return tag, base, value
}

// pebbleTxn is a transaction over a pebble snapshot.
//
// Reads go to the write index first and then to the snapshot. The write
// index is an indexed pebble batch used as an ordered map of the keys the
// transaction wrote. Only pebble's batch-only iterators read it, because a
// batch's ordinary reads fall through to the newest state of the store
// instead of the snapshot. Commit turns the index into a plain batch of sets
// and deletes.
//
// When the batch grows past the engine's write buffer size, its entries
// move to the temporary store (see spill) and the batch starts empty. The
// write index is then the batch over the spilled entries, the batch's
// entries shadowing the spilled ones.
type pebbleTxn struct {
	engine   *pebbleEngine
	startSeq uint64
	snap     *pebble.Snapshot

	// writes is the in-memory part of the write index, created by the
	// first write and again by the first write after each spill.
	writes *pebble.Batch
	// spill holds the entries moved out of writes, nil until the first
	// move.
	spill *spill
	// retired contains batches that writes replaced while open iterators
	// still read them. The last of those iterators to close closes a
	// batch, or finish does.
	retired []*pebble.Batch
	// writeCount counts the Put and Delete calls.
	writeCount uint64
	// getIter is a batch-only iterator over writes that Get reuses.
	// getIterCount is the writeCount its view of the batch was refreshed at.
	getIter      *pebble.Iterator
	getIterCount uint64

	// readSeq is the commit sequence the current snapshot contains. It is
	// startSeq until Refresh moves it. The conflict check of a key starts
	// from startSeq, or, for a key first written after a refresh, from the
	// readSeq of that first write, which the write's tag carries.
	readSeq uint64

	// reads, when not nil, records the keys and key ranges read, for the
	// conflict check of TrackReads.
	reads *readSet
	// undo records, once a savepoint exists, the prior state of every key
	// written since, oldest first.
	undo       undoLog
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
		t.reads.addKey(key)
	}

	tagged, err := t.lookupWrite(key)
	if err != nil {
		return nil, false, err
	}
	if tagged != nil {
		tag, _, value := parseWrite(tagged)
		switch tag {
		case writeDelete:
			return nil, false, nil
		case writePut:
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

// lookupWrite returns the tagged value of key in the write index, or nil
// when the transaction never wrote key. An entry tagged writeNone is
// returned too: it hides what the spilled entries hold for the key. The
// value is valid until the next call.
func (t *pebbleTxn) lookupWrite(key []byte) ([]byte, error) {
	if t.writes != nil {
		tagged, err := t.getBatchWrite(key)
		if tagged != nil || err != nil {
			return tagged, err
		}
	}
	if t.spill != nil {
		return t.spill.get(key)
	}
	return nil, nil
}

// getBatchWrite looks key up in the in-memory part of the write index.
func (t *pebbleTxn) getBatchWrite(key []byte) ([]byte, error) {
	var err error
	if t.getIter == nil {
		t.getIter, err = t.writes.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{})
		if err != nil {
			return nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
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
			return nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
		}
		return nil, nil
	}
	if !bytes.Equal(t.getIter.Key(), key) {
		return nil, nil
	}
	tagged, err := t.getIter.ValueAndErr()
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
	}
	return tagged, nil
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
	var base uint64
	if t.savepoints > 0 || t.readSeq > t.startSeq {
		prev, err := t.lookupWrite(key)
		if err != nil {
			return err
		}
		written := false
		if prev != nil {
			var prevTag byte
			prevTag, base, _ = parseWrite(prev)
			written = prevTag != writeNone
		}
		if !written && t.readSeq > t.startSeq {
			// The first write of key since the transaction began: its
			// conflict check starts from the snapshot it was made on.
			base = t.readSeq
		}
		if t.savepoints > 0 {
			if err := t.undo.add(t, key, prev); err != nil {
				return err
			}
		}
	}
	return t.rawWrite(key, tag, base, value)
}

// rawWrite records a tagged value in the write index and moves the index
// to the temporary store when it outgrows the write buffer.
func (t *pebbleTxn) rawWrite(key []byte, tag byte, base uint64, value []byte) error {
	if t.writes == nil {
		if t.spill == nil {
			t.writes = t.engine.db.NewIndexedBatch()
		} else {
			// NB: a transaction that spilled once is likely to fill the
			// batch again. Grown by doubling, the batch would hold up to
			// twice the buffer, and three times while copying.
			n := t.engine.writeBufferSize
			t.writes = t.engine.db.NewIndexedBatchWithSize(n + n/4)
		}
	}
	size := 1 + len(value)
	if base != 0 {
		tag |= writeHasBase
		size += 8
	}
	op := t.writes.SetDeferred(len(key), size)
	copy(op.Key, key)
	op.Value[0] = tag
	rest := op.Value[1:]
	if base != 0 {
		binary.BigEndian.PutUint64(rest, base)
		rest = rest[8:]
	}
	copy(rest, value)
	if err := op.Finish(); err != nil {
		return pgerror.Wrapf(err, pgcode.InternalError, "kv: write key %q", key)
	}
	t.writeCount++
	if t.writes.Len() >= t.engine.writeBufferSize {
		return t.spillWrites()
	}
	return nil
}

// restoreWrite puts back the tagged value a key had in the write index,
// or writeNone when tagged is nil.
func (t *pebbleTxn) restoreWrite(key, tagged []byte) error {
	if tagged == nil {
		return t.rawWrite(key, writeNone, 0, nil)
	}
	tag, base, value := parseWrite(tagged)
	return t.rawWrite(key, tag, base, value)
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
	if t.spill != nil {
		t.spill.drop()
		t.spill = nil
	}
	t.engine.oracle.end(t.startSeq)
}

// finish closes the iterators, the in-memory write index and the snapshot,
// drops the spilled undo entries and marks the transaction done. It leaves
// the spilled writes to the caller and the transaction registered in the
// oracle.
func (t *pebbleTxn) finish() {
	t.done = true
	for it := range t.iters {
		it.release()
	}
	t.iters = nil
	t.closeBatch()
	for _, b := range t.retired {
		_ = b.Close()
	}
	t.retired = nil
	t.undo.drop()
	if err := t.snap.Close(); err != nil {
		t.engine.logger.Error("kv: release snapshot failed", "err", err)
	}
	t.snap = nil
}

// closeBatch closes the in-memory write index and the iterator Get reads
// it with.
func (t *pebbleTxn) closeBatch() {
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
	return nil
}

// maxReadKeys and maxReadRanges bound the read set. Past either bound the
// keys, or the ranges, give way to the one range that spans them all. A
// wider read set can only add conflicts, so the check stays sound while a
// transaction that reads millions of keys keeps bounded memory.
const (
	maxReadKeys   = 1 << 16
	maxReadRanges = 256
)

// readSet is what a transaction that tracks its reads has read.
type readSet struct {
	keys   map[string]struct{}
	ranges []keyRange
}

// addKey records a read of key.
func (r *readSet) addKey(key []byte) {
	r.keys[string(key)] = struct{}{}
	if len(r.keys) <= maxReadKeys {
		return
	}
	var lower, last string
	first := true
	for k := range r.keys {
		if first || k < lower {
			lower = k
		}
		if first || k > last {
			last = k
		}
		first = false
	}
	clear(r.keys)
	// The upper bound is exclusive: last followed by a zero byte is the
	// smallest key after last.
	r.addRange([]byte(lower), append([]byte(last), 0))
}

// addRange records a read of the keys in [lower, upper).
func (r *readSet) addRange(lower, upper []byte) {
	r.ranges = append(r.ranges, keyRange{lower: lower, upper: upper})
	if len(r.ranges) <= maxReadRanges {
		return
	}
	span := r.ranges[0]
	for _, kr := range r.ranges[1:] {
		if span.lower != nil && (kr.lower == nil || bytes.Compare(kr.lower, span.lower) < 0) {
			span.lower = kr.lower
		}
		if span.upper != nil && (kr.upper == nil || bytes.Compare(kr.upper, span.upper) > 0) {
			span.upper = kr.upper
		}
	}
	r.ranges = append(r.ranges[:0], span)
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

// Savepoint starts recording undo information and returns the position
// to roll back to.
func (t *pebbleTxn) Savepoint() int {
	t.savepoints++
	return t.undo.len()
}

// RollbackToSavepoint restores every key written since token to its state
// at the savepoint.
func (t *pebbleTxn) RollbackToSavepoint(token int) error {
	if t.done {
		return ErrClosed
	}
	if token < 0 || token > t.undo.len() {
		return pgerror.Internal("kv: invalid savepoint %d", token)
	}
	return t.undo.rollback(t, token)
}
