package executor

import (
	"bytes"
	"slices"
	"time"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/kv"
)

// scanSpec narrows a scan of the primary index: equality on a prefix of the
// key columns, then an optional range on the next key column. Values are
// expressions so that parameters are read at execution time.
type scanSpec struct {
	eq []expr
	// lo and hi bound the key column after the equality prefix; nil is
	// unbounded.
	lo, hi              expr
	loInclusive, hiIncl bool
	// point is set when every key column has an equality.
	point bool
	// index, when set, makes the scan read a secondary index, whose key
	// columns the spec then constrains.
	index *indexCodec
	// nullsLast makes a scan without a range read the entries whose key
	// column after the equality prefix is NULL after all the others. Keys
	// sort NULL first, and this gives the order of ORDER BY ... NULLS LAST.
	nullsLast bool
	// reverse makes the scan read the entries from the last one back, for
	// ORDER BY ... DESC.
	reverse bool
	// nullsFirst, on a reverse scan without a range, reads the NULL
	// entries before the others, which a reverse scan reads NULL last. This
	// gives the order of ORDER BY ... DESC NULLS FIRST.
	nullsFirst bool
	// in, when set, lists the values of the key column after the equality
	// prefix, from an IN list or = ANY (array): the scan reads the entries
	// of each value in key order. point is then set when each value
	// completes the key.
	in *inBound
	// conds are the conjuncts of the filter that the key range enforces,
	// which EXPLAIN shows as the Index Cond.
	conds []expr
}

// inBound is the value list of an IN list or of = ANY (array): either
// items, or array, whose value is an array.
type inBound struct {
	items []expr
	array expr
}

// scanIter reads rows of a table in primary key order and applies a filter.
//
// On a USER or STREAM table it reads only the rows of owner, unless
// allOwners is set (a privileged reader), and it fills the _user slot.
// Rows of a STREAM table older than its TTL are skipped.
type scanIter struct {
	codec  *rowCodec
	txn    kv.Txn
	spec   scanSpec
	filter expr

	owner     uint32
	allOwners bool
	// expiredBefore is the insert time, in microseconds, before which STREAM
	// rows are invisible; 0 disables the check.
	expiredBefore int64
	ownerNames    map[uint32]string
	ownerLookup   func(id uint32) (string, error)

	it      kv.Iterator
	row     []any
	started bool
	done    bool
	seen    int
	// secondIt reads the second part of a scan split at NULL after it: the
	// NULL entries of a nullsLast scan, or the other entries of a
	// nullsFirst scan. It is opened with it, so that it does not see rows
	// that the statement writes while it reads, as an INSERT ... SELECT
	// does.
	secondIt kv.Iterator

	// inKeys are the key prefixes of the values of spec.in, sorted and
	// without duplicates, and inPos the one the scan reads.
	inKeys [][]byte
	inPos  int

	// keysRead counts the index entries and rows read, and finish adds it
	// to *keysReadTotal.
	keysRead      int64
	keysReadTotal *int64
}

// scanMode selects which owners' rows a scan of a per-user table reads.
type scanMode int

const (
	// scanForRead reads all owners' rows when the session's role may.
	scanForRead scanMode = iota
	// scanForWrite reads only the rows of the user the statement acts as.
	scanForWrite
)

func newScanIter(ec *evalContext, codec *rowCodec, spec scanSpec, filter expr, mode scanMode) *scanIter {
	s := &scanIter{codec: codec, txn: ec.sess.txn.kv, spec: spec, filter: filter, row: make([]any, codec.width()), keysReadTotal: &ec.sess.keysRead}
	if !codec.perUser {
		return s
	}
	s.owner = ec.actor().ID
	s.allOwners = mode == scanForRead && ec.readsAllUsersRows()
	if s.allOwners {
		// A key condition cannot narrow a scan across every owner's rows.
		s.spec = scanSpec{}
	}
	if codec.table.Kind == catalog.TableKindStream && codec.table.TTLSeconds > 0 {
		s.expiredBefore = ec.now().Add(-time.Duration(codec.table.TTLSeconds) * time.Second).UnixMicro()
	}
	s.ownerNames = map[uint32]string{}
	s.ownerLookup = func(id uint32) (string, error) {
		u, err := ec.sess.srv.cat.UserByID(s.txn, id)
		if err != nil || u == nil {
			return "", err
		}
		return u.Name, nil
	}
	return s
}

