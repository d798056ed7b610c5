package executor

import (
	"slices"
	"sort"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol"
)

// selectPlan is the analysed form of a SELECT.
type selectPlan struct {
	// from is the FROM clause, nil for a query without one.
	from relation
	// table is the table of a single-table query, for RowDescription.
	table *catalog.TableDescriptor
	// scope lists the columns of the FROM clause's rows.
	scope *scope
	// filter is the WHERE clause when it is not pushed into a table scan.
	filter expr

	aggregate bool
	groupBy   []expr
	aggs      []*aggSpec
	having    expr

	targets []expr
	names   []string
	// sortExprs are evaluated with the targets; the projected row holds
	// targets followed by the sort expressions that are not targets.
	extraSort []expr
	sortKeys  []sortKey
	distinct  bool
	// windows are the window function calls, computed after grouping.
	windows []*windowCall
	// srfs are the set-returning function calls of the SELECT list.
	srfs []*srfCall
	// distinctOn lists the projected columns of DISTINCT ON. The rows are
	// sorted on them first, and the first row of each run is kept.
	distinctOn []int
	// withTies extends LIMIT to the rows equal to the last one in sortKeys
	// (FETCH FIRST ... WITH TIES).
	withTies bool
	// recursive computes a WITH RECURSIVE query.
	recursive *recursiveCTE

	limit, offset expr
	// orderedBy is the table whose scan returns the rows in the order of
	// sortKeys, which then need no sort when it reads in that order.
	orderedBy *tableRelation
	// values holds the rows of a VALUES list.
	values [][]expr
	// setOp combines two queries with UNION, INTERSECT or EXCEPT.
	setOp *setOperation
}

type sortKey struct {
	col        int
	desc       bool
	nullsFirst bool
	// typ is the type OID of the column, which compareTyped needs for
	// jsonb, or 0 for a type whose Go values order by themselves.
	typ uint32
}

func (a *analyser) planSelect(sel *pg_query.SelectStmt) (*plan, error) {
	sp, err := a.analyseSelect(sel)
	if err != nil {
		return nil, err
	}
	cols := resultColumns(sp.names, sp.targets)
	if sp.table != nil {
		for i, e := range sp.targets {
			if c, ok := e.(*columnExpr); ok {
				cols[i].TableOID = sp.table.ID
				cols[i].AttrNumber = int16(c.idx + 1)
			}
		}
	}
	return &plan{
		cols: cols,
		run: func(ec *evalContext) (*result, error) {
			it, err := sp.open(ec)
			if err != nil {
				return nil, err
			}
			return &result{rows: it}, nil
		},
	}, nil
}

