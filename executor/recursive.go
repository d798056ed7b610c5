package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// maxRecursiveIterations bounds the iterations of a WITH RECURSIVE query,
// so a recursion that never ends fails instead of running out of memory.
// PostgreSQL has no such bound.
const maxRecursiveIterations = 1_000_000

// recursiveCTE is a WITH RECURSIVE query of the form non-recursive-term
// UNION [ALL] recursive-term. Each iteration runs the recursive term with
// the rows of the previous iteration (the working table) as the CTE's
// contents, until an iteration returns no new rows.
type recursiveCTE struct {
	cte                     *cteDef
	nonRecursive, recursive *selectPlan
	// all keeps duplicate rows (UNION ALL).
	all bool
}

// visitMessages calls visit on m and every message below it, skipping
// the messages below one for which visit returns false.
func visitMessages(m protoreflect.Message, visit func(protoreflect.Message) bool) {
	if !visit(m) {
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() != protoreflect.MessageKind:
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				visitMessages(list.Get(i).Message(), visit)
			}
		case !fd.IsMap():
			visitMessages(v.Message(), visit)
		}
		return true
	})
}

// countTableReferences counts the unqualified references to a table name
// in a parse tree.
func countTableReferences(m protoreflect.Message, name string) int {
	count := 0
	visitMessages(m, func(x protoreflect.Message) bool {
		if rv, ok := x.Interface().(*pg_query.RangeVar); ok && rv.Schemaname == "" && rv.Relname == name {
			count++
		}
		return true
	})
	return count
}

// countSubqueryReferences counts the references to a table name inside
// subqueries used as expressions.
func countSubqueryReferences(m protoreflect.Message, name string) int {
	count := 0
	visitMessages(m, func(x protoreflect.Message) bool {
		if sl, ok := x.Interface().(*pg_query.SubLink); ok {
			count += countTableReferences(sl.ProtoReflect(), name)
			return false
		}
		return true
	})
	return count
}

// analyseRecursiveCTE analyses a WITH RECURSIVE query that refers to
// itself and adds it to the analyser's WITH queries. The column types are
// those of the non-recursive term.
func (a *analyser) analyseRecursiveCTE(c *pg_query.CommonTableExpr, sel *pg_query.SelectStmt) error {
	name := c.Ctename
	switch {
	case sel.Op != pg_query.SetOperation_SETOP_UNION:
		return pgerror.Newf(pgcode.InvalidRecursion, "recursive query %q does not have the form non-recursive-term UNION [ALL] recursive-term", name).WithPosition(c.Location + 1)
	case countTableReferences(sel.Larg.ProtoReflect(), name) > 0:
		return pgerror.Newf(pgcode.InvalidRecursion, "recursive reference to query %q must not appear within its non-recursive term", name)
	case countSubqueryReferences(sel.Rarg.ProtoReflect(), name) > 0:
		return pgerror.Newf(pgcode.InvalidRecursion, "recursive reference to query %q must not appear within a subquery", name)
	case countTableReferences(sel.Rarg.ProtoReflect(), name) > 1:
		return pgerror.Newf(pgcode.InvalidRecursion, "recursive reference to query %q must not appear more than once", name)
	case len(sel.SortClause) > 0:
		return pgerror.New(pgcode.FeatureNotSupported, "ORDER BY in a recursive query is not implemented")
	case sel.LimitOffset != nil:
		return pgerror.New(pgcode.FeatureNotSupported, "OFFSET in a recursive query is not implemented")
	case sel.LimitCount != nil:
		return pgerror.New(pgcode.FeatureNotSupported, "LIMIT in a recursive query is not implemented")
	case sel.WithClause != nil:
		return pgerror.NotSupported("WITH inside a recursive query")
	}
	left, err := a.child(a.outer).analyseSelect(sel.Larg)
	if err != nil {
		return err
	}

	b := &builder{sess: a.sess, params: a.params, clause: "UNION"}
	names := make([]string, len(left.names))
	copy(names, left.names)
	for i, cn := range c.Aliascolnames {
		if i < len(names) {
			names[i] = cn.GetString_().GetSval()
		}
	}
	sp := &selectPlan{scope: &scope{parent: a.outer}}
	for i, t := range left.targets {
		if t.resultType().OID == oidUnknown {
			if left.targets[i], err = b.castTo(t, plainType(oidText), false); err != nil {
				return err
			}
		}
		typ := left.targets[i].resultType()
		sp.targets = append(sp.targets, &columnExpr{idx: i, typ: typ, name: left.names[i]})
		sp.names = append(sp.names, left.names[i])
		sp.scope.cols = append(sp.scope.cols, scopeColumn{name: left.names[i], typ: typ})
	}
	cte := &cteDef{name: name, plan: sp, names: names}

	// The recursive term reads the CTE itself.
	a.ctes = append(a.ctes, cte)
	right, err := a.child(a.outer).analyseSelect(sel.Rarg)
	if err != nil {
		return err
	}

	if len(right.targets) != len(left.targets) {
		return pgerror.New(pgcode.SyntaxError, "each UNION query must have the same number of columns")
	}
	for i := range right.targets {
		want := left.targets[i].resultType()
		overall, err := b.unifyAll([]expr{left.targets[i], right.targets[i]}, "UNION")
		if err != nil {
			return err
		}
		if overall.OID != want.OID {
			return pgerror.Newf(pgcode.DatatypeMismatch, "recursive query %q column %d has type %s in non-recursive term but type %s overall", name, i+1, typeName(want.OID), typeName(overall.OID)).
				WithHint("Cast the output of the non-recursive term to the correct type.")
		}
		if right.targets[i], err = b.castTo(right.targets[i], want, false); err != nil {
			return err
		}
	}
	sp.recursive = &recursiveCTE{cte: cte, nonRecursive: left, recursive: right, all: sel.All}
	return nil
}

