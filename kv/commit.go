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

	if t.spill != nil {
		return t.commitSpilled()
	}
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

	commitSeq, err := t.engine.oracle.reserve(t.startSeq, keys, t.reads, nil)
	if err != nil {
		return err
	}
	// NB: the apply runs outside the oracle's lock, so concurrent commits
	// share fsyncs in pebble's commit pipeline. A failed apply still
	// finishes its sequence number, or the watermark would stop advancing.
	err = t.engine.apply(func() error { return t.engine.db.Apply(batch, pebble.Sync) })
	t.engine.oracle.finish(commitSeq)
	return err
}

// writtenKey is a key a committing transaction wrote and the commit
// sequence its conflict check starts from.
type writtenKey struct {
	key  string
	base uint64
}

// buildCommitBatch converts the write index into a batch of sets and
// deletes, and returns the written keys.
func (t *pebbleTxn) buildCommitBatch() (*pebble.Batch, []writtenKey, error) {
	iter, err := t.writes.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{})
	if err != nil {
		return nil, nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
	}

	batch := t.engine.db.NewBatchWithSize(t.writes.Len())
	var keys []writtenKey
	for valid := iter.First(); valid; valid = iter.Next() {
		key := iter.Key()
		var tagged []byte
		tagged, err = iter.ValueAndErr()
		if err != nil {
			break
		}
		tag, base, value := parseWrite(tagged)
		if tag == writeNone {
			continue
		}
		keys = append(keys, writtenKey{key: string(key), base: max(base, t.startSeq)})
		if tag == writeDelete {
			err = batch.Delete(key, nil)
		} else {
			err = batch.Set(key, value, nil)
		}
		if err != nil {
			break
		}
	}
	if closeErr := iter.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = batch.Close()
		return nil, nil, pgerror.Wrapf(err, pgcode.InternalError, "kv: build commit batch")
	}
	return batch, keys, nil
}

// maxIngestFileBytes bounds the sstables a spilled commit writes, and with
// them the memory of the sstable writer.
const maxIngestFileBytes = 128 << 20

// commitSpilled commits a transaction whose writes were moved to the
// temporary store: it moves the rest there too, writes the entries into
// sstables without the prefix, checks conflicts and ingests the sstables in
// one atomic step. The oracle then keeps the spill for the conflict checks
// of later commits.
func (t *pebbleTxn) commitSpilled() error {
	var err error
	if t.writes != nil && t.writes.Count() > 0 {
		err = t.spillWrites()
	}
	sp := t.spill
	t.spill = nil
	t.finish()
	var files *sstFiles
	if err == nil {
		files, err = t.engine.buildIngestFiles(sp)
	}
	if err != nil {
		sp.drop()
		return err
	}
	if files.count == 0 {
		// Every write was undone by a rollback to a savepoint.
		files.remove()
		sp.drop()
		return nil
	}

	paths, err := files.finish()
	var commitSeq uint64
	if err == nil {
		commitSeq, err = t.engine.oracle.reserve(t.startSeq, nil, t.reads, sp)
	}
	if err != nil {
		files.remove()
		sp.drop()
		return err
	}
	err = t.engine.apply(func() error { return ingest(t.engine.db, paths) })
	if err != nil {
		files.remove()
	}
	t.engine.oracle.finish(commitSeq)
	return err
}

// buildIngestFiles writes the entries of sp into sstables for the store:
// sets and point deletions, without the undone keys. The last file is left
// open for the caller to finish.
func (e *pebbleEngine) buildIngestFiles(sp *spill) (*sstFiles, error) {
	files := &sstFiles{
		fs:       e.temp.fs,
		newPath:  e.temp.newFilePath,
		opts:     e.opts.MakeWriterOptions(0, e.db.TableFormat()),
		maxBytes: maxIngestFileBytes,
	}
	it, err := sp.newIter(nil, nil)
	if err != nil {
		return nil, err
	}
	for valid := it.First(); valid && err == nil; valid = it.Next() {
		var tagged []byte
		if tagged, err = it.ValueAndErr(); err != nil {
			break
		}
		tag, _, value := parseWrite(tagged)
		if tag != writeNone {
			err = files.add(it.Key(), value, tag == writeDelete)
		}
	}
	if err = closeIter(it, err); err != nil {
		files.remove()
		return nil, err
	}
	return files, nil
}

// apply runs write, which applies a commit to the store durably, and
// wraps its error.
func (e *pebbleEngine) apply(write func() error) error {
	var err error
	if e.knobs.beforeApply != nil {
		err = e.knobs.beforeApply()
	}
	if err == nil {
		err = write()
	}
	if err != nil {
		e.logger.Error("kv: commit failed", "err", err)
		return pgerror.Wrapf(err, pgcode.IoError, "kv: commit failed")
	}
	return nil
}
