package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// A query whose ORDER BY is a prefix of an index's key columns can read
// its rows in index order instead of reading and sorting every row, and a
// LIMIT then stops the scan after the rows it returns. Index entries sort
// by the indexed values, then by the primary key, in ascending key
// encoding order, where NULL sorts first.
// A scan that reads the entries backwards gives the order of ORDER BY
// ... DESC, when every ORDER BY item is DESC.

// planScanOrder lets the table that feeds the rows of sp read them in the
// order of sp's ORDER BY, when an index gives that order, and marks the
// sort unnecessary. See orderSource for the tables that qualify.
func planScanOrder(sp *selectPlan) {
	if len(sp.sortKeys) == 0 || sp.aggregate || len(sp.windows) > 0 || sp.distinct || len(sp.distinctOn) > 0 {
		return
	}
	src := orderSource(sp)
	if src == nil {
		return
	}
	leaf := src.leaf
	keys := make([]orderKey, 0, len(sp.sortKeys))
	for _, k := range sp.sortKeys {
		var e expr
		if k.col < len(sp.targets) {
			e = sp.targets[k.col]
		} else {
			e = sp.extraSort[k.col-len(sp.targets)]
		}
		c, ok := e.(*columnExpr)
		if !ok {
			return
		}
		pos := src.leafPos(c.idx)
		if pos < 0 {
			return
		}
		keys = append(keys, orderKey{pos: pos, desc: k.desc, nullsFirst: k.nullsFirst})
	}
	byCol := src.bounds

	current := leaf.spec
	// A value list reads few entries, and sorting them is cheaper than an
	// ordered read of a longer range.
	if current.point || current.in != nil {
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

// scanOrderSource is the table scan whose order is the order of the rows
// of a query's FROM clause.
type scanOrderSource struct {
	leaf *tableRelation
	// leafPos maps a column position of the FROM rows to the row position
	// of the leaf's column, or -1 when the column is not one of them.
	leafPos func(pos int) int
	// bounds are the comparisons of the leaf's columns with values known
	// before the scan, by leaf row position, which may bound its key range.
	bounds map[int][]keyBound
}

// orderSource returns the table scan that decides the order of the rows
// of sp's FROM clause, or nil when there is none. That scan is a stored
// table read alone, or the leftmost item of inner and left joins, which
// return the matches of each left row in turn. It may also be the table of
// a subquery or view in FROM that neither sorts, groups nor limits its
// rows. RIGHT and FULL joins return their unmatched right rows last.
func orderSource(sp *selectPlan) *scanOrderSource {
	rel := sp.from
	joined := false
	for {
		switch r := rel.(type) {
		case *joinRelation:
			if r.kind != pg_query.JoinType_JOIN_INNER && r.kind != pg_query.JoinType_JOIN_LEFT {
				return nil
			}
			rel, joined = r.left, true
			continue
		case *lateralRelation:
			rel, joined = r.left, true
			continue
		case *tableRelation:
			if r.virtual != nil {
				return nil
			}
			filter := r.filter
			if joined && sp.filter != nil {
				// Each joined row keeps the values of its left row, so the
				// join's WHERE conditions on the leaf bound its scan. The
				// conditions pushed down into the leaf bound it too.
				filter = sp.filter
				if r.filter != nil {
					filter = &andExpr{args: append(flattenAnd(r.filter), flattenAnd(sp.filter)...)}
				}
			}
			tableWidth := len(r.table.Columns)
			src := &scanOrderSource{leaf: r, bounds: keyBounds(filter)}
			for pos := range src.bounds {
				if pos >= tableWidth {
					delete(src.bounds, pos)
				}
			}
			src.leafPos = func(pos int) int {
				if pos >= tableWidth {
					return -1
				}
				return pos
			}
			return src
		case *derivedRelation:
			return derivedOrderSource(r)
		}
		return nil
	}
}

// derivedOrderSource returns the scan order source of a subquery or view
// whose columns are the first columns of the FROM rows.
func derivedOrderSource(r *derivedRelation) *scanOrderSource {
	sub := r.plan
	if r.cte != nil || sub.from == nil || len(sub.sortKeys) > 0 || sub.limit != nil || sub.offset != nil ||
		sub.aggregate || len(sub.windows) > 0 || sub.distinct || len(sub.distinctOn) > 0 {
		return nil
	}
	inner := orderSource(sub)
	if inner == nil {
		return nil
	}
	return &scanOrderSource{
		leaf:   inner.leaf,
		bounds: inner.bounds,
		leafPos: func(pos int) int {
			if pos >= len(sub.targets) {
				return -1
			}
			c, ok := sub.targets[pos].(*columnExpr)
			if !ok {
				return -1
			}
			return inner.leafPos(c.idx)
		},
	}
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
	if spec.in != nil {
		return scanSpec{}, false
	}
	order := cols
	if ic != nil {
		spec.index = ic
		spec.point = spec.point && ic.desc.Unique
		// Entries with equal indexed values sort by primary key. On a
		// unique index only entries containing a NULL can be equal.
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
	direction := 0 // 1 ascending, -1 descending, 0 not yet known
	for _, k := range keys {
		// A column equal to one value in every row does not order them.
		if fixed(k.pos) {
			continue
		}
		for i < len(order) && fixed(order[i]) {
			i++
		}
		if i >= len(order) || order[i] != k.pos {
			return scanSpec{}, false
		}
		keyDirection := 1
		if k.desc {
			keyDirection = -1
		}
		if direction != 0 && direction != keyDirection {
			return scanSpec{}, false
		}
		direction = keyDirection
		col := &codec.table.Columns[k.pos]
		if !keyOrderMatchesSort(col.Type.OID) {
			return scanSpec{}, false
		}
		// NULL sorts first in keys, so it comes first in an ascending scan
		// and last in a reverse one. The other order needs a column
		// without NULLs, or a scan of the first column after the equality
		// prefix split at NULL.
		nullable := !col.NotNull && !isKeyColumn(codec, k.pos) && len(byCol[k.pos]) == 0
		if nullable && k.nullsFirst == k.desc {
			if i != len(spec.eq) || spec.lo != nil || spec.hi != nil {
				return scanSpec{}, false
			}
			spec.nullsLast, spec.nullsFirst = !k.desc, k.desc
		}
		i++
	}
	spec.reverse = direction < 0
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
// like compareTyped, which the sort of ORDER BY uses. character(n) keys
// leave out the trailing spaces the sort compares, and interval keys keep
// only the span, so those types sort.
func keyOrderMatchesSort(oid uint32) bool {
	switch oid {
	case oidBool, oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric,
		oidText, oidVarchar, oidName, oidBytea, oidDate, oidTimestamp, oidTimestamptz, oidTime, oidUUID, oidJSONB:
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