// recursiveIter returns the rows of a recursive query one iteration at a
// time, so a LIMIT in the reading query ends the recursion early.
type recursiveIter struct {
	r       *recursiveCTE
	started bool
	// pending is the current iteration's new rows, which are also the
	// working table of the next iteration.
	pending    [][]any
	pos        int
	iterations int
	seen       map[string]bool
	// types are the type OIDs of the CTE's columns.
	types []uint32
}

func (it *recursiveIter) next(ec *evalContext) ([]any, error) {
	for it.pos >= len(it.pending) {
		var rows [][]any
		var err error
		if !it.started {
			it.started = true
			rows, err = materialize(ec, it.r.nonRecursive)
		} else {
			if len(it.pending) == 0 {
				return nil, nil
			}
			rows, err = it.iterate(ec)
		}
		if err != nil {
			return nil, err
		}
		if rows, err = it.keepNew(rows); err != nil {
			return nil, err
		}
		it.pending, it.pos = rows, 0
		if len(rows) == 0 {
			return nil, nil
		}
	}
	it.pos++
	return it.pending[it.pos-1], nil
}

// iterate runs the recursive term once over the working table.
func (it *recursiveIter) iterate(ec *evalContext) ([][]any, error) {
	it.iterations++
	if it.iterations > maxRecursiveIterations {
		return nil, pgerror.Newf(pgcode.ProgramLimitExceeded, "recursive query %q did not finish within %d iterations", it.r.cte.name, maxRecursiveIterations).
			WithHint("Add a condition to the recursive term that ends the recursion.")
	}
	if err := ec.checkCancel(); err != nil {
		return nil, err
	}
	if ec.cteRows == nil {
		ec.cteRows = map[*cteDef][][]any{}
	}
	saved, hadSaved := ec.cteRows[it.r.cte]
	ec.cteRows[it.r.cte] = it.pending
	rows, err := materialize(ec, it.r.recursive)
	if hadSaved {
		ec.cteRows[it.r.cte] = saved
	} else {
		delete(ec.cteRows, it.r.cte)
	}
	return rows, err
}

// keepNew drops, for UNION, the rows already returned and the duplicates
// within rows.
func (it *recursiveIter) keepNew(rows [][]any) ([][]any, error) {
	if it.r.all {
		return rows, nil
	}
	if it.seen == nil {
		it.seen = map[string]bool{}
	}
	out := rows[:0]
	for _, row := range rows {
		k, err := groupKey(row, it.types)
		if err != nil {
			return nil, err
		}
		if !it.seen[k] {
			it.seen[k] = true
			out = append(out, row)
		}
	}
	return out, nil
}

func (it *recursiveIter) close() {}
