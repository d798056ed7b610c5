package kv

import (
	"context"

	"github.com/cockroachdb/pebble/v2"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Commit applies the writes with an fsync, or fails with SQLSTATE 40001
// when a commit the snapshot does not contain wrote one of the same keys.
// It closes the iterators that are still open. A transaction without writes
// skips the conflict check and the commit lock.
func (t *pebbleTxn) Commit() error {
	if t.done {
		return ErrClosed
	}
	// The oracle keeps the transaction registered until the apply returned,
	// so Engine.Close cannot close the store under it.
	defer t.engine.oracle.end(t.startSeq)

	if t.writes == nil {
		t.finish()
		return nil
	}

	batch, keys, err := t.buildCommitBatch()
	t.finish()
	if err != nil {
		return err
	}
	defer func() {
		// Batch.Close fails only on a second close (pebble v2.1.7).
		_ = batch.Close()
	}()

	commitSeq, err := t.engine.oracle.reserve(t.startSeq, t.keyBase, keys, t.reads)
	if err != nil {
		return err
	}
	// NB: the apply runs outside the oracle's lock, so concurrent commits
	// share fsyncs in pebble's commit pipeline. A failed apply still
	// finishes its sequence number, or the watermark would stop advancing.
	err = t.engine.apply(batch)
	t.engine.oracle.finish(commitSeq)
	return err
}

// buildCommitBatch converts the write index into a batch of sets and
// deletes, and returns the written keys.
func (t *pebbleTxn) buildCommitBatch() (*pebble.Batch, []string, error) {
	iter, err := t.writes.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{})
	if err != nil {
		return nil, nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
	}

	batch := t.engine.db.NewBatchWithSize(t.writes.Len())
	var keys []string
	for valid := iter.First(); valid; valid = iter.Next() {
		key := iter.Key()
		tagged, err := iter.ValueAndErr()
		if err == nil && tagged[0] == writeNone {
			continue
		}
		if err == nil {
			keys = append(keys, string(key))
			if tagged[0] == writeDelete {
				err = batch.Delete(key, nil)
			} else {
				err = batch.Set(key, tagged[1:], nil)
			}
		}
		if err != nil {
			_ = iter.Close()
			_ = batch.Close()
			return nil, nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: build commit batch")
		}
	}
	if err := iter.Close(); err != nil {
		_ = batch.Close()
		return nil, nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
	}
	return batch, keys, nil
}

// apply writes batch to the store and waits for the fsync.
func (e *pebbleEngine) apply(batch *pebble.Batch) error {
	var err error
	if e.knobs.beforeApply != nil {
		err = e.knobs.beforeApply()
	}
	if err == nil {
		err = e.db.Apply(batch, pebble.Sync)
	}
	if err != nil {
		e.logger.Error("kv: commit failed", "err", err, "keys", batch.Count())
		return pgerror.Wrapf(err, pgcode.IoError, "kv: commit failed")
	}
	return nil
}
