package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// DefaultWriteBufferSize is the size of a transaction's in-memory write
// index above which its entries move to the temporary store, when
// PebbleOptions.WriteBufferSize is zero.
const DefaultWriteBufferSize = 8 << 20

// spill holds the entries a transaction moved out of its in-memory write
// index: tagged values, as in the index, under the spill's prefix in the
// temporary store. Each move writes the sorted batch into one sstable and
// ingests it, so later moves shadow earlier ones key by key.
//
// After a commit the oracle keeps the spill, to tell later commits which
// keys it wrote, until no open transaction can conflict with it any more.
type spill struct {
	store  *tempStore
	db     *pebble.DB
	sstOpt sstable.WriterOptions
	prefix []byte
	// lower and upper are the smallest and the largest key moved.
	lower, upper []byte

	keyBuf   []byte
	valueBuf []byte
}

// newSpill opens the temporary store and reserves a prefix in it.
func newSpill(store *tempStore) (*spill, error) {
	db, opts, err := store.db()
	if err != nil {
		return nil, err
	}
	return &spill{
		store:  store,
		db:     db,
		sstOpt: opts.MakeWriterOptions(0, db.TableFormat()),
		prefix: store.newPrefix(),
	}, nil
}

// key returns key under the spill's prefix, valid until the next call.
func (s *spill) key(key []byte) []byte {
	s.keyBuf = append(append(s.keyBuf[:0], s.prefix...), key...)
	return s.keyBuf
}

// get returns the tagged value spilled for key, or nil. The value is valid
// until the next call.
func (s *spill) get(key []byte) ([]byte, error) {
	value, closer, err := s.db.Get(s.key(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: read temporary store")
	}
	s.valueBuf = append(s.valueBuf[:0], value...)
	if err := closer.Close(); err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: read temporary store")
	}
	return s.valueBuf, nil
}

// written reports whether the spill holds a put or a delete of key, and
// the base of that write (zero for the transaction's startSeq).
func (s *spill) written(key []byte) (bool, uint64, error) {
	if bytes.Compare(key, s.lower) < 0 || bytes.Compare(key, s.upper) > 0 {
		return false, 0, nil
	}
	tagged, err := s.get(key)
	if tagged == nil || err != nil {
		return false, 0, err
	}
	tag, base, _ := parseWrite(tagged)
	return tag != writeNone, base, nil
}

// newIter returns an iterator over the spilled entries with keys in
// [lower, upper), keys shown without the prefix.
func (s *spill) newIter(lower, upper []byte) (*prefixIter, error) {
	opts := &pebble.IterOptions{
		LowerBound: append(bytes.Clone(s.prefix), lower...),
		UpperBound: PrefixEnd(s.prefix),
	}
	if upper != nil {
		opts.UpperBound = append(bytes.Clone(s.prefix), upper...)
	}
	inner, err := s.db.NewIter(opts)
	if err != nil {
		return nil, pgerror.Wrapf(err, pgcode.IoError, "kv: iterate temporary store")
	}
	return &prefixIter{Iterator: inner, prefix: s.prefix}, nil
}

// add ingests the entries of batch, which are sorted, as one sstable.
func (s *spill) add(batch *pebble.Batch) error {
	iter, err := batch.NewBatchOnlyIter(context.Background(), &pebble.IterOptions{})
	if err != nil {
		return pgerror.Wrapf(err, pgcode.InternalError, "kv: iterate write index")
	}
	files := s.newFiles(math.MaxInt)
	for valid := iter.First(); valid; valid = iter.Next() {
		var tagged []byte
		if tagged, err = iter.ValueAndErr(); err != nil {
			err = pgerror.Wrapf(err, pgcode.InternalError, "kv: read write index")
			break
		}
		key := iter.Key()
		if s.lower == nil || bytes.Compare(key, s.lower) < 0 {
			s.lower = bytes.Clone(key)
		}
		if s.upper == nil || bytes.Compare(key, s.upper) > 0 {
			s.upper = bytes.Clone(key)
		}
		if err = files.add(s.key(key), tagged, false); err != nil {
			break
		}
	}
	if closeErr := iter.Close(); err == nil && closeErr != nil {
		err = pgerror.Wrapf(closeErr, pgcode.InternalError, "kv: read write index")
	}
	return s.ingest(files, err)
}

// newFiles returns a writer of sstables for the temporary store.
func (s *spill) newFiles(maxBytes int) *sstFiles {
	return &sstFiles{fs: s.store.fs, newPath: s.store.newFilePath, opts: s.sstOpt, maxBytes: maxBytes}
}

// ingest finishes files and ingests them into the temporary store, or
// removes them when err, the error met while writing them, is not nil.
func (s *spill) ingest(files *sstFiles, err error) error {
	var paths []string
	if err == nil {
		paths, err = files.finish()
	}
	if err == nil {
		if err = ingest(s.db, paths); err != nil {
			err = pgerror.Wrapf(err, pgcode.IoError, "kv: ingest into temporary store")
		}
	}
	if err != nil {
		files.remove()
	}
	return err
}

