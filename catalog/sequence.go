package catalog

import (
	"encoding/binary"
	"math"

	"github.com/pgkeep/pgkeep/kv"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// A sequence keeps its state under its sequence key (seqKey): last_value
// as 8 big-endian bytes and is_called as one byte, the two fields
// PostgreSQL stores in the sequence relation. A missing key means the
// sequence is unused: last_value is the start value and is_called is
// false.
//
// Named sequences (CREATE SEQUENCE) and the implicit sequences of serial
// and identity columns work the same way. An implicit sequence has no
// descriptor of its own: ColumnSequence builds one from the table and
// column, with the options PostgreSQL gives a serial column's sequence.
//
// Sequences reserve values ahead: nextval writes the state it would have
// after seqLogAhead further calls, then hands out those values from
// memory. A crash skips the unused values, as PostgreSQL skips the values
// it logged ahead; Close writes back the exact state.

// seqLogAhead is how many values a sequence reserves beyond the one
// nextval returns, the same as PostgreSQL's SEQ_LOG_VALS.
const seqLogAhead = 32

// seqState is the in-memory state of a sequence.
type seqState struct {
	// opts are the options the reserved values were computed with. A
	// descriptor with other options (after ALTER SEQUENCE) makes the next
	// call reserve again.
	opts   SequenceOptions
	last   int64
	called bool
	// logged counts the values after last that are already reserved in kv.
	logged int64
}

// stateKey returns the key of a sequence descriptor's state.
func stateKey(seq *TableDescriptor) seqKey { return seqKey{seq.ID, seq.Sequence.Column} }

// ColumnSequenceName is the name of the sequence of a serial or identity
// column: table_column_seq as PostgreSQL names it at creation, kept
// through renames of the table or column.
func ColumnSequenceName(t *TableDescriptor, c *ColumnDescriptor) string {
	if c.SequenceName != "" {
		return c.SequenceName
	}
	return t.Name + "_" + c.Name + "_seq"
}

// KeepSequenceNames records the current sequence names of t's serial and
// identity columns before a rename of the table or a column changes the
// names they derive from.
func KeepSequenceNames(t *TableDescriptor) {
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Identity != IdentityNone && !c.Hidden && c.SequenceName == "" {
			c.SequenceName = ColumnSequenceName(t, c)
		}
	}
}

// ColumnSequence returns a descriptor of the implicit sequence of column c
// of table t, a serial or identity column: ascending from 1 up to the
// largest value of the column's type. It is built on each call and never
// stored; its ID is the table's.
func ColumnSequence(t *TableDescriptor, c *ColumnDescriptor) *TableDescriptor {
	maxValue := int64(math.MaxInt64)
	switch c.Type.OID {
	case 21:
		maxValue = math.MaxInt16
	case 23:
		maxValue = math.MaxInt32
	}
	return &TableDescriptor{
		ID: t.ID, SchemaID: t.SchemaID, Name: ColumnSequenceName(t, c), Kind: TableKindSequence,
		Owner: t.Owner, Temporary: t.Temporary,
		Sequence: &SequenceOptions{
			TypeOID: c.Type.OID, Increment: 1, Min: 1, Max: maxValue, Start: 1, Cache: 1,
			OwnedByTable: t.ID, OwnedByColumn: c.ID, Column: c.ID,
		},
	}
}

func encodeSeqState(last int64, called bool) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 9), uint64(last))
	if called {
		return append(b, 1)
	}
	return append(b, 0)
}

// decodeSeqState reads a stored state. Column sequences of earlier
// versions stored 8 bytes: the first value not yet reserved.
func decodeSeqState(b []byte) (last int64, called bool, err error) {
	switch len(b) {
	case 9:
		return int64(binary.BigEndian.Uint64(b)), b[8] == 1, nil
	case 8:
		if next := int64(binary.BigEndian.Uint64(b)); next > 1 {
			return next - 1, true, nil
		}
		return 1, false, nil
	}
	return 0, false, pgerror.Internal("corrupt sequence state of %d bytes", len(b))
}

// SequenceStep returns the value a sequence hands out after v, and false
// when an increment past the bounds stops a sequence without CYCLE.
func SequenceStep(v int64, o *SequenceOptions) (int64, bool) {
	next := v + o.Increment
	overflow := (next > v) != (o.Increment > 0)
	if o.Increment > 0 && (overflow || next > o.Max) {
		return o.Min, o.Cycle
	}
	if o.Increment < 0 && (overflow || next < o.Min) {
		return o.Max, o.Cycle
	}
	return next, true
}

// sameSteps reports whether two option sets produce the same values.
func sameSteps(a, b *SequenceOptions) bool {
	return a.Increment == b.Increment && a.Min == b.Min && a.Max == b.Max && a.Cycle == b.Cycle
}

// NextValue returns the next value of a sequence, as nextval does. Like
// PostgreSQL's nextval it is not transactional: the value is used up
// whether or not the caller's transaction commits. Most calls need no kv
// write. It fails with 2200H when a sequence without CYCLE is exhausted.
func (c *Catalog) NextValue(seq *TableDescriptor) (int64, error) {
	s := &c.seqs
	opts := seq.Sequence
	k := stateKey(seq)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.mu.states[k]
	if st != nil && !sameSteps(&st.opts, opts) {
		st.opts = *opts
		st.logged = 0
	}
	if st == nil || st.logged == 0 {
		return s.reserveLocked(seq, st)
	}
	next, ok := SequenceStep(st.last, opts)
	if !ok {
		return 0, limitError(seq)
	}
	st.last, st.called = next, true
	st.logged--
	return next, nil
}

