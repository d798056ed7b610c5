package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A query whose ORDER BY is a prefix of an index's key columns can read
// its rows in index order instead of reading and sorting every row, and a
// LIMIT then stops the scan after the rows it returns. Index entries sort
// by the indexed values, then by the primary key, in ascending key
// encoding order, where NULL sorts first.
//
// NOTE: kv iterators move forward only, so ORDER BY ... DESC always sorts.

// planScanOrder lets the table that feeds the rows of sp read them in the
// order of sp's ORDER BY, when an index gives that order, and marks the
// sort unnecessary. The table is the only one of the query or the
// leftmost of inner and left joins, which keep the order of their left
// side.
func planScanOrder(sp *selectPlan) {
	if len(sp.sortKeys) == 0 || sp.from == nil || sp.aggregate || len(sp.windows) > 0 ||
		sp.distinct || len(sp.distinctOn) > 0 {
		return
	}
	leaf, filter := orderedLeaf(sp.from)
	if leaf == nil || leaf.virtual != nil {
		return
	}
	if filter == nil {
		filter = sp.filter
	}
	width := len(leaf.table.Columns)
	keys := make([]orderKey, 0, len(sp.sortKeys))
	for _, k := range sp.sortKeys {
		var e expr
		if k.col < len(sp.targets) {
			e = sp.targets[k.col]
		} else {
			e = sp.extraSort[k.col-len(sp.targets)]
		}
		c, ok := e.(*columnExpr)
		if !ok || c.idx >= width {
			return
		}
		keys = append(keys, orderKey{pos: c.idx, desc: k.desc, nullsFirst: k.nullsFirst})
	}
	byCol := keyBounds(filter)
	for pos := range byCol {
		if pos >= width {
			delete(byCol, pos)
		}
	}

	current := leaf.spec
	if current.point {
		return
	}
	limited := sp.limit != nil
	var best *scanSpec
	var bestRank [3]int
	consider := func(spec scanSpec) {
		same := spec.index == current.index
		// Reading another index in order pays a row lookup per entry, which
		// is worth it only when a LIMIT stops the scan early, and only when
		// the index narrows the scan at least as much as the current one.
		if !same && (!limited || len(spec.eq) < len(current.eq)) {
			return
		}
		rank := [3]int{0, len(spec.eq), 0}
		if same {
			rank[0] = 1
		}
		if spec.lo != nil || spec.hi != nil {
			rank[2] = 1
		}
		if best == nil || rankAbove(rank, bestRank) {
			best, bestRank = &spec, rank
		}
	}
	if spec, ok := orderedSpec(leaf.codec, nil, keys, byCol); ok {
		consider(spec)
	}
	for _, ic := range leaf.codec.indexCodecs() {
		if spec, ok := orderedSpec(leaf.codec, ic, keys, byCol); ok {
			consider(spec)
		}
	}
	if best == nil {
		return
	}
	leaf.ordered = best
	sp.orderedBy = leaf
}

func rankAbove(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// orderKey is an ORDER BY item on a column of the scanned table, at row
// position pos.
type orderKey struct {
	pos        int
	desc       bool
	nullsFirst bool
}

// orderedLeaf returns the table relation whose scan order is the order of
// the rows of rel, and the filter pushed into it for a single table. It
// returns nil when no table scan decides the order.
func orderedLeaf(rel relation) (*tableRelation, expr) {
	switch r := rel.(type) {
	case *tableRelation:
		return r, r.filter
	case *joinRelation:
		// A join returns the matches of each left row in turn, except for
		// the unmatched right rows of RIGHT and FULL joins, which come last.
		if r.kind != pg_query.JoinType_JOIN_INNER && r.kind != pg_query.JoinType_JOIN_LEFT {
			return nil, nil
		}
		leaf, _ := orderedLeaf(r.left)
		return leaf, nil
	case *lateralRelation:
		leaf, _ := orderedLeaf(r.left)
		return leaf, nil
	}
	return nil, nil
}

// orderedSpec returns the spec of a scan of the index ic, or of the
// primary index when ic is nil, that returns rows in the order of keys,
// with the equality and range conditions of byCol on its leading columns.
// ok is false when the index does not give that order.
func orderedSpec(codec *rowCodec, ic *indexCodec, keys []orderKey, byCol map[int][]keyBound) (spec scanSpec, ok bool) {
	cols := codec.keyCols
	if ic != nil {
		cols = ic.cols
	}
	spec = specFor(cols, byCol)
	order := cols
	if ic != nil {
		spec.index = ic
		spec.point = spec.point && ic.desc.Unique
		// Entries with equal indexed values sort by primary key, also on a
		// unique index, where only entries holding a NULL can be equal.
		order = append(append([]int(nil), cols...), codec.keyCols...)
	}
	fixed := func(pos int) bool {
		for _, b := range byCol[pos] {
			if b.op == "=" {
				return true
			}
		}
		return false
	}
	i := len(spec.eq)
	for _, k := range keys {
		// A column equal to one value in every row does not order them.
		if fixed(k.pos) {
			continue
		}
		for i < len(order) && fixed(order[i]) {
			i++
		}
		if i >= len(order) || order[i] != k.pos || k.desc {
			return scanSpec{}, false
		}
		col := &codec.table.Columns[k.pos]
		if !keyOrderMatchesSort(col.Type.OID) {
			return scanSpec{}, false
		}
		// NULL sorts first in keys. The order of ASC NULLS LAST needs a
		// column without NULLs, or the nullsLast read of the first column
		// after the equality prefix.
		nullable := !col.NotNull && !isKeyColumn(codec, k.pos) && len(byCol[k.pos]) == 0
		if nullable && !k.nullsFirst {
			if i != len(spec.eq) || spec.lo != nil || spec.hi != nil {
				return scanSpec{}, false
			}
			spec.nullsLast = true
		}
		i++
	}
	return spec, true
}

func isKeyColumn(codec *rowCodec, pos int) bool {
	for _, c := range codec.keyCols {
		if c == pos {
			return true
		}
	}
	return false
}

// keyOrderMatchesSort reports whether the key encoding of a type sorts
// like compareDatums, which the sort of ORDER BY uses. character(n) keys
// leave out the trailing spaces the sort compares, and interval keys keep
// only the span, so those types sort.
func keyOrderMatchesSort(oid uint32) bool {
	switch oid {
	case oidBool, oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric,
		oidText, oidVarchar, oidName, oidBytea, oidDate, oidTimestamp, oidTimestamptz, oidUUID:
		return true
	}
	return false
}

// readsInOrder reports whether r reads its rows in the order of the
// query's ORDER BY in this execution. A reader of every owner's rows of a
// USER or STREAM table reads them owner by owner, which is not that order.
func (r *tableRelation) readsInOrder(ec *evalContext) bool {
	if r == nil || r.ordered == nil {
		return false
	}
	return !r.codec.perUser || !ec.readsAllUsersRows()
}
