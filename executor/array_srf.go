package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// Set-returning functions in a SELECT list, such as SELECT id,
// unnest(tags) FROM t, follow PostgreSQL 10 and later. Each input row
// yields as many output rows as its longest set, and the shorter sets are
// padded with NULL. A row whose sets are all empty yields nothing.

// srfCall is one set-returning function call of a SELECT list.
type srfCall struct {
	name string
	fn   setFunction
	args []expr
	// fields are the output columns of a function with several, whose
	// calls return a record per row; nil for a function with one.
	fields []scopeColumn
}

// srfCollector gathers the set-returning function calls of a SELECT list.
type srfCollector struct {
	calls []*srfCall
	// forbidden names the clause being built while the SELECT list's
	// builder builds another clause, where the calls are not allowed.
	forbidden string
}

// srfRefExpr is the current value of a set-returning function call, set
// by srfProjectIter for each output row.
type srfRefExpr struct {
	idx  int
	call *srfCall
	typ  catalog.ColumnType
}

func (e *srfRefExpr) eval(ec *evalContext, _ []any) (any, error) {
	if e.idx >= len(ec.srfValues) {
		// checkSetFunctionPlacement rejects the places that run before
		// srfProjectIter, so this is only a safety net.
		return nil, pgerror.Internal("set-returning function %s evaluated outside the SELECT list", e.call.name)
	}
	return ec.srfValues[e.idx], nil
}

func (e *srfRefExpr) resultType() catalog.ColumnType { return e.typ }

// checkSetFunctionPlacement rejects set-returning functions that the
// SELECT list's builder built into expressions evaluated before the
// SELECT list: GROUP BY items that name a target and window functions.
func checkSetFunctionPlacement(sp *selectPlan) error {
	if len(sp.srfs) == 0 {
		return nil
	}
	for _, g := range sp.groupBy {
		if containsSetFunction(g) {
			return pgerror.NotSupported("set-returning functions in GROUP BY")
		}
	}
	for _, w := range sp.windows {
		exprs := append(append(append([]expr{}, w.args...), w.window.partition...), w.window.order...)
		if w.agg != nil {
			exprs = append(exprs, w.agg.arg, w.agg.filter)
		}
		for _, e := range exprs {
			if containsSetFunction(e) {
				return pgerror.NotSupported("set-returning functions in window functions")
			}
		}
	}
	return nil
}

func containsSetFunction(e expr) bool {
	found := false
	walkExpr(e, func(x expr) {
		if _, ok := x.(*srfRefExpr); ok {
			found = true
		}
	})
	return found
}

// buildSetFunctionCall builds a set-returning function called as a
// scalar, which only the SELECT list allows.
func (b *builder) buildSetFunctionCall(name string, fn setFunction, fc *pg_query.FuncCall) (expr, error) {
	if fc.Over != nil {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "OVER specified, but %s is not a window function nor an aggregate function", name).WithPosition(fc.Location + 1)
	}
	if b.srfs == nil || b.srfs.forbidden != "" {
		return nil, b.srfPlacementError(fc.Location)
	}
	if fn.withColumnList != nil {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "could not determine row type for result of %s", name).
			WithHint("Provide a non-null record argument, or call the function in the FROM clause using a column definition list.")
	}
	argNodes, err := positionalArgs(name, fc)
	if err != nil {
		return nil, err
	}
	if !fn.acceptsArgs(len(argNodes)) {
		return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s with %d arguments does not exist", name, len(argNodes)).WithPosition(fc.Location + 1)
	}

	// The arguments are built like the rest of the SELECT list, except that
	// they may not call set-returning functions themselves.
	inner := *b
	inner.srfs = &srfCollector{forbidden: "the arguments of set-returning functions"}
	fn, args, err := inner.setFunctionArgs(name, fn, argNodes, fc.Location)
	if err != nil {
		return nil, err
	}
	if name == "unnest" && !isArrayType(args[0].resultType().OID) {
		return nil, unnestArgumentError(args[0].resultType().OID, fc.Location)
	}
	if name == "_pg_expandarray" && !isArrayType(args[0].resultType().OID) {
		return nil, pgerror.Newf(pgcode.UndefinedFunction, "function information_schema._pg_expandarray(%s) does not exist", typeName(args[0].resultType().OID)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(fc.Location + 1)
	}
	call := &srfCall{name: name, fn: fn, args: args}
	typ := plainType(oidRecord)
	if cols := fn.columns(args); len(cols) == 1 {
		typ = cols[0].typ
	} else {
		call.fields = cols
	}
	b.srfs.calls = append(b.srfs.calls, call)
	return &srfRefExpr{idx: len(b.srfs.calls) - 1, call: call, typ: typ}, nil
}