// bounds computes the key range from the spec. ok is false when a bound
// is NULL, so no row can match.
func (s *scanIter) bounds(ec *evalContext) (lower, upper []byte, ok bool, err error) {
	vals := make([]any, 0, len(s.spec.eq)+1)
	for _, e := range s.spec.eq {
		v, err := e.eval(ec, nil)
		if err != nil {
			return nil, nil, false, err
		}
		if v == nil {
			return nil, nil, false, nil
		}
		vals = append(vals, v)
	}
	if s.allOwners {
		prefix := s.codec.prefix
		return prefix, kv.PrefixEnd(prefix), true, nil
	}
	prefix, keyCols, err := s.keyPrefix(vals)
	if err != nil {
		return nil, nil, false, err
	}
	if s.spec.in != nil {
		s.inKeys, err = s.inPrefixes(ec, prefix, s.codec.table.Columns[keyCols[len(vals)]].Type.OID)
		if err != nil || len(s.inKeys) == 0 {
			return nil, nil, false, err
		}
		return s.inKeys[0], kv.PrefixEnd(s.inKeys[len(s.inKeys)-1]), true, nil
	}
	lower, upper = prefix, kv.PrefixEnd(prefix)
	if s.spec.point {
		return prefix, nil, true, nil
	}
	// Equality on every column of a non-unique index reads the entries
	// that share the values.
	if len(vals) >= len(keyCols) || (s.spec.lo == nil && s.spec.hi == nil) {
		return lower, upper, true, nil
	}
	colType := s.codec.table.Columns[keyCols[len(vals)]].Type.OID
	if s.spec.lo != nil {
		v, err := s.spec.lo.eval(ec, nil)
		if err != nil || v == nil {
			return nil, nil, false, err
		}
		k, err := encodeKeyDatum(append([]byte(nil), prefix...), v, colType)
		if err != nil {
			return nil, nil, false, err
		}
		if s.spec.loInclusive {
			lower = k
		} else {
			lower = kv.PrefixEnd(k)
		}
	} else {
		// Skip NULLs, which sort first and never satisfy a comparison.
		lower = kv.PrefixEnd(kv.EncodeNull(append([]byte(nil), prefix...)))
	}
	if s.spec.hi != nil {
		v, err := s.spec.hi.eval(ec, nil)
		if err != nil || v == nil {
			return nil, nil, false, err
		}
		k, err := encodeKeyDatum(append([]byte(nil), prefix...), v, colType)
		if err != nil {
			return nil, nil, false, err
		}
		if s.spec.hiIncl {
			upper = kv.PrefixEnd(k)
		} else {
			upper = k
		}
	}
	return lower, upper, true, nil
}

// inPrefixes encodes each value of the IN list after prefix, sorted and
// without duplicates. NULLs match no row and are left out.
func (s *scanIter) inPrefixes(ec *evalContext, prefix []byte, colType uint32) ([][]byte, error) {
	var values []any
	if s.spec.in.array != nil {
		v, err := s.spec.in.array.eval(ec, nil)
		if err != nil || v == nil {
			return nil, err
		}
		values = arrayElements(v.([]any))
	} else {
		values = make([]any, len(s.spec.in.items))
		for i, item := range s.spec.in.items {
			v, err := item.eval(ec, nil)
			if err != nil {
				return nil, err
			}
			values[i] = v
		}
	}
	keys := make([][]byte, 0, len(values))
	for _, v := range values {
		if v == nil {
			continue
		}
		k, err := encodeKeyDatum(append([]byte(nil), prefix...), v, colType)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, bytes.Compare)
	return slices.CompactFunc(keys, bytes.Equal), nil
}

