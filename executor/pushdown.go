package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// pushDownFilter moves the conjuncts of a WHERE clause that read a single
// stored table of a join tree into that table's scan, where they narrow
// the key range and drop rows before the join. It returns what is left
// for after the join, or nil. A conjunct goes only where the join keeps
// the same rows either way: into both sides of an inner join, the
// preserved side of a left or right join, and neither side of a full
// join.
func pushDownFilter(rel relation, filter expr) expr {
	if _, ok := rel.(*joinRelation); !ok || filter == nil {
		return filter
	}
	var rest []expr
	for _, c := range flattenAnd(filter) {
		cols, ok := pushableColumns(c, nil)
		if !ok || len(cols) == 0 || !pushInto(rel, c, cols, 0) {
			rest = append(rest, c)
		}
	}
	switch len(rest) {
	case 0:
		return nil
	case 1:
		return rest[0]
	}
	return &andExpr{args: rest}
}

// pushableColumns returns the row positions e reads. ok is false when e
// holds anything whose place in the plan matters: subqueries, outer
// references, aggregates, window calls, volatile functions, or an
// expression kind this file does not know.
func pushableColumns(e expr, cols []int) ([]int, bool) {
	switch x := e.(type) {
	case nil:
		return cols, true
	case *columnExpr:
		return append(cols, x.idx), true
	case *constExpr, *paramExpr:
		return cols, true
	case *windowRefExpr, *srfRefExpr:
		return nil, false
	case *funcExpr:
		if x.fn.volatile {
			return nil, false
		}
	}
	children, known := exprChildren(e)
	if !known {
		return nil, false
	}
	for _, c := range children {
		var ok bool
		if cols, ok = pushableColumns(c, cols); !ok {
			return nil, false
		}
	}
	return cols, true
}

// pushInto places conjunct c, which reads the row positions cols, in the
// table of rel's tree that holds them. offset is where rel's columns
// start in the row c was compiled against.
func pushInto(rel relation, c expr, cols []int, offset int) bool {
	switch r := rel.(type) {
	case *tableRelation:
		if offset > 0 {
			var ok bool
			if c, ok = shiftColumns(c, offset); !ok {
				return false
			}
		}
		if r.filter == nil {
			r.filter = c
		} else {
			r.filter = &andExpr{args: append(flattenAnd(r.filter), c)}
		}
		if r.virtual == nil {
			r.spec = deriveScanSpec(r.table, r.codec, r.filter)
		}
		return true
	case *joinRelation:
		left, right := true, true
		for _, col := range cols {
			rel := col - offset
			left = left && rel < r.leftWidth
			right = right && rel >= r.leftWidth && rel < r.leftWidth+r.rightWidth
		}
		inner := r.kind == pg_query.JoinType_JOIN_INNER
		switch {
		case left && (inner || r.kind == pg_query.JoinType_JOIN_LEFT):
			return pushInto(r.left, c, cols, offset)
		case right && (inner || r.kind == pg_query.JoinType_JOIN_RIGHT):
			return pushInto(r.right, c, cols, offset+r.leftWidth)
		}
	}
	return false
}

// shiftColumns copies e with every column position lowered by offset. ok
// is false for expression kinds it does not copy.
func shiftColumns(e expr, offset int) (expr, bool) {
	shiftAll := func(args []expr) ([]expr, bool) {
		out := make([]expr, len(args))
		for i, a := range args {
			var ok bool
			if out[i], ok = shiftColumns(a, offset); !ok {
				return nil, false
			}
		}
		return out, true
	}
	switch x := e.(type) {
	case nil:
		return nil, true
	case *columnExpr:
		c := *x
		c.idx -= offset
		return &c, true
	case *constExpr, *paramExpr:
		return e, true
	case *castExpr:
		arg, ok := shiftColumns(x.arg, offset)
		c := *x
		c.arg = arg
		return &c, ok
	case *isNullExpr:
		arg, ok := shiftColumns(x.arg, offset)
		c := *x
		c.arg = arg
		return &c, ok
	case *notExpr:
		arg, ok := shiftColumns(x.arg, offset)
		return &notExpr{arg: arg}, ok
	case *andExpr:
		args, ok := shiftAll(x.args)
		return &andExpr{args: args}, ok
	case *orExpr:
		args, ok := shiftAll(x.args)
		return &orExpr{args: args}, ok
	case *compareExpr:
		lr, ok := shiftAll([]expr{x.left, x.right})
		if !ok {
			return nil, false
		}
		c := *x
		c.left, c.right = lr[0], lr[1]
		return &c, true
	case *inExpr:
		all, ok := shiftAll(append([]expr{x.left}, x.items...))
		if !ok {
			return nil, false
		}
		c := *x
		c.left, c.items = all[0], all[1:]
		return &c, true
	}
	return nil, false
}
