package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
)

// setFunctionCall is a set-returning function called in the SELECT list,
// such as SELECT unnest(indkey) FROM pg_index.
type setFunctionCall struct {
	fn   setFunction
	args []expr
}

// selectListSetFunction builds a SELECT list item that is a call of a
// one-column set-returning function. It returns nil when n is no such
// call. The call's output is the input row's column at position column,
// which projectSetIter fills in.
func (a *analyser) selectListSetFunction(b *builder, n *pg_query.Node, column int) (*setFunctionCall, expr, error) {
	fc := n.GetFuncCall()
	if fc == nil || fc.AggStar || fc.Over != nil || len(fc.AggOrder) > 0 || fc.AggFilter != nil {
		return nil, nil, nil
	}
	var parts []string
	for _, p := range fc.Funcname {
		parts = append(parts, p.GetString_().GetSval())
	}
	if len(parts) > 2 || len(parts) == 2 && parts[0] != "pg_catalog" {
		return nil, nil, nil
	}
	name := parts[len(parts)-1]
	fn, ok := setFunctions[name]
	if !ok || len(fc.Args) != len(fn.argTypes) {
		return nil, nil, nil
	}
	fn, args, err := b.setFunctionArgs(name, fn, fc.Args)
	if err != nil {
		return nil, nil, err
	}
	cols := fn.columns(args)
	if len(cols) != 1 {
		return nil, nil, nil
	}
	return &setFunctionCall{fn: fn, args: args}, &columnExpr{idx: column, typ: cols[0].typ, name: cols[0].name}, nil
}

// checkSetFunctions rejects the query shapes that the SELECT list's
// set-returning functions do not support yet.
func checkSetFunctions(sp *selectPlan) error {
	if len(sp.setFuncs) == 0 {
		return nil
	}
	if sp.aggregate || len(sp.windows) > 0 {
		return pgerror.NotSupported("set-returning functions in the SELECT list of a query with aggregates or window functions")
	}
	return nil
}

// projectSetIter runs the SELECT list's set-returning functions for each
// input row, as PostgreSQL's ProjectSet does: the functions advance
// together, the row repeats as often as the longest result has rows, and
// shorter results are padded with NULL. An input row for which every
// function returns no rows is left out.
type projectSetIter struct {
	src   rowIter
	calls []*setFunctionCall
	// base is the position of the first function's output in the row.
	base int
	// pending holds the rows of the current input row not yet returned.
	pending [][]any
}

func (it *projectSetIter) next(ec *evalContext) ([]any, error) {
	for len(it.pending) == 0 {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		if err := it.expand(ec, row); err != nil {
			return nil, err
		}
	}
	out := it.pending[0]
	it.pending = it.pending[1:]
	return out, nil
}

func (it *projectSetIter) expand(ec *evalContext, row []any) error {
	results := make([][][]any, len(it.calls))
	longest := 0
	for i, c := range it.calls {
		vals := make([]any, len(c.args))
		for j, a := range c.args {
			v, err := a.eval(ec, row)
			if err != nil {
				return err
			}
			vals[j] = v
		}
		rows, err := c.fn.rows(ec, vals)
		if err != nil {
			return err
		}
		results[i] = rows
		longest = max(longest, len(rows))
	}
	for k := 0; k < longest; k++ {
		out := make([]any, it.base+len(it.calls))
		copy(out, row[:min(len(row), it.base)])
		for i, rows := range results {
			if k < len(rows) {
				out[it.base+i] = rows[k][0]
			}
		}
		it.pending = append(it.pending, out)
	}
	return nil
}

func (it *projectSetIter) close() { it.src.close() }