func (b *builder) srfPlacementError(location int32) error {
	clause := b.clause
	if b.srfs != nil {
		clause = b.srfs.forbidden
	}
	switch clause {
	case "GROUP BY", "ORDER BY", "the arguments of set-returning functions":
		// PostgreSQL runs these, but pgkeep does not yet.
		return pgerror.NotSupported("set-returning functions in " + clause).WithPosition(location + 1)
	case "aggregate function calls":
		return pgerror.New(pgcode.FeatureNotSupported, "aggregate function calls cannot contain set-returning function calls").
			WithHint("You might be able to move the set-returning function into a LATERAL FROM item.").WithPosition(location + 1)
	case "":
		clause = "this context"
	}
	return pgerror.Newf(pgcode.FeatureNotSupported, "set-returning functions are not allowed in %s", clause).WithPosition(location + 1)
}

func unnestArgumentError(oid uint32, location int32) error {
	if oid == oidUnknown {
		return pgerror.New(pgcode.AmbiguousFunction, "function unnest(unknown) is not unique").
			WithHint("Could not choose a best candidate function. You might need to add explicit type casts.").WithPosition(location + 1)
	}
	return pgerror.Newf(pgcode.UndefinedFunction, "function unnest(%s) does not exist", typeName(oid)).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(location + 1)
}

// srfProjectIter evaluates a SELECT list with set-returning functions:
// for each input row it computes every call's set, then evaluates the
// targets once per position of the longest set.
type srfProjectIter struct {
	src   rowIter
	exprs []expr
	calls []*srfCall
	// row is the current input row, sets the values of each call for it,
	// n the length of the longest set and pos the next position.
	row    []any
	sets   [][][]any
	n, pos int
	out    []any
}

func (it *srfProjectIter) next(ec *evalContext) ([]any, error) {
	for it.pos >= it.n {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		if err := it.expand(ec, row); err != nil {
			return nil, err
		}
	}
	values := make([]any, len(it.calls))
	for j, set := range it.sets {
		if it.pos >= len(set) {
			continue
		}
		if fields := it.calls[j].fields; fields != nil {
			values[j] = newRecord(fields, set[it.pos])
		} else {
			values[j] = set[it.pos][0]
		}
	}
	it.pos++

	// A subquery in a target may run a SELECT list with set-returning
	// functions of its own, so the outer values are restored afterwards.
	saved := ec.srfValues
	ec.srfValues = values
	defer func() { ec.srfValues = saved }()
	if it.out == nil {
		it.out = make([]any, len(it.exprs))
	}
	for i, e := range it.exprs {
		v, err := e.eval(ec, it.row)
		if err != nil {
			return nil, err
		}
		it.out[i] = v
	}
	return it.out, nil
}

// expand computes the sets of every call for one input row.
func (it *srfProjectIter) expand(ec *evalContext, row []any) error {
	it.row, it.n, it.pos = row, 0, 0
	if it.sets == nil {
		it.sets = make([][][]any, len(it.calls))
	}
	for j, c := range it.calls {
		vals := make([]any, len(c.args))
		for i, a := range c.args {
			v, err := a.eval(ec, row)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		rows, err := c.fn.rows(ec, vals)
		if err != nil {
			return err
		}
		it.sets[j] = rows
		it.n = max(it.n, len(rows))
	}
	return nil
}

func (it *srfProjectIter) close() { it.src.close() }
