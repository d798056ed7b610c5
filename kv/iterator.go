package kv

import (
	"bytes"
	"context"

	"github.com/cockroachdb/pebble/v2"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// txnIterator merges an iterator over the snapshot with an iterator over the
// write index. At equal keys the write wins, and a tombstone in the write
// index hides the snapshot's key.
//
// The iterator sees the writes made before NewIterator was called, not the
// later ones, like pebble's iterators over an indexed batch. Commit and
// Rollback close an iterator that is still open.
type txnIterator struct {
	txn  *pebbleTxn
	snap *pebble.Iterator
	// writes reads the write index as it was at creation: the batch, the
	// spill, or both. It is nil when the transaction had no writes then.
	writes layerIter
	// batch is the batch writes reads, which must stay open until the
	// iterator closes.
	batch *pebble.Batch

	snapValid   bool
	writesValid bool
	// valid reports whether the iterator is at a key, and fromWrites whether
	// that key comes from the write index.
	valid      bool
	fromWrites bool
	// reverse is set by Last: the iterator then moves with Prev.
	reverse bool

	err      error
	released bool
}

var _ Iterator = (*txnIterator)(nil)

// NewIterator returns an iterator over lower <= k < upper. See txnIterator
// for what it sees of the transaction's writes.
func (t *pebbleTxn) NewIterator(lower, upper []byte) (Iterator, error) {
	if t.done {
		return nil, ErrClosed
	}
	// The bounds are copied because pebble requires them unchanged while
	// the iterator is open and the caller may reuse its slices.
	opts := &pebble.IterOptions{
		LowerBound: cloneBytes(lower),
		UpperBound: cloneBytes(upper),
	}
	if t.reads != nil {
		t.reads.addRange(opts.LowerBound, opts.UpperBound)
	}

	it := &txnIterator{txn: t}
	var err error
	it.snap, err = t.snap.NewIter(opts)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: open iterator")
	}
	if it.writes, err = t.newWriteIter(opts); err != nil {
		_ = it.snap.Close()
		return nil, err
	}
	if it.writes != nil {
		it.batch = t.writes
	}

	if t.iters == nil {
		t.iters = make(map[*txnIterator]struct{})
	}
	t.iters[it] = struct{}{}
	return it, nil
}

// newWriteIter returns an iterator over the write index within the bounds
// of opts, or nil when the transaction has not written.
func (t *pebbleTxn) newWriteIter(opts *pebble.IterOptions) (layerIter, error) {
	var top layerIter
	if t.writes != nil {
		batchIter, err := t.writes.NewBatchOnlyIter(context.Background(), opts)
		if err != nil {
			return nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: open iterator over write index")
		}
		top = batchIter
	}
	if t.spill == nil {
		return top, nil
	}
	bottom, err := t.spill.newIter(opts.LowerBound, opts.UpperBound)
	if err != nil {
		if top != nil {
			_ = top.Close()
		}
		return nil, err
	}
	if top == nil {
		return bottom, nil
	}
	return &shadowIter{top: top, bottom: bottom}, nil
}

// First positions at the first key within the bounds.
func (it *txnIterator) First() bool {
	if it.released || it.err != nil {
		return false
	}
	it.reverse = false
	it.snapValid = it.snap.First()
	if it.writes != nil {
		it.writesValid = it.writes.First()
	}
	return it.settle()
}

// SeekGE positions at the first key >= key within the bounds.
func (it *txnIterator) SeekGE(key []byte) bool {
	if it.released || it.err != nil {
		return false
	}
	it.reverse = false
	it.snapValid = it.snap.SeekGE(key)
	if it.writes != nil {
		it.writesValid = it.writes.SeekGE(key)
	}
	return it.settle()
}

// Next advances past the current key.
func (it *txnIterator) Next() bool {
	if !it.valid {
		return false
	}
	if it.reverse {
		it.err = pgerror.Internal("kv: Next on an iterator positioned by Last")
		it.valid = false
		return false
	}
	return it.advance()
}

// Last positions at the last key within the bounds.
func (it *txnIterator) Last() bool {
	if it.released || it.err != nil {
		return false
	}
	it.reverse = true
	it.snapValid = it.snap.Last()
	if it.writes != nil {
		it.writesValid = it.writes.Last()
	}
	return it.settle()
}