func (a *analyser) analyseSelect(sel *pg_query.SelectStmt) (*selectPlan, error) {
	switch {
	case sel.Op != pg_query.SetOperation_SETOP_NONE && sel.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED:
		return a.analyseSetOp(sel)
	case sel.IntoClause != nil:
		return nil, pgerror.NotSupported("SELECT INTO")
	}
	if len(sel.ValuesLists) > 0 {
		return a.analyseValues(sel)
	}
	if err := a.analyseWith(sel.WithClause); err != nil {
		return nil, err
	}
	sp := &selectPlan{}
	from, sc, err := a.analyseFrom(sel.FromClause)
	if err != nil {
		return nil, err
	}
	sc.parent = a.outer
	sp.from, sp.scope = from, sc

	filter, err := a.whereFilter(sc, sel.WhereClause)
	if err != nil {
		return nil, err
	}
	// The WHERE clause of a single-table query goes into the scan, where it
	// can narrow the key range.
	if tr, ok := from.(*tableRelation); ok {
		sp.table = tr.table
		tr.filter = filter
		if tr.virtual == nil {
			tr.spec = deriveScanSpec(tr.table, tr.codec, filter)
		}
	} else {
		sp.filter = pushDownFilter(from, filter)
	}

	// Targets, HAVING and ORDER BY may hold aggregates.
	windows, err := newWindowCollector(sel.WindowClause)
	if err != nil {
		return nil, err
	}
	aggs := &aggCollector{windows: windows}
	srfs := &srfCollector{}
	var subqueryRefs []subqueryColumnRef
	ab := &builder{sess: a.sess, scope: sc, params: a.params, aggs: aggs, srfs: srfs, an: a, clause: "SELECT", subqueryRefs: &subqueryRefs}
	for _, t := range sel.TargetList {
		rt := t.GetResTarget()
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			if err := expandStar(sc, cr, sp); err != nil {
				return nil, err
			}
			continue
		}
		e, err := ab.build(rt.Val)
		if err != nil {
			return nil, err
		}
		sp.targets = append(sp.targets, e)
		sp.names = append(sp.names, targetName(rt, a.subqueryNames))
	}
	srfs.forbidden = "HAVING"
	// GROUP BY () groups all rows into one group, like an aggregate
	// without GROUP BY, and adds nothing to the other items.
	emptyGroupingSet := false
	if len(sel.GroupClause) > 0 {
		gb := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "GROUP BY", srfs: &srfCollector{forbidden: "GROUP BY"}}
		for _, g := range sel.GroupClause {
			if gs := g.GetGroupingSet(); gs != nil && gs.Kind == pg_query.GroupingSetKind_GROUPING_SET_EMPTY {
				emptyGroupingSet = true
				continue
			}
			e, err := a.groupExpr(gb, g, sp)
			if err != nil {
				return nil, err
			}
			sp.groupBy = append(sp.groupBy, e)
		}
	}
	if sel.HavingClause != nil {
		windows.forbidden = "HAVING"
		h, err := ab.build(sel.HavingClause)
		windows.forbidden = ""
		if err != nil {
			return nil, err
		}
		if h, err = ab.requireBool(h, "HAVING"); err != nil {
			return nil, err
		}
		sp.having = h
	}
	srfs.forbidden = "ORDER BY"
	if err := a.analyseOrderBy(ab, sel.SortClause, sp); err != nil {
		return nil, err
	}
	sp.srfs = srfs.calls
	sp.aggs = aggs.specs
	sp.windows = windows.calls
	sp.aggregate = len(sp.groupBy) > 0 || len(sp.aggs) > 0 || sp.having != nil || emptyGroupingSet
	if sp.aggregate {
		if err := checkGrouping(sp, subqueryRefs); err != nil {
			return nil, err
		}
	}
	if err := checkSetFunctionPlacement(sp); err != nil {
		return nil, err
	}
	if len(sel.DistinctClause) > 0 {
		if len(sel.DistinctClause) > 1 || sel.DistinctClause[0].Node != nil {
			if err := a.analyseDistinctOn(ab, sel, sp); err != nil {
				return nil, err
			}
		} else {
			sp.distinct = true
			if err := checkDistinctOrder(sel.SortClause, sp); err != nil {
				return nil, err
			}
		}
	}
	if err := a.analyseLimit(sel, sp); err != nil {
		return nil, err
	}
	planScanOrder(sp)
	// NOTE: FOR UPDATE/FOR SHARE take no locks; conflicting writes are still
	// caught at commit by the storage layer's write-write check.
	return sp, nil
}