// drop deletes the spilled entries.
func (s *spill) drop() {
	s.store.drop(s.prefix)
}

// anyWrittenIn reports whether the spill holds a put or a delete of a key
// in r.
func (s *spill) anyWrittenIn(r keyRange) (bool, error) {
	it, err := s.newIter(r.lower, r.upper)
	if err != nil {
		return false, err
	}
	found := false
	for valid := it.First(); valid && !found; valid = it.Next() {
		var tagged []byte
		if tagged, err = it.ValueAndErr(); err != nil {
			break
		}
		tag, _, _ := parseWrite(tagged)
		found = tag != writeNone
	}
	return found, closeIter(it, err)
}

// closeIter closes a temporary store iterator and returns err, or the
// iterator's error when err is nil.
func closeIter(it layerIter, err error) error {
	if closeErr := it.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return pgerror.Wrapf(err, pgcode.IoError, "kv: iterate temporary store")
	}
	return nil
}

// spillWrites moves the entries of the in-memory write index to the
// temporary store and releases the index. A batch that an open iterator
// still reads is kept until that iterator closes.
func (t *pebbleTxn) spillWrites() error {
	if t.spill == nil {
		s, err := newSpill(t.engine.temp)
		if err != nil {
			return err
		}
		t.spill = s
	}
	if err := t.spill.add(t.writes); err != nil {
		return err
	}
	retire := false
	for it := range t.iters {
		retire = retire || it.batch == t.writes
	}
	if t.getIter != nil {
		_ = t.getIter.Close()
		t.getIter = nil
	}
	if retire {
		t.retired = append(t.retired, t.writes)
	} else {
		_ = t.writes.Close()
	}
	// The next write creates a new batch.
	t.writes = nil
	return nil
}

// closeRetired closes batch if a spill retired it and no open iterator
// reads it any more.
func (t *pebbleTxn) closeRetired(batch *pebble.Batch) {
	i := slices.Index(t.retired, batch)
	if batch == nil || i < 0 {
		return
	}
	for it := range t.iters {
		if it.batch == batch {
			return
		}
	}
	_ = batch.Close()
	t.retired = slices.Delete(t.retired, i, i+1)
}

// layerIter is the interface txnIterator reads the write index through: a
// pebble iterator over the batch, one over the spill, or both merged.
type layerIter interface {
	First() bool
	SeekGE(key []byte) bool
	Last() bool
	Next() bool
	Prev() bool
	Key() []byte
	ValueAndErr() ([]byte, error)
	Error() error
	Close() error
}

// prefixIter is a pebble iterator over the keys under a prefix that shows
// and takes keys without it.
type prefixIter struct {
	*pebble.Iterator
	prefix []byte
	seek   []byte
}

func (it *prefixIter) SeekGE(key []byte) bool {
	it.seek = append(append(it.seek[:0], it.prefix...), key...)
	return it.Iterator.SeekGE(it.seek)
}

func (it *prefixIter) Key() []byte {
	return it.Iterator.Key()[len(it.prefix):]
}

// shadowIter merges two sorted iterators; at equal keys the top one wins
// and the bottom one's entry is skipped.
type shadowIter struct {
	top, bottom           layerIter
	topValid, bottomValid bool
	reverse               bool
	// onTop reports whether the current entry comes from top.
	onTop bool
}

func (it *shadowIter) First() bool {
	it.reverse = false
	it.topValid, it.bottomValid = it.top.First(), it.bottom.First()
	return it.settle()
}

func (it *shadowIter) SeekGE(key []byte) bool {
	it.reverse = false
	it.topValid, it.bottomValid = it.top.SeekGE(key), it.bottom.SeekGE(key)
	return it.settle()
}

func (it *shadowIter) Last() bool {
	it.reverse = true
	it.topValid, it.bottomValid = it.top.Last(), it.bottom.Last()
	return it.settle()
}

func (it *shadowIter) Next() bool { return it.advance() }

func (it *shadowIter) Prev() bool { return it.advance() }

// advance moves past the current key in the direction set by the last
// positioning call, which is the only one txnIterator uses.
func (it *shadowIter) advance() bool {
	step := layerIter.Next
	if it.reverse {
		step = layerIter.Prev
	}
	if it.onTop {
		if it.bottomValid && bytes.Equal(it.bottom.Key(), it.top.Key()) {
			it.bottomValid = step(it.bottom)
		}
		it.topValid = step(it.top)
	} else {
		it.bottomValid = step(it.bottom)
	}
	return it.settle()
}

func (it *shadowIter) settle() bool {
	switch {
	case it.topValid && it.bottomValid:
		cmp := bytes.Compare(it.top.Key(), it.bottom.Key())
		if it.reverse {
			cmp = -cmp
		}
		it.onTop = cmp <= 0
	case it.topValid || it.bottomValid:
		it.onTop = it.topValid
	default:
		return false
	}
	return true
}