// keyPrefix encodes the equality values after the prefix of the index the
// scan reads, and returns the row positions of that index's key columns.
func (s *scanIter) keyPrefix(vals []any) ([]byte, []int, error) {
	ic := s.spec.index
	if ic == nil {
		prefix, err := s.codec.encodeKeyPrefix(vals, s.owner)
		return prefix, s.codec.keyCols, err
	}
	key := append([]byte(nil), ic.entryPrefix(s.codec, s.owner)...)
	var err error
	for j, v := range vals {
		if key, err = encodeKeyDatum(key, v, s.codec.table.Columns[ic.cols[j]].Type.OID); err != nil {
			return nil, nil, err
		}
	}
	return key, ic.cols, nil
}

// rowFromEntry turns an entry of the index the scan reads into the row's key and
// value. found is false for an entry whose row is gone, which a correct
// index never has.
func (s *scanIter) rowFromEntry(key, value []byte) (rowKey, rowValue []byte, found bool, err error) {
	if s.spec.index == nil {
		return key, value, true, nil
	}
	return s.lookupRow(value)
}

func (s *scanIter) next(ec *evalContext) ([]any, error) {
	if s.done {
		return nil, nil
	}
	var positioned bool
	if !s.started {
		s.started = true
		lower, upper, ok, err := s.bounds(ec)
		if err != nil {
			return nil, err
		}
		if !ok {
			s.done = true
			return nil, nil
		}
		// A value list is read with one iterator even when each value
		// completes the key: unlike Get, it does not see the rows that the
		// statement writes while it reads, as an UPDATE of the key does.
		if s.spec.point && s.spec.in == nil {
			s.done = true
			s.keysRead++
			val, found, err := s.txn.Get(lower)
			if err != nil || !found {
				return nil, err
			}
			rowKey, rowVal, found, err := s.rowFromEntry(lower, val)
			if err != nil || !found {
				return nil, err
			}
			if ok, err := s.load(rowKey, rowVal); err != nil || !ok {
				return nil, err
			}
			return s.filtered(ec)
		}
		var nullIt kv.Iterator
		if s.spec.nullsLast || s.spec.nullsFirst {
			// The planner splits only scans without a range, so lower is
			// the prefix that the equality values end.
			nulls := kv.EncodeNull(append([]byte(nil), lower...))
			lower = kv.PrefixEnd(nulls)
			if nullIt, err = s.txn.NewIterator(nulls, lower); err != nil {
				return nil, err
			}
		}
		if s.it, err = s.txn.NewIterator(lower, upper); err != nil {
			if nullIt != nil {
				_ = nullIt.Close()
			}
			return nil, err
		}
		s.secondIt = nullIt
		if s.spec.nullsFirst {
			s.it, s.secondIt = nullIt, s.it
		}
		positioned = s.first()
	} else {
		positioned = s.step()
	}
	for {
		if !positioned {
			more, err := s.nextRange()
			if err != nil || !more {
				return nil, err
			}
			positioned = s.first()
			continue
		}
		s.seen++
		s.keysRead++
		if s.seen%1024 == 0 {
			if err := ec.checkCancel(); err != nil {
				return nil, err
			}
		}
		rowKey, rowVal, found, err := s.rowFromEntry(s.it.Key(), s.it.Value())
		if err != nil {
			return nil, err
		}
		ok := false
		if found {
			if ok, err = s.load(rowKey, rowVal); err != nil {
				return nil, err
			}
		}
		if ok {
			row, err := s.filtered(ec)
			if err != nil || row != nil {
				return row, err
			}
		}
		positioned = s.step()
	}
}

// first positions the iterator at the first entry in the scan's direction.
func (s *scanIter) first() bool {
	switch {
	case s.spec.reverse:
		return s.it.Last()
	case s.inKeys != nil:
		return s.seekIn()
	}
	return s.it.First()
}

// step moves the iterator to the next entry in the scan's direction. In a
// scan of IN values it moves on to the next value after the last entry of
// one.
func (s *scanIter) step() bool {
	switch {
	case s.spec.reverse:
		return s.it.Prev()
	case s.inKeys != nil:
		if s.it.Next() && bytes.HasPrefix(s.it.Key(), s.inKeys[s.inPos]) {
			return true
		}
		s.inPos++
		return s.seekIn()
	}
	return s.it.Next()
}