// checkDistinctOrder rejects an ORDER BY item of SELECT DISTINCT that is
// not in the select list, as PostgreSQL does, because the rows DISTINCT
// merges into one may differ in it. clause is the ORDER BY clause, whose
// items made sp.sortKeys in order.
func checkDistinctOrder(clause []*pg_query.Node, sp *selectPlan) error {
	for i, key := range sp.sortKeys {
		if key.col < len(sp.targets) {
			continue
		}
		e := sp.extraSort[key.col-len(sp.targets)]
		if slices.ContainsFunc(sp.targets, func(t expr) bool { return sameExpr(t, e) }) {
			continue
		}
		err := pgerror.New(pgcode.InvalidColumnReference, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
		if loc := leftmostLocation(clause[i].GetSortBy().Node); loc >= 0 {
			err = err.WithPosition(loc + 1)
		}
		return err
	}
	return nil
}

// leftmostLocation returns the location of the first token of n, where
// PostgreSQL points errors about a whole expression, or -1 when neither n
// nor its left operand has a location that nodeLocation reads.
func leftmostLocation(n *pg_query.Node) int32 {
	loc := nodeLocation(n)
	var left *pg_query.Node
	switch {
	case n.GetAExpr() != nil:
		left = n.GetAExpr().Lexpr
	case n.GetTypeCast() != nil:
		left = n.GetTypeCast().Arg
	}
	if left != nil {
		if l := leftmostLocation(left); l >= 0 && (loc < 0 || l < loc) {
			loc = l
		}
	}
	return loc
}

// ownerColumn is the pseudo-column of USER and STREAM tables that names
// each row's owner. SELECT * leaves it out.
const ownerColumn = "_user"

func tableScope(t *catalog.TableDescriptor, alias string) *scope {
	sc := &scope{}
	for i, c := range t.Columns {
		sc.cols = append(sc.cols, scopeColumn{table: alias, name: c.Name, typ: c.Type, hidden: c.Hidden, tableOID: t.ID, attNum: int16(i + 1), desc: t})
	}
	if t.PerUser() {
		sc.cols = append(sc.cols, scopeColumn{table: alias, name: ownerColumn, typ: plainType(oidText), hidden: true})
	}
	return sc
}

func isStar(cr *pg_query.ColumnRef) bool {
	return len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

func expandStar(sc *scope, cr *pg_query.ColumnRef, sp *selectPlan) error {
	qualifier := ""
	if len(cr.Fields) == 2 {
		qualifier = cr.Fields[0].GetString_().GetSval()
	}
	if !hasFrom(sc) && qualifier == "" {
		return pgerror.New(pgcode.SyntaxError, "SELECT * with no tables specified is not valid").WithPosition(cr.Location + 1)
	}
	found := false
	// Like PostgreSQL, the merged columns of USING joins come first.
	for _, mergedPass := range []bool{true, false} {
		for i, c := range sc.cols {
			if qualifier != "" && c.table != qualifier {
				continue
			}
			found = true
			if c.hidden || (qualifier == "" && c.usingDuplicate) || c.usingMerged != mergedPass {
				continue
			}
			sp.targets = append(sp.targets, &columnExpr{idx: i, typ: c.typ, name: c.name, fields: c.fields})
			sp.names = append(sp.names, c.name)
		}
	}
	if !found {
		return pgerror.Newf(pgcode.UndefinedTable, "missing FROM-clause entry for table %q", qualifier).WithPosition(cr.Location + 1)
	}
	return nil
}

// targetName is the column name PostgreSQL gives a target: its alias or
// the name figureColname derives from its expression. subqueryNames
// holds the output name of each scalar subquery already analysed.
func targetName(rt *pg_query.ResTarget, subqueryNames map[*pg_query.SubLink]string) string {
	if rt.Name != "" {
		return rt.Name
	}
	if name, _ := figureColname(rt.Val, subqueryNames); name != "" {
		return name
	}
	return "?column?"
}

// Strengths of a derived column name, as PostgreSQL 15 ranks them: a cast
// replaces a weak name (CASE's "case", or none) of its argument with the
// type's name but keeps a strong one.
const (
	colnameNone = iota
	colnameWeak
	colnameStrong
)

// figureColname derives a column name from an expression, the way
// PostgreSQL 15 names an unaliased target, and returns "" with
// colnameNone for an expression without a name (operators, constants).
func figureColname(n *pg_query.Node, subqueryNames map[*pg_query.SubLink]string) (string, int) {
	switch {
	case n == nil:
		return "", colnameNone
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.Sval, colnameStrong
		}
	case n.GetAIndirection() != nil:
		ind := n.GetAIndirection()
		// The last field selection names the result. Subscripts keep the
		// name of what they subscript.
		for i := len(ind.Indirection) - 1; i >= 0; i-- {
			if s := ind.Indirection[i].GetString_(); s != nil {
				return s.Sval, colnameStrong
			}
		}
		return figureColname(ind.Arg, subqueryNames)
	case n.GetFuncCall() != nil:
		f := n.GetFuncCall().Funcname
		return f[len(f)-1].GetString_().GetSval(), colnameStrong
	case n.GetAExpr() != nil && n.GetAExpr().Kind == pg_query.A_Expr_Kind_AEXPR_NULLIF:
		return "nullif", colnameStrong
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		if name, strength := figureColname(tc.Arg, subqueryNames); strength == colnameStrong {
			return name, strength
		}
		names := tc.TypeName.Names
		return names[len(names)-1].GetString_().GetSval(), colnameWeak
	case n.GetCollateClause() != nil:
		return figureColname(n.GetCollateClause().Arg, subqueryNames)
	case n.GetGroupingFunc() != nil:
		return "grouping", colnameStrong
	case n.GetSubLink() != nil:
		sl := n.GetSubLink()
		switch sl.SubLinkType {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists", colnameStrong
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array", colnameStrong
		case pg_query.SubLinkType_EXPR_SUBLINK:
			// A scalar subquery takes the name of its only output column,
			// even when that is ?column?.
			if name, ok := subqueryNames[sl]; ok {
				return name, colnameStrong
			}
		}
	case n.GetCaseExpr() != nil:
		return "case", colnameWeak
	case n.GetAArrayExpr() != nil:
		return "array", colnameStrong
	case n.GetRowExpr() != nil:
		return "row", colnameStrong
	case n.GetCoalesceExpr() != nil:
		return "coalesce", colnameStrong
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().Op == pg_query.MinMaxOp_IS_LEAST {
			return "least", colnameStrong
		}
		return "greatest", colnameStrong
	case n.GetSqlvalueFunction() != nil:
		if name := sqlValueFunctionName(n.GetSqlvalueFunction().Op); name != "" {
			return name, colnameStrong
		}
	}
	return "", colnameNone
}

func sqlValueFunctionName(op pg_query.SQLValueFunctionOp) string {
	switch op {
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:
		return "current_user"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
		return "current_role"
	case pg_query.SQLValueFunctionOp_SVFOP_USER:
		return "user"
	case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
		return "session_user"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return "current_catalog"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return "current_schema"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return "current_timestamp"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return "current_date"
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return "localtimestamp"
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		return "current_time"
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		return "localtime"
	}
	return ""
}

// groupExpr resolves a GROUP BY item: an output ordinal, an output alias or
// an input expression.
func (a *analyser) groupExpr(gb *builder, g *pg_query.Node, sp *selectPlan) (expr, error) {
	if c := g.GetAConst(); c != nil && c.GetIval() == nil {
		return nil, pgerror.New(pgcode.SyntaxError, "non-integer constant in GROUP BY").WithPosition(c.Location + 1)
	}
	if c := g.GetAConst(); c != nil && c.GetIval() != nil {
		n := int(c.GetIval().Ival)
		if n < 1 || n > len(sp.targets) {
			return nil, pgerror.Newf(pgcode.InvalidColumnReference, "GROUP BY position %d is not in select list", n).WithPosition(c.Location + 1)
		}
		// The target may not group by an aggregate or a window function,
		// whose value exists only after grouping.
		var err error
		walkExpr(sp.targets[n-1], func(x expr) {
			switch x.(type) {
			case *aggRefExpr:
				err = pgerror.New(pgcode.GroupingError, "aggregate functions are not allowed in GROUP BY")
			case *windowRefExpr:
				err = pgerror.New(pgcode.WindowingError, "window functions are not allowed in GROUP BY")
			}
		})
		if err != nil {
			return nil, err
		}
		return sp.targets[n-1], nil
	}
	if cr := g.GetColumnRef(); cr != nil && len(cr.Fields) == 1 {
		name := cr.Fields[0].GetString_().GetSval()
		if _, err := gb.scope.resolve("", name, cr.Location); err != nil {
			for i, n := range sp.names {
				if n == name {
					return sp.targets[i], nil
				}
			}
		}
	}
	return gb.build(g)
}

func (a *analyser) analyseOrderBy(b *builder, clause []*pg_query.Node, sp *selectPlan) error {
	for _, n := range clause {
		sb := n.GetSortBy()
		if sb.SortbyDir == pg_query.SortByDir_SORTBY_USING {
			return pgerror.NotSupported("ORDER BY ... USING")
		}
		key := sortKey{desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
		// PostgreSQL sorts NULLs as larger than every value by default.
		key.nullsFirst = key.desc
		switch sb.SortbyNulls {
		case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
			key.nullsFirst = true
		case pg_query.SortByNulls_SORTBY_NULLS_LAST:
			key.nullsFirst = false
		}
		col, err := a.orderByColumn(b, sb.Node, sp)
		if err != nil {
			return err
		}
		key.col = col
		key.typ = sp.outputExpr(col).resultType().OID
		sp.sortKeys = append(sp.sortKeys, key)
	}
	return nil
}

// orderByColumn returns the projected column an ORDER BY item sorts on,
// adding a hidden column for expressions that are not targets.
func (a *analyser) orderByColumn(b *builder, n *pg_query.Node, sp *selectPlan) (int, error) {
	if c := n.GetAConst(); c != nil && c.GetIval() == nil && !c.Isnull {
		return 0, pgerror.New(pgcode.SyntaxError, "non-integer constant in ORDER BY").WithPosition(c.Location + 1)
	}
	if c := n.GetAConst(); c != nil && c.GetIval() != nil {
		pos := int(c.GetIval().Ival)
		if pos < 1 || pos > len(sp.targets) {
			return 0, pgerror.Newf(pgcode.InvalidColumnReference, "ORDER BY position %d is not in select list", pos).WithPosition(c.Location + 1)
		}
		return pos - 1, nil
	}
	if cr := n.GetColumnRef(); cr != nil && len(cr.Fields) == 1 && cr.Fields[0].GetString_() != nil {
		name := cr.Fields[0].GetString_().GetSval()
		match := -1
		for i, tn := range sp.names {
			if tn != name {
				continue
			}
			if match >= 0 {
				return 0, pgerror.Newf(pgcode.AmbiguousColumn, "ORDER BY %q is ambiguous", name).WithPosition(cr.Location + 1)
			}
			match = i
		}
		if match >= 0 {
			return match, nil
		}
	}
	e, err := b.build(n)
	if err != nil {
		return 0, err
	}
	sp.extraSort = append(sp.extraSort, e)
	return len(sp.targets) + len(sp.extraSort) - 1, nil
}

// outputTypes returns the type OIDs of the output columns cols.
func (sp *selectPlan) outputTypes(cols []int) []uint32 {
	types := make([]uint32, len(cols))
	for i, c := range cols {
		types[i] = sp.outputExpr(c).resultType().OID
	}
	return types
}

// outputExpr returns the expression of output column col: a target, or
// past the targets a hidden sort column.
func (sp *selectPlan) outputExpr(col int) expr {
	if col < len(sp.targets) {
		return sp.targets[col]
	}
	return sp.extraSort[col-len(sp.targets)]
}

func (a *analyser) analyseLimit(sel *pg_query.SelectStmt, sp *selectPlan) error {
	b := &builder{sess: a.sess, params: a.params, clause: "LIMIT"}
	var err error
	if sel.LimitCount != nil {
		if sp.limit, err = b.build(sel.LimitCount); err != nil {
			return err
		}
		if sp.limit, err = b.castTo(sp.limit, plainType(oidInt8), false); err != nil {
			return err
		}
	}
	if sel.LimitOffset != nil {
		if sp.offset, err = b.build(sel.LimitOffset); err != nil {
			return err
		}
		if sp.offset, err = b.castTo(sp.offset, plainType(oidInt8), false); err != nil {
			return err
		}
	}
	if sel.LimitOption == pg_query.LimitOption_LIMIT_OPTION_WITH_TIES {
		if len(sp.sortKeys) == 0 {
			return pgerror.New(pgcode.SyntaxError, "WITH TIES cannot be specified without ORDER BY clause")
		}
		sp.withTies = true
	}
	return nil
}

func (a *analyser) analyseValues(sel *pg_query.SelectStmt) (*selectPlan, error) {
	sp := &selectPlan{}
	// The values may contain subqueries and read the columns of an
	// enclosing query, but not the VALUES list's own columns.
	valueScope := &scope{parent: a.outer}
	b := &builder{sess: a.sess, params: a.params, clause: "VALUES", an: a, scope: valueScope}
	width := -1
	for _, l := range sel.ValuesLists {
		items := l.GetList().Items
		if width >= 0 && len(items) != width {
			return nil, pgerror.New(pgcode.SyntaxError, "VALUES lists must all be the same length")
		}
		width = len(items)
		var row []expr
		for _, it := range items {
			e, err := b.build(it)
			if err != nil {
				return nil, err
			}
			row = append(row, e)
		}
		sp.values = append(sp.values, row)
	}
	// Each column takes the common type of its values.
	for c := 0; c < width; c++ {
		col := make([]expr, len(sp.values))
		for r := range sp.values {
			col[r] = sp.values[r][c]
		}
		typ, err := b.unifyAll(col, "VALUES")
		if err != nil {
			return nil, err
		}
		for r := range sp.values {
			if sp.values[r][c], err = b.castTo(sp.values[r][c], typ, false); err != nil {
				return nil, err
			}
		}
		sp.targets = append(sp.targets, &columnExpr{idx: c, typ: typ})
		sp.names = append(sp.names, "column"+itoa(int64(c+1)))
	}
	sc := &scope{parent: a.outer, correlated: valueScope.correlated}
	for i, n := range sp.names {
		sc.cols = append(sc.cols, scopeColumn{name: n, typ: sp.targets[i].resultType()})
	}
	sp.scope = sc
	if err := a.analyseOrderBy(&builder{sess: a.sess, scope: sc, params: a.params}, sel.SortClause, sp); err != nil {
		return nil, err
	}
	return sp, a.analyseLimit(sel, sp)
}

// isConstantlyNotTrue reports whether e is a constant FALSE or NULL.
func isConstantlyNotTrue(e expr) bool {
	c, ok := e.(*constExpr)
	return ok && c.val != true
}

// singleTableFilter returns the WHERE clause of a query on one table,
// which the table's scan holds.
func singleTableFilter(from relation) expr {
	if tr, ok := from.(*tableRelation); ok {
		return tr.filter
	}
	return nil
}

// open builds the row pipeline of one execution.
func (sp *selectPlan) open(ec *evalContext) (rowIter, error) {
	var src rowIter
	switch {
	case sp.setOp != nil:
		rows, err := sp.setOp.run(ec)
		if err != nil {
			return nil, err
		}
		src = &sliceIter{rows: rows}
	case sp.recursive != nil:
		src = &recursiveIter{r: sp.recursive, types: exprTypes(sp.recursive.nonRecursive.targets)}
	case sp.values != nil:
		src = &valuesIter{rows: sp.values}
	case sp.from != nil && (isConstantlyNotTrue(sp.filter) || isConstantlyNotTrue(singleTableFilter(sp.from))):
		// A WHERE clause folded to FALSE or NULL leaves no row to read,
		// so the FROM clause is not run, as in PostgreSQL.
		src = &sliceIter{}
	case sp.from != nil:
		var err error
		if src, err = sp.from.open(ec); err != nil {
			return nil, err
		}
		if sp.filter != nil {
			src = &filterIter{src: src, filter: sp.filter}
		}
	default:
		src = &singleRowIter{filter: sp.filter}
	}
	if sp.aggregate {
		src = &aggregateIter{src: src, plan: sp}
	}
	if len(sp.windows) > 0 {
		src = &windowIter{src: src, calls: sp.windows}
	}
	var it rowIter = &projectIter{src: src, exprs: append(append([]expr{}, sp.targets...), sp.extraSort...), aggregate: sp.aggregate}
	if len(sp.srfs) > 0 {
		it = &srfProjectIter{src: src, exprs: append(append([]expr{}, sp.targets...), sp.extraSort...), calls: sp.srfs}
	}
	if sp.distinct {
		it = &distinctIter{src: it, width: len(sp.targets), types: exprTypes(sp.targets)}
	}
	if len(sp.sortKeys) > 0 && !sp.orderedBy.readsInOrder(ec) {
		it = &sortIter{src: it, keys: sp.sortKeys}
	}
	if len(sp.distinctOn) > 0 {
		it = &distinctOnIter{src: it, cols: sp.distinctOn, types: sp.outputTypes(sp.distinctOn)}
	}
	if sp.limit != nil || sp.offset != nil {
		limit, offset := int64(-1), int64(0)
		if sp.limit != nil {
			v, err := sp.limit.eval(ec, nil)
			if err != nil {
				return nil, err
			}
			if v != nil {
				limit = v.(int64)
				if limit < 0 {
					return nil, pgerror.New(pgcode.InvalidRowCountInLimitClause, "LIMIT must not be negative")
				}
			}
		}
		if sp.offset != nil {
			v, err := sp.offset.eval(ec, nil)
			if err != nil {
				return nil, err
			}
			if v != nil {
				offset = v.(int64)
				if offset < 0 {
					return nil, pgerror.New(pgcode.InvalidRowCountInResultOffsetClause, "OFFSET must not be negative")
				}
			}
		}
		lim := &limitIter{src: it, limit: limit, offset: offset}
		if sp.withTies {
			lim.ties = sp.sortKeys
		}
		it = lim
	}
	if len(sp.extraSort) > 0 {
		it = &trimIter{src: it, width: len(sp.targets)}
	}
	return it, nil
}

// singleRowIter is the input of a SELECT without FROM: one empty row.
type singleRowIter struct {
	filter expr
	done   bool
}

func (it *singleRowIter) next(ec *evalContext) ([]any, error) {
	if it.done {
		return nil, nil
	}
	it.done = true
	if it.filter != nil {
		ok, err := it.filter.eval(ec, nil)
		if err != nil || ok != true {
			return nil, err
		}
	}
	return []any{}, nil
}

func (it *singleRowIter) close() {}

type valuesIter struct {
	rows [][]expr
	pos  int
}

func (it *valuesIter) next(ec *evalContext) ([]any, error) {
	if it.pos >= len(it.rows) {
		return nil, nil
	}
	exprs := it.rows[it.pos]
	it.pos++
	row := make([]any, len(exprs))
	for i, e := range exprs {
		v, err := e.eval(ec, nil)
		if err != nil {
			return nil, err
		}
		row[i] = v
	}
	return row, nil
}

func (it *valuesIter) close() {}

// projectIter evaluates the target expressions over each input row.
type projectIter struct {
	src       rowIter
	exprs     []expr
	aggregate bool
	out       []any
}

func (it *projectIter) next(ec *evalContext) ([]any, error) {
	row, err := it.src.next(ec)
	if err != nil || row == nil {
		return nil, err
	}
	if it.out == nil {
		it.out = make([]any, len(it.exprs))
	}
	for i, e := range it.exprs {
		if it.out[i], err = e.eval(ec, row); err != nil {
			return nil, err
		}
	}
	return it.out, nil
}

func (it *projectIter) close() { it.src.close() }

type limitIter struct {
	src           rowIter
	limit, offset int64
	returned      int64
	// ties, for WITH TIES, are the sort keys a row past the limit must
	// share with the last row returned; last holds that row's values.
	ties []sortKey
	last []any
}

func (it *limitIter) next(ec *evalContext) ([]any, error) {
	for it.offset > 0 {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		it.offset--
	}
	if it.limit >= 0 && it.returned >= it.limit {
		if len(it.ties) == 0 || it.last == nil {
			return nil, nil
		}
		return it.nextTie(ec)
	}
	row, err := it.src.next(ec)
	if err != nil || row == nil {
		return nil, err
	}
	it.returned++
	if len(it.ties) > 0 && it.returned == it.limit {
		it.last = append([]any(nil), row...)
	}
	return row, nil
}

// nextTie returns the next input row while it ties with the last row
// within the limit, and ends the output at the first row that does not.
func (it *limitIter) nextTie(ec *evalContext) ([]any, error) {
	row, err := it.src.next(ec)
	if err != nil || row == nil {
		return nil, err
	}
	for _, k := range it.ties {
		if !equalTyped(row[k.col], it.last[k.col], k.typ) {
			it.last = nil
			return nil, nil
		}
	}
	return row, nil
}

func (it *limitIter) close() { it.src.close() }

// trimIter drops the hidden sort columns.
type trimIter struct {
	src   rowIter
	width int
}

func (it *trimIter) next(ec *evalContext) ([]any, error) {
	row, err := it.src.next(ec)
	if err != nil || row == nil {
		return nil, err
	}
	return row[:it.width], nil
}

func (it *trimIter) close() { it.src.close() }

// sortIter materializes its input and returns it ordered by keys.
type sortIter struct {
	src    rowIter
	keys   []sortKey
	rows   [][]any
	sorted bool
	pos    int
}

func (it *sortIter) next(ec *evalContext) ([]any, error) {
	if !it.sorted {
		for {
			row, err := it.src.next(ec)
			if err != nil {
				return nil, err
			}
			if row == nil {
				break
			}
			it.rows = append(it.rows, append([]any(nil), row...))
			if len(it.rows)%1024 == 0 {
				if err := ec.checkCancel(); err != nil {
					return nil, err
				}
			}
		}
		if hasJSONBKey(it.keys) {
			sortRowsWithJSONB(it.rows, it.keys, it.less)
		} else {
			sort.SliceStable(it.rows, func(i, j int) bool { return it.less(it.rows[i], it.rows[j]) })
		}
		it.sorted = true
	}
	if it.pos >= len(it.rows) {
		return nil, nil
	}
	it.pos++
	return it.rows[it.pos-1], nil
}

func (it *sortIter) less(a, b []any) bool {
	for _, k := range it.keys {
		x, y := a[k.col], b[k.col]
		var c int
		switch {
		case x == nil && y == nil:
			c = 0
		case x == nil:
			if k.nullsFirst {
				return true
			}
			return false
		case y == nil:
			if k.nullsFirst {
				return false
			}
			return true
		default:
			c = compareTyped(x, y, k.typ)
			if k.desc {
				c = -c
			}
		}
		if c != 0 {
			return c < 0
		}
	}
	return false
}

func (it *sortIter) close() { it.src.close() }

// distinctIter drops rows equal to an earlier row in the first width
// columns.
type distinctIter struct {
	src   rowIter
	width int
	// types are the type OIDs of the first width columns.
	types []uint32
	seen  map[string]struct{}
}

func (it *distinctIter) next(ec *evalContext) ([]any, error) {
	if it.seen == nil {
		it.seen = map[string]struct{}{}
	}
	for {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		key, err := groupKey(row[:it.width], it.types)
		if err != nil {
			return nil, err
		}
		if _, dup := it.seen[key]; dup {
			continue
		}
		it.seen[key] = struct{}{}
		return row, nil
	}
}

func (it *distinctIter) close() { it.src.close() }

// groupKey encodes values so that equal values give equal strings. types
// holds the type OIDs of vals, which jsonb needs because its equal values
// can differ in text. A value past the end of types is encoded by its Go
// type alone.
func groupKey(vals []any, types []uint32) (string, error) {
	var buf []byte
	var err error
	for i, v := range vals {
		var oid uint32
		if i < len(types) {
			oid = types[i]
		}
		if buf, err = encodeKeyDatum(buf, v, oid); err != nil {
			return "", err
		}
	}
	return string(buf), nil
}

// exprTypes returns the type OIDs of exprs.
func exprTypes(exprs []expr) []uint32 {
	types := make([]uint32, len(exprs))
	for i, e := range exprs {
		types[i] = e.resultType().OID
	}
	return types
}

// columnsOf is used by statements that return table rows (RETURNING).
func columnsOf(t *catalog.TableDescriptor, exprs []expr, names []string) []protocol.Column {
	cols := resultColumns(names, exprs)
	for i, e := range exprs {
		if c, ok := e.(*columnExpr); ok {
			cols[i].TableOID = t.ID
			cols[i].AttrNumber = int16(c.idx + 1)
		}
	}
	return cols
}

// hasFrom reports whether a scope has FROM columns.
func hasFrom(sc *scope) bool { return sc != nil && len(sc.cols) > 0 }
