package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// analyseDistinctOn resolves the DISTINCT ON items like ORDER BY items and
// checks them against ORDER BY as PostgreSQL's transformDistinctOnClause
// does: the ORDER BY items matching DISTINCT ON items must come before all
// others. DISTINCT ON items missing from ORDER BY are sorted on after it.
func (a *analyser) analyseDistinctOn(b *builder, sel *pg_query.SelectStmt, sp *selectPlan) error {
	cols := make([]int, len(sel.DistinctClause))
	for i, n := range sel.DistinctClause {
		col, err := a.orderByColumn(b, n, sp)
		if err != nil {
			return err
		}
		cols[i] = col
	}
	mismatch := pgerror.New(pgcode.InvalidColumnReference, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
	used := make([]bool, len(cols))
	skipped := false
	for si, key := range sp.sortKeys {
		sortNode := sel.SortClause[si].GetSortBy().Node
		hit := false
		for di, col := range cols {
			if col == key.col || sameNode(sel.DistinctClause[di], sortNode) {
				used[di], hit = true, true
			}
		}
		switch {
		case hit && skipped:
			return mismatch
		case !hit:
			skipped = true
		}
	}
	for di, col := range cols {
		if used[di] {
			continue
		}
		if skipped {
			return mismatch
		}
		sp.sortKeys = append(sp.sortKeys, sortKey{col: col, typ: sp.targets[col].resultType().OID})
	}
	sp.distinctOn = cols
	return nil
}

// distinctOnIter keeps the first row of each run of sorted rows that are
// equal in cols.
type distinctOnIter struct {
	src  rowIter
	cols []int
	// types are the type OIDs of cols.
	types []uint32
	last  []any
}

func (it *distinctOnIter) next(ec *evalContext) ([]any, error) {
	for {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		if it.last != nil && it.sameAsLast(row) {
			continue
		}
		it.last = make([]any, len(it.cols))
		for i, c := range it.cols {
			it.last[i] = row[c]
		}
		return row, nil
	}
}

func (it *distinctOnIter) sameAsLast(row []any) bool {
	for i, c := range it.cols {
		if !equalTyped(row[c], it.last[i], it.types[i]) {
			return false
		}
	}
	return true
}

func (it *distinctOnIter) close() { it.src.close() }