// seekIn positions the iterator at the first entry of the IN value at
// inPos, or of the next value that has entries.
func (s *scanIter) seekIn() bool {
	for ; s.inPos < len(s.inKeys); s.inPos++ {
		prefix := s.inKeys[s.inPos]
		if s.it.SeekGE(prefix) && bytes.HasPrefix(s.it.Key(), prefix) {
			return true
		}
	}
	return false
}

// nextRange closes the exhausted iterator and moves on to the second part
// of a scan split at NULL. It reports false when no range is left.
func (s *scanIter) nextRange() (bool, error) {
	if s.secondIt == nil {
		return false, s.finish()
	}
	err := s.it.Close()
	s.it, s.secondIt = s.secondIt, nil
	return err == nil, err
}

// load decodes a stored row into s.row. It reports false for a STREAM row
// past its TTL.
func (s *scanIter) load(key, value []byte) (bool, error) {
	created, err := s.codec.decodeValue(value, s.row)
	if err != nil {
		return false, err
	}
	if s.expiredBefore != 0 && created < s.expiredBefore {
		return false, nil
	}
	if !s.codec.perUser {
		return true, nil
	}
	owner := s.owner
	if s.allOwners {
		owner = s.codec.ownerOf(key)
	}
	name, ok := s.ownerNames[owner]
	if !ok {
		if name, err = s.ownerLookup(owner); err != nil {
			return false, err
		}
		s.ownerNames[owner] = name
	}
	s.row[s.codec.ownerSlot()] = name
	return true, nil
}

// filtered returns the current row when it passes the filter, else nil.
func (s *scanIter) filtered(ec *evalContext) ([]any, error) {
	if s.filter == nil {
		return s.row, nil
	}
	ok, err := s.filter.eval(ec, s.row)
	if err != nil {
		return nil, err
	}
	if ok == true {
		return s.row, nil
	}
	return nil, nil
}

func (s *scanIter) finish() error {
	s.done = true
	*s.keysReadTotal += s.keysRead
	s.keysRead = 0
	var err error
	if s.secondIt != nil {
		err = s.secondIt.Close()
		s.secondIt = nil
	}
	if s.it != nil {
		if closeErr := s.it.Close(); err == nil {
			err = closeErr
		}
		s.it = nil
	}
	return err
}

func (s *scanIter) close() { _ = s.finish() }

// deriveScanSpec looks for conditions on the primary key among the AND-ed
// conjuncts of filter. The filter is still applied to every row, so the
// spec only has to be a superset of the matching rows.
func deriveScanSpec(t *catalog.TableDescriptor, codec *rowCodec, filter expr) scanSpec {
	if filter == nil {
		return scanSpec{}
	}
	byCol := keyBounds(filter)
	best := specFor(codec.keyCols, byCol)
	if best.point {
		return best
	}
	// A secondary index wins when it constrains more leading columns, or
	// as many with a point lookup on a unique index.
	for _, ic := range codec.indexCodecs() {
		spec := specFor(ic.cols, byCol)
		spec.point = spec.point && ic.desc.Unique
		spec.index = ic
		if len(spec.eq) == 0 && spec.lo == nil && spec.hi == nil && spec.in == nil {
			continue
		}
		if spec.point || specRank(spec) > specRank(best) {
			best = spec
		}
	}
	return best
}

// specRank orders the specs of a scan by how much they narrow it: the
// number of equalities, then a value list, then a range.
func specRank(spec scanSpec) int {
	rank := 4 * len(spec.eq)
	switch {
	case spec.in != nil:
		rank += 2
	case spec.lo != nil || spec.hi != nil:
		rank++
	}
	return rank
}

// keyBound is one comparison of a column with a value known before the
// scan starts.
type keyBound struct {
	op  string
	val expr
	// in holds the values of op "in".
	in *inBound
	// cond is the conjunct the comparison comes from.
	cond expr
}

