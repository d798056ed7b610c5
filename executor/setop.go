package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// setOperation is UNION, INTERSECT or EXCEPT, with or without ALL.
type setOperation struct {
	op          pg_query.SetOperation
	all         bool
	left, right *selectPlan
}

func setOpName(op pg_query.SetOperation) string {
	switch op {
	case pg_query.SetOperation_SETOP_INTERSECT:
		return "INTERSECT"
	case pg_query.SetOperation_SETOP_EXCEPT:
		return "EXCEPT"
	}
	return "UNION"
}

// analyseSetOp analyses both sides, gives each output column the common
// type of the two sides, and applies ORDER BY and LIMIT to the result.
func (a *analyser) analyseSetOp(sel *pg_query.SelectStmt) (*selectPlan, error) {
	if err := a.analyseWith(sel.WithClause); err != nil {
		return nil, err
	}
	left, err := a.child(a.outer).analyseSelect(sel.Larg)
	if err != nil {
		return nil, err
	}
	right, err := a.child(a.outer).analyseSelect(sel.Rarg)
	if err != nil {
		return nil, err
	}
	name := setOpName(sel.Op)
	if len(left.targets) != len(right.targets) {
		return nil, pgerror.Newf(pgcode.SyntaxError, "each %s query must have the same number of columns", name)
	}
	b := &builder{sess: a.sess, params: a.params, clause: name}
	sp := &selectPlan{setOp: &setOperation{op: sel.Op, all: sel.All, left: left, right: right}}
	sc := &scope{parent: a.outer}
	for i := range left.targets {
		typ, err := b.unifyAll([]expr{left.targets[i], right.targets[i]}, name)
		if err != nil {
			return nil, err
		}
		if left.targets[i], err = b.castTo(left.targets[i], typ, false); err != nil {
			return nil, err
		}
		if right.targets[i], err = b.castTo(right.targets[i], typ, false); err != nil {
			return nil, err
		}
		fields := setOpRecordFields(left.targets[i], right.targets[i])
		sp.targets = append(sp.targets, &columnExpr{idx: i, typ: typ, name: left.names[i], fields: fields})
		sp.names = append(sp.names, left.names[i])
		sc.cols = append(sc.cols, scopeColumn{name: left.names[i], typ: typ, fields: fields})
	}
	sp.scope = sc
	ob := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "ORDER BY"}
	if err := a.analyseOrderBy(ob, sel.SortClause, sp); err != nil {
		return nil, err
	}
	return sp, a.analyseLimit(sel, sp)
}

// run computes the combined rows.
func (s *setOperation) run(ec *evalContext) ([][]any, error) {
	left, err := materialize(ec, s.left)
	if err != nil {
		return nil, err
	}
	right, err := materialize(ec, s.right)
	if err != nil {
		return nil, err
	}
	width := len(s.left.targets)
	types := exprTypes(s.left.targets)
	key := func(row []any) (string, error) { return groupKey(row[:width], types) }

	switch s.op {
	case pg_query.SetOperation_SETOP_UNION:
		all := append(left, right...)
		if s.all {
			return all, nil
		}
		return distinctRows(all, key)
	case pg_query.SetOperation_SETOP_INTERSECT, pg_query.SetOperation_SETOP_EXCEPT:
		counts := map[string]int{}
		for _, r := range right {
			k, err := key(r)
			if err != nil {
				return nil, err
			}
			counts[k]++
		}
		intersect := s.op == pg_query.SetOperation_SETOP_INTERSECT
		var out [][]any
		emitted := map[string]bool{}
		for _, r := range left {
			k, err := key(r)
			if err != nil {
				return nil, err
			}
			inRight := counts[k] > 0
			if s.all {
				// Each right row cancels or matches one left row.
				if inRight {
					counts[k]--
				}
				if inRight == intersect {
					out = append(out, r)
				}
				continue
			}
			if inRight == intersect && !emitted[k] {
				emitted[k] = true
				out = append(out, r)
			}
		}
		return out, nil
	}
	return nil, pgerror.NotSupported("set operation " + s.op.String())
}

func distinctRows(rows [][]any, key func([]any) (string, error)) ([][]any, error) {
	seen := map[string]bool{}
	var out [][]any
	for _, r := range rows {
		k, err := key(r)
		if err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out, nil
}