// reserveLocked returns the next value of seq and reserves the values
// after it with one kv write. st is the in-memory state, or nil when this
// process has not used the sequence yet; then the stored state is read.
func (s *sequences) reserveLocked(seq *TableDescriptor, st *seqState) (int64, error) {
	opts := seq.Sequence
	k := stateKey(seq)
	var next, end, logged int64
	err := s.update(k.key(), func(old []byte, found bool) ([]byte, error) {
		last, called := opts.Start, false
		switch {
		case st != nil:
			last, called = st.last, st.called
		case found:
			var err error
			if last, called, err = decodeSeqState(old); err != nil {
				return nil, err
			}
		}
		next = last
		if called {
			var ok bool
			if next, ok = SequenceStep(last, opts); !ok {
				return nil, limitError(seq)
			}
		}
		end, logged = next, 0
		for logged < seqLogAhead {
			v, ok := SequenceStep(end, opts)
			if !ok {
				break
			}
			end = v
			logged++
		}
		return encodeSeqState(end, true), nil
	})
	if err != nil {
		return 0, err
	}
	s.mu.states[k] = &seqState{opts: *opts, last: next, called: true, logged: logged}
	return next, nil
}

func limitError(seq *TableDescriptor) error {
	if seq.Sequence.Increment > 0 {
		return pgerror.Newf(pgcode.SequenceGeneratorLimitExceeded, "nextval: reached maximum value of sequence %q (%d)", seq.Name, seq.Sequence.Max)
	}
	return pgerror.Newf(pgcode.SequenceGeneratorLimitExceeded, "nextval: reached minimum value of sequence %q (%d)", seq.Name, seq.Sequence.Min)
}

// SetSequenceValue sets the state of a sequence, as setval and ALTER
// SEQUENCE RESTART do: with called false the next nextval returns last,
// with called true the value after it. Like setval in PostgreSQL, it
// commits at once, whatever happens to the caller's transaction. The
// caller has checked that last lies within the sequence's bounds.
func (c *Catalog) SetSequenceValue(seq *TableDescriptor, last int64, called bool) error {
	s := &c.seqs
	k := stateKey(seq)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.update(k.key(), func([]byte, bool) ([]byte, error) {
		return encodeSeqState(last, called), nil
	})
	if err != nil {
		return err
	}
	s.mu.states[k] = &seqState{opts: *seq.Sequence, last: last, called: called}
	return nil
}

// SequenceState returns the state of a sequence as PostgreSQL shows it in
// the sequence relation: last_value, log_cnt (the values reserved ahead)
// and is_called.
func (c *Catalog) SequenceState(seq *TableDescriptor) (last, logCount int64, called bool, err error) {
	s := &c.seqs
	k := stateKey(seq)
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.mu.states[k]; st != nil {
		return st.last, st.logged, st.called, nil
	}
	txn, err := s.engine.Begin()
	if err != nil {
		return 0, 0, false, err
	}
	defer txn.Rollback()
	b, found, err := txn.Get(k.key())
	if err != nil || !found {
		return seq.Sequence.Start, 0, false, err
	}
	last, called, err = decodeSeqState(b)
	return last, 0, called, err
}

// forgetSequences drops the in-memory state of the sequences stored with a
// table that is being dropped: its column sequences, or its own state when
// it is a sequence. When the drop rolls back, the next call reserves again
// from the stored state, which skips the values reserved before.
func (c *Catalog) forgetSequences(t *TableDescriptor) {
	s := &c.seqs
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mu.states, seqKey{t.ID, 0})
	for _, col := range t.Columns {
		if col.Identity != IdentityNone {
			delete(s.mu.states, seqKey{t.ID, col.ID})
		}
	}
}

// dropOwnedSequences drops the sequences declared OWNED BY a column of t.
func (c *Catalog) dropOwnedSequences(txn kv.Txn, t *TableDescriptor) error {
	for _, id := range t.OwnedSequences {
		seq, err := c.TableByID(txn, id)
		if err != nil {
			return err
		}
		// The sequence may have been dropped or given another owner since.
		if seq == nil || seq.Sequence == nil || seq.Sequence.OwnedByTable != t.ID {
			continue
		}
		if err := c.dropTable(txn, seq); err != nil {
			return err
		}
	}
	return nil
}

// update replaces the value at key in a transaction of its own, which
// commits before update returns. f receives the stored value and returns
// the new one. A commit that loses a conflict is retried.
func (s *sequences) update(key []byte, f func(old []byte, found bool) ([]byte, error)) error {
	for attempt := 0; ; attempt++ {
		txn, err := s.engine.Begin()
		if err != nil {
			return err
		}
		old, found, err := txn.Get(key)
		if err != nil {
			txn.Rollback()
			return err
		}
		value, err := f(old, found)
		if err == nil {
			err = txn.Put(key, value)
		}
		if err != nil {
			txn.Rollback()
			return err
		}
		err = txn.Commit()
		if err == nil {
			return nil
		}
		if !pgerror.HasCode(err, pgcode.SerializationFailure) || attempt > 100 {
			return err
		}
	}
}

// writeBackLocked stores the exact state of every sequence used since the
// start, for Close.
func (s *sequences) writeBackLocked(txn kv.Txn) error {
	for k, st := range s.mu.states {
		key := k.key()
		_, found, err := txn.Get(key)
		if err != nil {
			return err
		}
		// A missing key belongs to a sequence dropped since.
		if !found {
			continue
		}
		if err := txn.Put(key, encodeSeqState(st.last, st.called)); err != nil {
			return err
		}
	}
	s.mu.states = map[seqKey]*seqState{}
	return nil
}
