package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// setFunction is a set-returning function that may appear in FROM.
type setFunction struct {
	argTypes []uint32
	// columns returns the output columns for the built arguments.
	columns func(args []expr) []scopeColumn
	rows    func(ec *evalContext, args []any) ([][]any, error)
	// outParameter marks a single output column that is a named OUT
	// parameter, such as jsonb_array_elements's value, which a table alias
	// in FROM does not rename.
	outParameter bool
	// withColumnList is set for a function returning record, whose output
	// columns the column definition list in FROM declares. It returns the
	// function with those columns.
	withColumnList func(cols []scopeColumn) setFunction
	// resolve, when set, picks the overload from the built arguments, for
	// a function with several. The returned function's argTypes, columns
	// and rows are used in place of this one's.
	resolve func(b *builder, args []expr, location int32) (setFunction, []expr, error)
}

// acceptsArgs reports whether fn may be called with n arguments.
func (fn setFunction) acceptsArgs(n int) bool {
	return fn.resolve != nil || n == len(fn.argTypes)
}

var setFunctions = map[string]setFunction{
	"generate_series": {resolve: (*builder).resolveGenerateSeries},
	"regexp_matches":  {resolve: (*builder).resolveRegexpMatches},
	"unnest": {
		argTypes: []uint32{0},
		columns: func(args []expr) []scopeColumn {
			elem := arrayElem(args[0].resultType().OID)
			if elem == 0 {
				elem = oidText
			}
			return []scopeColumn{{name: "unnest", typ: plainType(elem)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			items, _ := a[0].([]any)
			items = arrayElements(items)
			out := make([][]any, len(items))
			for i, item := range items {
				out[i] = []any{item}
			}
			return out, nil
		},
	},
	// generate_subscripts(array, dim) returns the subscripts of dimension
	// dim. pgkeep's arrays have one dimension, with subscripts from 1.
	"generate_subscripts": generateSubscripts(1),
	// pgkeep has no partitions: a table's only ancestor is itself.
	"pg_partition_ancestors": {
		argTypes: []uint32{oidRegclass},
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "relid", typ: plainType(oidRegclass)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			if a[0] == nil {
				return nil, nil
			}
			return [][]any{{a[0]}}, nil
		},
	},
	// _pg_expandarray(array) returns each element x with its index n.
	"_pg_expandarray": {
		argTypes: []uint32{0},
		columns: func(args []expr) []scopeColumn {
			elem := arrayElem(args[0].resultType().OID)
			return []scopeColumn{{name: "x", typ: plainType(elem)}, {name: "n", typ: plainType(oidInt4)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			items, ok := a[0].([]any)
			if !ok {
				return nil, nil
			}
			out := make([][]any, len(items))
			for i, item := range items {
				out[i] = []any{item, int64(i + 1)}
			}
			return out, nil
		},
	},
}

// vectorSubscripts is generate_subscripts of an int2vector or oidvector,
// whose subscripts start at 0.
var vectorSubscripts = generateSubscripts(0)

// generateSubscripts returns generate_subscripts for arrays whose first
// subscript is lower.
func generateSubscripts(lower int64) setFunction {
	return setFunction{
		argTypes: []uint32{0, oidInt4},
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "generate_subscripts", typ: plainType(oidInt4)}}
		},
		rows: func(_ *evalContext, a []any) ([][]any, error) {
			items, ok := a[0].([]any)
			if !ok || a[1] != int64(1) {
				return nil, nil
			}
			out := make([][]any, len(items))
			for i := range items {
				out[i] = []any{lower + int64(i)}
			}
			return out, nil
		},
	}
}

// functionRelation is a set-returning function in FROM. Its arguments may
// read the columns of enclosing queries.
type functionRelation struct {
	fn         setFunction
	args       []expr
	ordinality bool
	scope      *scope
}