// keyBounds collects the comparisons among the AND-ed conjuncts of filter,
// by row position of the column. An IN list or = ANY (array) of values
// known before the scan gives a bound with op "in".
func keyBounds(filter expr) map[int][]keyBound {
	byCol := map[int][]keyBound{}
	for _, c := range flattenAnd(filter) {
		if col, in := keyValueList(c); col != nil {
			byCol[col.idx] = append(byCol[col.idx], keyBound{op: "in", in: in, cond: c})
			continue
		}
		cmp, ok := c.(*compareExpr)
		if !ok || cmp.op == "<>" || cmp.bpchar {
			continue
		}
		col, val, op := keyComparison(cmp)
		if col == nil {
			continue
		}
		if !isRuntimeConstant(val) || val.resultType().OID != col.typ.OID {
			continue
		}
		byCol[col.idx] = append(byCol[col.idx], keyBound{op: op, val: val, cond: c})
	}
	return byCol
}

// keyValueList returns the column and the values of "column IN (values)"
// or "column = ANY (array)", when the values are known before the scan and
// have the column's type, or a nil column.
func keyValueList(c expr) (*columnExpr, *inBound) {
	switch e := c.(type) {
	case *inExpr:
		col, ok := e.left.(*columnExpr)
		if !ok || e.not || col.typ.OID == oidBpchar {
			return nil, nil
		}
		for _, item := range e.items {
			if !isRuntimeConstant(item) || item.resultType().OID != col.typ.OID {
				return nil, nil
			}
		}
		return col, &inBound{items: e.items}
	case *anyArrayExpr:
		col, ok := e.left.(*columnExpr)
		if !ok || e.all || col.typ.OID == oidBpchar || !isRuntimeConstant(e.array) || arrayElem(e.array.resultType().OID) != col.typ.OID {
			return nil, nil
		}
		// The test must be plain equality of the column's type.
		if cmp, ok := e.test.(*compareExpr); !ok || cmp.op != "=" || cmp.bpchar {
			return nil, nil
		}
		return col, &inBound{array: e.array}
	}
	return nil, nil
}

// specFor builds the spec of an index with the given key columns:
// equalities on a leading run of them, then a value list or a range on
// the next one.
func specFor(keyCols []int, byCol map[int][]keyBound) scanSpec {
	var spec scanSpec
	for _, pos := range keyCols {
		bs := byCol[pos]
		var eq *keyBound
		for i := range bs {
			if bs[i].op == "=" {
				eq = &bs[i]
				break
			}
		}
		if eq != nil {
			spec.eq = append(spec.eq, eq.val)
			spec.conds = append(spec.conds, eq.cond)
			continue
		}
		if in := slices.IndexFunc(bs, func(b keyBound) bool { return b.op == "in" }); in >= 0 {
			spec.in = bs[in].in
			spec.conds = append(spec.conds, bs[in].cond)
			spec.point = len(spec.eq)+1 == len(keyCols)
			return spec
		}
		for _, b := range bs {
			switch b.op {
			case ">", ">=":
				if spec.lo == nil {
					spec.lo, spec.loInclusive = b.val, b.op == ">="
					spec.conds = append(spec.conds, b.cond)
				}
			case "<", "<=":
				if spec.hi == nil {
					spec.hi, spec.hiIncl = b.val, b.op == "<="
					spec.conds = append(spec.conds, b.cond)
				}
			}
		}
		break
	}
	spec.point = len(spec.eq) == len(keyCols)
	return spec
}

// keyComparison returns the column, the other operand and the operator of
// "column op value" or "value op column", with the operator turned around
// for the second form.
func keyComparison(cmp *compareExpr) (*columnExpr, expr, string) {
	if c, ok := cmp.left.(*columnExpr); ok {
		return c, cmp.right, cmp.op
	}
	if c, ok := cmp.right.(*columnExpr); ok {
		flipped := map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[cmp.op]
		return c, cmp.left, flipped
	}
	return nil, nil, ""
}

// isRuntimeConstant reports whether e has the same value for every row.
func isRuntimeConstant(e expr) bool {
	switch x := e.(type) {
	case *constExpr, *paramExpr:
		return true
	case *castExpr:
		return isRuntimeConstant(x.arg)
	}
	return false
}

func flattenAnd(e expr) []expr {
	a, ok := e.(*andExpr)
	if !ok {
		return []expr{e}
	}
	var out []expr
	for _, arg := range a.args {
		out = append(out, flattenAnd(arg)...)
	}
	return out
}