// Prev moves back past the current key.
func (it *txnIterator) Prev() bool {
	if !it.valid {
		return false
	}
	if !it.reverse {
		it.err = pgerror.Internal("kv: Prev on an iterator positioned by First or SeekGE")
		it.valid = false
		return false
	}
	return it.advance()
}

// advance moves past the current key in the direction of movement. A key
// from the write index moves the snapshot past the same key too.
func (it *txnIterator) advance() bool {
	if it.fromWrites {
		if it.snapValid && bytes.Equal(it.snap.Key(), it.writes.Key()) {
			it.snapValid = it.step(it.snap)
		}
		it.writesValid = it.step(it.writes)
	} else {
		it.snapValid = it.step(it.snap)
	}
	return it.settle()
}

// settle picks the current key from the positioned inner iterators and
// skips the write index's tombstones together with the keys they hide.
// Moving forward the smaller key comes first, moving back the larger.
func (it *txnIterator) settle() bool {
	it.valid = false
	for {
		if !it.snapValid && it.snap.Error() != nil {
			it.err = pgerror.Wrapf(it.snap.Error(), pgcode.IoError, "kv: iterate")
			return false
		}
		if !it.writesValid && it.writes != nil && it.writes.Error() != nil {
			it.err = pgerror.Wrapf(it.writes.Error(), pgcode.InternalError, "kv: iterate write index")
			return false
		}
		if !it.writesValid {
			it.fromWrites = false
			it.valid = it.snapValid
			return it.valid
		}

		// cmp > 0 when the snapshot's key comes first in the direction of
		// movement.
		cmp := -1
		if it.snapValid {
			cmp = bytes.Compare(it.writes.Key(), it.snap.Key())
			if it.reverse {
				cmp = -cmp
			}
		}
		if cmp > 0 {
			it.fromWrites = false
			it.valid = true
			return true
		}

		tagged, err := it.writes.ValueAndErr()
		if err != nil {
			it.err = pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
			return false
		}
		tag, _, _ := parseWrite(tagged)
		if tag == writePut {
			it.fromWrites = true
			it.valid = true
			return true
		}
		if tag == writeNone {
			// An undone write: the snapshot's key, if any, stands.
			it.writesValid = it.step(it.writes)
			continue
		}
		// A tombstone: skip it and the snapshot key it deletes.
		if cmp == 0 {
			it.snapValid = it.step(it.snap)
		}
		it.writesValid = it.step(it.writes)
	}
}

// step moves an inner iterator one key in the direction of movement.
func (it *txnIterator) step(inner layerIter) bool {
	if it.reverse {
		return inner.Prev()
	}
	return inner.Next()
}

// Valid reports whether the iterator is at a key.
func (it *txnIterator) Valid() bool {
	return it.valid
}

// Key returns the current key, valid until the next positioning call.
func (it *txnIterator) Key() []byte {
	if !it.valid {
		return nil
	}
	if it.fromWrites {
		return it.writes.Key()
	}
	return it.snap.Key()
}

// Value returns the current value, valid until the next positioning call.
// A failure to read the value makes Value return nil, and Close returns the
// error.
func (it *txnIterator) Value() []byte {
	if !it.valid {
		return nil
	}
	if it.fromWrites {
		tagged, err := it.writes.ValueAndErr()
		if err != nil {
			it.err = pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
			return nil
		}
		_, _, value := parseWrite(tagged)
		return value
	}
	value, err := it.snap.ValueAndErr()
	if err != nil {
		it.err = pgerror.Wrapf(err, pgcode.IoError, "kv: read value of key %q", it.snap.Key())
		return nil
	}
	return value
}

// Close releases the iterator and returns the first error met while
// iterating. Closing an iterator that Commit or Rollback already closed
// returns that error again, or nil.
func (it *txnIterator) Close() error {
	if !it.released {
		it.release()
		delete(it.txn.iters, it)
		it.txn.closeRetired(it.batch)
	}
	return it.err
}

// release closes the inner iterators. Later positioning calls return false.
func (it *txnIterator) release() {
	it.released = true
	it.valid = false
	it.snapValid = false
	it.writesValid = false
	if err := it.snap.Close(); err != nil && it.err == nil {
		it.err = pgerror.Wrapf(err, pgcode.IoError, "kv: iterate")
	}
	if it.writes != nil {
		if err := it.writes.Close(); err != nil && it.err == nil {
			it.err = pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
		}
	}
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