func (r *functionRelation) open(ec *evalContext) (rowIter, error) {
	vals := make([]any, len(r.args))
	for i, a := range r.args {
		v, err := a.eval(ec, nil)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	rows, err := r.fn.rows(ec, vals)
	if err != nil {
		return nil, err
	}
	if r.ordinality {
		for i := range rows {
			rows[i] = append(rows[i], int64(i+1))
		}
	}
	return &sliceIter{rows: rows}, nil
}

// analyseRangeFunction builds a set-returning function in FROM, such as
// generate_series(1, 3) AS s or unnest(a) WITH ORDINALITY AS u(x, n).
func (a *analyser) analyseRangeFunction(rf *pg_query.RangeFunction) (relation, *scope, error) {
	if rf.IsRowsfrom || len(rf.Functions) != 1 {
		return nil, nil, pgerror.NotSupported("ROWS FROM")
	}
	items := rf.Functions[0].GetList().GetItems()
	fc := items[0].GetFuncCall()
	if fc == nil {
		return nil, nil, pgerror.NotSupported("FROM " + nodeName(items[0]))
	}
	var parts []string
	for _, n := range fc.Funcname {
		parts = append(parts, n.GetString_().GetSval())
	}
	name := parts[len(parts)-1]

	fn, ok := setFunctions[name]
	if !ok || len(parts) > 2 || len(parts) == 2 && parts[0] != "pg_catalog" && parts[0] != "information_schema" {
		return nil, nil, pgerror.Newf(pgcode.FeatureNotSupported, "function %s in FROM is not supported", name).
			WithHint("pgkeep supports generate_series, generate_subscripts, unnest, regexp_matches, pg_partition_ancestors, information_schema._pg_expandarray and the json[b]_each, json[b]_array_elements and json[b]_object_keys functions in FROM.").
			WithPosition(fc.Location + 1)
	}
	if !fn.acceptsArgs(len(fc.Args)) {
		return nil, nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s with %d arguments does not exist", name, len(fc.Args)).WithPosition(fc.Location + 1)
	}

	if fn.withColumnList != nil {
		if len(rf.Coldeflist) == 0 {
			return nil, nil, pgerror.New(pgcode.SyntaxError, `a column definition list is required for functions returning "record"`).WithPosition(fc.Location + 1)
		}
		var cols []scopeColumn
		for _, n := range rf.Coldeflist {
			cd := n.GetColumnDef()
			typ, _, err := resolveTypeName(cd.TypeName)
			if err != nil {
				return nil, nil, err
			}
			cols = append(cols, scopeColumn{name: cd.Colname, typ: typ})
		}
		fn = fn.withColumnList(cols)
	} else if len(rf.Coldeflist) > 0 {
		return nil, nil, pgerror.New(pgcode.SyntaxError, `a column definition list is only allowed for functions returning "record"`).
			WithPosition(rf.Coldeflist[0].GetColumnDef().Location + 1)
	}

	argScope := &scope{parent: a.outer}
	b := &builder{sess: a.sess, an: a, scope: argScope, params: a.params, clause: "functions in FROM"}
	fn, args, err := b.setFunctionArgs(name, fn, fc.Args, fc.Location)
	if err != nil {
		return nil, nil, err
	}

	cols := fn.columns(args)
	alias := name
	if rf.Alias != nil {
		alias = rf.Alias.Aliasname
	}
	// A function returning one column is named after the alias, as in
	// PostgreSQL: FROM generate_series(1, 3) s has the column s.
	if len(cols) == 1 && rf.Alias != nil && !fn.outParameter {
		cols[0].name = alias
	}
	if len(cols) == 1 {
		cols[0].aliasNamesColumn = true
	}
	if rf.Ordinality {
		cols = append(cols, scopeColumn{name: "ordinality", typ: plainType(oidInt8)})
	}
	names := aliasColumnNames(rf.Alias)
	if len(names) > len(cols) {
		return nil, nil, pgerror.Newf(pgcode.InvalidColumnReference, "table %q has %d columns available but %d columns specified", alias, len(cols), len(names))
	}
	sc := &scope{}
	for i, c := range cols {
		c.table = alias
		if i < len(names) {
			c.name = names[i]
		}
		sc.cols = append(sc.cols, c)
	}
	return &functionRelation{fn: fn, args: args, ordinality: rf.Ordinality, scope: argScope}, sc, nil
}

// setFunctionArgs builds the arguments of a call of the set-returning
// function name, cast to the types it takes, and returns the function to
// run. An int2vector or oidvector argument of a function that takes any
// array becomes an array, and generate_subscripts numbers its elements
// from 0, as PostgreSQL does for these vectors.
func (b *builder) setFunctionArgs(name string, fn setFunction, nodes []*pg_query.Node, location int32) (setFunction, []expr, error) {
	args := make([]expr, len(nodes))
	for i, n := range nodes {
		e, err := b.build(n)
		if err != nil {
			return fn, nil, err
		}
		if fn.resolve != nil {
			args[i] = e
			continue
		}
		want := fn.argTypes[i]
		if want != 0 {
			e, err = b.castTo(e, plainType(want), false)
		} else {
			if name == "generate_subscripts" && isVectorType(e.resultType().OID) {
				fn = vectorSubscripts
			}
			e, err = b.castVectorToArray(e)
		}
		if err != nil {
			return fn, nil, err
		}
		args[i] = e
	}
	if fn.resolve != nil {
		return fn.resolve(b, args, location)
	}
	return fn, args, nil
}

// readsOuter reports whether the function's arguments read an enclosing
// query's columns, so that the query runs again for each outer row.
func (r *functionRelation) readsOuter() bool { return r.scope.correlated }