func (it *shadowIter) current() layerIter {
	if it.onTop {
		return it.top
	}
	return it.bottom
}

func (it *shadowIter) Key() []byte { return it.current().Key() }

func (it *shadowIter) ValueAndErr() ([]byte, error) { return it.current().ValueAndErr() }

func (it *shadowIter) Error() error {
	if err := it.top.Error(); err != nil {
		return err
	}
	return it.bottom.Error()
}

func (it *shadowIter) Close() error {
	err := it.top.Close()
	if bottomErr := it.bottom.Close(); err == nil {
		err = bottomErr
	}
	return err
}

// undoLog is the undo information of a transaction with savepoints: for
// each write since the first savepoint, the key and its prior tagged value
// in the write index (nil when it had none). When the entries in memory
// outgrow the write buffer, they move to the temporary store, keyed by
// their position.
type undoLog struct {
	entries []undoEntry
	// nbytes estimates the memory of entries.
	nbytes int
	// spilled counts the entries in the temporary store, which precede
	// those in memory.
	spilled int
	spill   *spill
}

type undoEntry struct {
	key, tagged []byte
}

// undoEntryOverhead estimates the memory of an entry beside its bytes.
const undoEntryOverhead = 64

func (u *undoLog) len() int {
	return u.spilled + len(u.entries)
}

// add records the prior state of key.
func (u *undoLog) add(t *pebbleTxn, key, tagged []byte) error {
	u.entries = append(u.entries, undoEntry{key: bytes.Clone(key), tagged: bytes.Clone(tagged)})
	u.nbytes += len(key) + len(tagged) + undoEntryOverhead
	if u.nbytes < t.engine.writeBufferSize {
		return nil
	}
	if u.spill == nil {
		s, err := newSpill(t.engine.temp)
		if err != nil {
			return err
		}
		u.spill = s
	}
	files := u.spill.newFiles(math.MaxInt)
	var err error
	var buf []byte
	for i, e := range u.entries {
		buf = encodeUndo(buf[:0], e)
		if err = files.add(u.spill.key(undoPosition(u.spilled+i)), buf, false); err != nil {
			break
		}
	}
	if err := u.spill.ingest(files, err); err != nil {
		return err
	}
	u.spilled += len(u.entries)
	u.entries = u.entries[:0]
	u.nbytes = 0
	return nil
}

// rollback restores the state of every key written since the entry at
// token, newest first, and drops those entries.
func (u *undoLog) rollback(t *pebbleTxn, token int) error {
	for i := len(u.entries) - 1; i >= 0 && u.spilled+i >= token; i-- {
		if err := t.restoreWrite(u.entries[i].key, u.entries[i].tagged); err != nil {
			return err
		}
	}
	if token >= u.spilled {
		u.entries = u.entries[:token-u.spilled]
		u.nbytes = 0
		for _, e := range u.entries {
			u.nbytes += len(e.key) + len(e.tagged) + undoEntryOverhead
		}
		return nil
	}

	u.entries, u.nbytes = u.entries[:0], 0
	it, err := u.spill.newIter(undoPosition(token), undoPosition(u.spilled))
	if err != nil {
		return err
	}
	for valid := it.Last(); valid; valid = it.Prev() {
		var value []byte
		if value, err = it.ValueAndErr(); err != nil {
			break
		}
		e, decodeErr := decodeUndo(value)
		if decodeErr != nil {
			err = decodeErr
			break
		}
		if err = t.restoreWrite(e.key, e.tagged); err != nil {
			break
		}
	}
	if err = closeIter(it, err); err != nil {
		return err
	}
	// NB: the entries at token and after stay in the store until later
	// entries, ingested over them, shadow them.
	u.spilled = token
	return nil
}

// drop deletes the spilled entries.
func (u *undoLog) drop() {
	if u.spill != nil {
		u.spill.drop()
		u.spill = nil
	}
	u.entries, u.spilled, u.nbytes = nil, 0, 0
}

func undoPosition(i int) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(i))
}

// encodeUndo appends an entry as the length of its key, the key, and a
// byte that is 1 when the prior tagged value follows.
func encodeUndo(buf []byte, e undoEntry) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(e.key)))
	buf = append(buf, e.key...)
	if e.tagged == nil {
		return append(buf, 0)
	}
	return append(append(buf, 1), e.tagged...)
}

func decodeUndo(buf []byte) (undoEntry, error) {
	n, size := binary.Uvarint(buf)
	if size <= 0 || uint64(len(buf)-size) < n+1 {
		return undoEntry{}, pgerror.New(pgcode.DataCorrupted, "kv: malformed undo entry")
	}
	buf = buf[size:]
	e := undoEntry{key: bytes.Clone(buf[:n])}
	if buf[n] == 1 {
		e.tagged = bytes.Clone(buf[n+1:])
	}
	return e, nil
}
