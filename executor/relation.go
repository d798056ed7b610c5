package executor

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/security"
)

// relation is an analysed FROM item: a table, a join, a derived table or a
// common table expression. Its rows have the width of its scope.
type relation interface {
	open(ec *evalContext) (rowIter, error)
}

// tableRelation reads a stored or virtual table. A filter pushed into it
// (the WHERE clause of a single-table query) narrows the key range.
type tableRelation struct {
	table   *catalog.TableDescriptor
	codec   *rowCodec
	virtual *virtualTable
	spec    scanSpec
	filter  expr
	// ordered, when set, is the spec of a scan that returns the rows in
	// the order of the query's ORDER BY, used when readsInOrder.
	ordered *scanSpec
}

func (r *tableRelation) open(ec *evalContext) (rowIter, error) {
	if r.virtual != nil {
		return &virtualScanIter{table: r.virtual, filter: r.filter}, nil
	}
	if r.readsInOrder(ec) {
		return newScanIter(ec, r.codec, *r.ordered, r.filter, scanForRead), nil
	}
	return newScanIter(ec, r.codec, r.spec, r.filter, scanForRead), nil
}

// derivedRelation is a subquery in FROM, a view or a CTE reference.
type derivedRelation struct {
	plan *selectPlan
	// cte, when set, makes every reference in one execution share one
	// materialized result.
	cte *cteDef
}

func (r *derivedRelation) open(ec *evalContext) (rowIter, error) {
	if r.cte == nil {
		return r.plan.open(ec)
	}
	if rows, ok := ec.cteRows[r.cte]; ok {
		return &sliceIter{rows: rows}, nil
	}
	// A recursive query is not kept, so that a LIMIT can stop it early;
	// every reference computes it again.
	if r.plan.recursive != nil {
		return r.plan.open(ec)
	}
	rows, err := materialize(ec, r.plan)
	if err != nil {
		return nil, err
	}
	if ec.cteRows == nil {
		ec.cteRows = map[*cteDef][][]any{}
	}
	ec.cteRows[r.cte] = rows
	return &sliceIter{rows: rows}, nil
}

// materialize runs a plan to the end and returns copies of its rows.
func materialize(ec *evalContext, sp *selectPlan) ([][]any, error) {
	it, err := sp.open(ec)
	if err != nil {
		return nil, err
	}
	defer it.close()
	var rows [][]any
	for {
		row, err := it.next(ec)
		if err != nil {
			return nil, err
		}
		if row == nil {
			return rows, nil
		}
		rows = append(rows, append([]any(nil), row...))
		if len(rows)%1024 == 0 {
			if err := ec.checkCancel(); err != nil {
				return nil, err
			}
		}
	}
}

// cteDef is a WITH query visible to the statement's FROM clauses.
type cteDef struct {
	name  string
	plan  *selectPlan
	names []string
}

// analyseFrom builds the relation of a FROM clause; several items are
// joined with a cross join. It returns a nil relation for no FROM.
func (a *analyser) analyseFrom(items []*pg_query.Node) (relation, *scope, error) {
	var rel relation
	var sc *scope
	for _, item := range items {
		rs := item.GetRangeSubselect()
		if rel != nil && rs == nil {
			rs = lateralFunction(item)
		}
		if rs != nil && rs.Lateral && rel != nil {
			leftWidth := len(sc.cols)
			var err error
			if rel, sc, err = a.lateralJoin(rel, sc, rs, pg_query.JoinType_JOIN_INNER, nil); err != nil {
				return nil, nil, err
			}
			if rs != item.GetRangeSubselect() && len(sc.cols) == leftWidth+1 {
				sc.cols[leftWidth].aliasNamesColumn = true
			}
			continue
		}
		r, s, err := a.analyseFromItem(item)
		if err != nil {
			return nil, nil, err
		}
		if rel == nil {
			rel, sc = r, s
			continue
		}
		rel, sc, err = a.join(rel, sc, r, s, pg_query.JoinType_JOIN_INNER, nil, nil)
		if err != nil {
			return nil, nil, err
		}
	}
	if sc == nil {
		sc = &scope{}
	}
	if fromReadsOuter(rel) {
		sc.correlated = true
	}
	return rel, sc, nil
}

func (a *analyser) analyseFromItem(n *pg_query.Node) (relation, *scope, error) {
	switch {
	case n.GetRangeVar() != nil:
		return a.analyseRangeVar(n.GetRangeVar())
	case n.GetJoinExpr() != nil:
		return a.analyseJoin(n.GetJoinExpr())
	case n.GetRangeFunction() != nil:
		return a.analyseRangeFunction(n.GetRangeFunction())
	case n.GetRangeSubselect() != nil:
		// A LATERAL subquery first in FROM has no items to its left, so
		// it is analysed like any other.
		rs := n.GetRangeSubselect()
		sub, err := a.child(a.outer).analyseSelect(rs.Subquery.GetSelectStmt())
		if err != nil {
			return nil, nil, err
		}
		if rs.Alias == nil {
			return nil, nil, pgerror.New(pgcode.SyntaxError, "subquery in FROM must have an alias").
				WithHint("For example, FROM (SELECT ...) [AS] foo.")
		}
		sc, err := derivedScope(rs.Alias.Aliasname, sub, aliasColumnNames(rs.Alias))
		if err != nil {
			return nil, nil, err
		}
		return &derivedRelation{plan: sub}, sc, nil
	}
	return nil, nil, pgerror.NotSupported("FROM " + nodeName(n))
}

func aliasColumnNames(alias *pg_query.Alias) []string {
	if alias == nil {
		return nil
	}
	var names []string
	for _, c := range alias.Colnames {
		names = append(names, c.GetString_().GetSval())
	}
	return names
}

// derivedScope names the output columns of a subquery for the outer query.
func derivedScope(alias string, sp *selectPlan, colNames []string) (*scope, error) {
	if len(colNames) > len(sp.targets) {
		return nil, pgerror.Newf(pgcode.InvalidColumnReference, "table %q has %d columns available but %d columns specified", alias, len(sp.targets), len(colNames))
	}
	sc := &scope{}
	for i, e := range sp.targets {
		name := sp.names[i]
		if i < len(colNames) {
			name = colNames[i]
		}
		sc.cols = append(sc.cols, scopeColumn{table: alias, name: name, typ: e.resultType(), fields: recordFields(e)})
	}
	return sc, nil
}

// analyseRangeVar resolves a table, view or CTE name in FROM.
func (a *analyser) analyseRangeVar(rv *pg_query.RangeVar) (relation, *scope, error) {
	alias := rv.Relname
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	if rv.Schemaname == "" {
		if cte := a.lookupCTE(rv.Relname); cte != nil {
			sc, err := derivedScope(alias, cte.plan, cte.names)
			if err != nil {
				return nil, nil, err
			}
			return &derivedRelation{plan: cte.plan, cte: cte}, sc, nil
		}
	}
	t, codec, sc, err := a.targetTable(rv)
	if err != nil {
		return nil, nil, err
	}
	if t.Kind == catalog.TableKindView {
		return a.expandView(t, alias, rv)
	}
	if err := a.checkTable(t, security.OpSelect); err != nil {
		return nil, nil, err
	}
	rel := &tableRelation{table: t, codec: codec}
	if t.Kind == catalog.TableKindSystem {
		rel.virtual = virtualTables(schemaOfVirtual(t))[t.Name]
	}
	if t.Kind == catalog.TableKindSequence {
		rel.virtual = sequenceVirtualTable(t)
	}
	if names := aliasColumnNames(rv.Alias); len(names) > 0 {
		visible := 0
		for i := range sc.cols {
			if sc.cols[i].hidden {
				continue
			}
			if visible < len(names) {
				sc.cols[i].name = names[visible]
			}
			visible++
		}
	}
	return rel, sc, nil
}

// expandView analyses the stored query of a view as a derived table. The
// base tables are checked against the user reading the view, and the rows
// of USER and STREAM tables are that user's, as for any other query.
func (a *analyser) expandView(view *catalog.TableDescriptor, alias string, rv *pg_query.RangeVar) (relation, *scope, error) {
	tree, err := pg_query.Parse(view.ViewQuery)
	if err != nil || len(tree.Stmts) != 1 || tree.Stmts[0].Stmt.GetSelectStmt() == nil {
		return nil, nil, pgerror.Internal("stored query of view %q does not parse", view.Name)
	}
	child := &analyser{sess: a.sess, txn: a.txn, params: &paramTypes{}, asUser: a.asUser, depth: a.depth + 1}
	if child.depth > maxViewDepth {
		return nil, nil, pgerror.Newf(pgcode.InvalidObjectDefinition, "infinite recursion detected in rules for relation %q", view.Name)
	}
	sub, err := child.analyseSelect(tree.Stmts[0].Stmt.GetSelectStmt())
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(view.Columns))
	for i, c := range view.Columns {
		names[i] = c.Name
	}
	if colNames := aliasColumnNames(rv.Alias); len(colNames) > 0 {
		copy(names, colNames)
	}
	sc, err := derivedScope(alias, sub, names)
	if err != nil {
		return nil, nil, err
	}
	return &derivedRelation{plan: sub}, sc, nil
}

// maxViewDepth bounds views defined on views.
const maxViewDepth = 32

// lookupCTE finds a WITH query by name, innermost first.
func (a *analyser) lookupCTE(name string) *cteDef {
	for an := a; an != nil; an = an.parent {
		for i := len(an.ctes) - 1; i >= 0; i-- {
			if an.ctes[i].name == name {
				return an.ctes[i]
			}
		}
	}
	return nil
}

// analyseWith analyses the queries of a WITH clause in order, so each may
// use the ones before it.
func (a *analyser) analyseWith(w *pg_query.WithClause) error {
	if w == nil {
		return nil
	}
	for _, n := range w.Ctes {
		c := n.GetCommonTableExpr()
		sel := c.Ctequery.GetSelectStmt()
		if sel == nil {
			return pgerror.New(pgcode.FeatureNotSupported, "data-modifying statements in WITH are not supported")
		}
		for _, existing := range a.ctes {
			if existing.name == c.Ctename {
				return pgerror.Newf(pgcode.DuplicateAlias, "WITH query name %q specified more than once", c.Ctename)
			}
		}
		if w.Recursive && countTableReferences(sel.ProtoReflect(), c.Ctename) > 0 {
			if err := a.analyseRecursiveCTE(c, sel); err != nil {
				return err
			}
			continue
		}
		sub, err := a.child(a.outer).analyseSelect(sel)
		if err != nil {
			return err
		}
		names := make([]string, len(sub.names))
		copy(names, sub.names)
		for i, cn := range c.Aliascolnames {
			if i < len(names) {
				names[i] = cn.GetString_().GetSval()
			}
		}
		a.ctes = append(a.ctes, &cteDef{name: c.Ctename, plan: sub, names: names})
	}
	return nil
}

// child returns an analyser for a nested query whose column references may
// reach the scope outer.
func (a *analyser) child(outer *scope) *analyser {
	return &analyser{sess: a.sess, txn: a.txn, params: a.params, sql: a.sql, asUser: a.asUser, outer: outer, outerBuilder: a.outerBuilder, parent: a, depth: a.depth}
}

func (a *analyser) analyseJoin(je *pg_query.JoinExpr) (relation, *scope, error) {
	left, lsc, err := a.analyseFromItem(je.Larg)
	if err != nil {
		return nil, nil, err
	}
	// NOTE: a LATERAL subquery on the right of a RIGHT or FULL join is
	// analysed without the left items, so a reference to them fails with
	// 42703 where PostgreSQL raises 42P10.
	rs := je.Rarg.GetRangeSubselect()
	if rs == nil {
		rs = lateralFunction(je.Rarg)
	}
	if rs != nil && rs.Lateral && (je.Jointype == pg_query.JoinType_JOIN_INNER || je.Jointype == pg_query.JoinType_JOIN_LEFT) {
		if len(je.UsingClause) > 0 || je.IsNatural || je.Alias != nil {
			return nil, nil, pgerror.NotSupported("USING, NATURAL or an alias with a LATERAL join")
		}
		return a.lateralJoin(left, lsc, rs, je.Jointype, je.Quals)
	}
	right, rsc, err := a.analyseFromItem(je.Rarg)
	if err != nil {
		return nil, nil, err
	}
	var using []string
	for _, u := range je.UsingClause {
		using = append(using, u.GetString_().GetSval())
	}
	if je.IsNatural {
		for _, lc := range lsc.cols {
			if lc.hidden {
				continue
			}
			for _, rc := range rsc.cols {
				if !rc.hidden && rc.name == lc.name {
					using = append(using, lc.name)
				}
			}
		}
	}
	rel, sc, err := a.join(left, lsc, right, rsc, je.Jointype, je.Quals, using)
	if err != nil {
		return nil, nil, err
	}
	if je.Alias != nil {
		for i := range sc.cols {
			sc.cols[i].table = je.Alias.Aliasname
			if sc.cols[i].usingDuplicate {
				// The alias names the merged column only.
				sc.cols[i].table = ""
			}
		}
	}
	return rel, sc, nil
}

// join combines two relations. quals is the ON condition; using lists the
// USING (or NATURAL) columns, which appear once in the result.
func (a *analyser) join(left relation, lsc *scope, right relation, rsc *scope, kind pg_query.JoinType, quals *pg_query.Node, using []string) (relation, *scope, error) {
	leftTables := map[string]bool{}
	for _, c := range lsc.cols {
		if c.table != "" {
			leftTables[c.table] = true
		}
	}
	for _, c := range rsc.cols {
		if leftTables[c.table] {
			return nil, nil, pgerror.Newf(pgcode.DuplicateAlias, "table name %q specified more than once", c.table)
		}
	}
	sc := &scope{parent: a.outer}
	sc.cols = append(append(sc.cols, lsc.cols...), rsc.cols...)
	jr := &joinRelation{left: left, right: right, leftWidth: len(lsc.cols), rightWidth: len(rsc.cols), kind: kind}

	b := &builder{sess: a.sess, scope: sc, params: a.params, an: a, clause: "JOIN conditions"}
	var conds []expr
	var merged []scopeColumn
	for _, name := range using {
		li, err := (&scope{cols: lsc.cols}).resolve("", name, -1)
		if err != nil {
			return nil, nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q specified in USING clause does not exist in left table", name)
		}
		ri, err := (&scope{cols: rsc.cols}).resolve("", name, -1)
		if err != nil {
			return nil, nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q specified in USING clause does not exist in right table", name)
		}
		ri += len(lsc.cols)
		eq, err := b.binary("=", &columnExpr{idx: li, typ: sc.cols[li].typ, name: name}, &columnExpr{idx: ri, typ: sc.cols[ri].typ, name: name}, -1)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, eq)
		// The unqualified name and SELECT * reach the merged column, which
		// the join appends to its rows: the left value, the right one for a
		// RIGHT join, and the first non-NULL of the two for a FULL join.
		lv, rv := expr(&columnExpr{idx: li, typ: sc.cols[li].typ, name: name}), expr(&columnExpr{idx: ri, typ: sc.cols[ri].typ, name: name})
		if cmp, ok := eq.(*compareExpr); ok {
			lv, rv = cmp.left, cmp.right
		}
		jr.merged = append(jr.merged, [2]expr{lv, rv})
		sc.cols[li].usingDuplicate = true
		sc.cols[ri].usingDuplicate = true
		merged = append(merged, scopeColumn{name: name, typ: lv.resultType(), usingMerged: true})
	}
	sc.cols = append(sc.cols, merged...)
	if quals != nil {
		on, err := b.build(quals)
		if err != nil {
			return nil, nil, err
		}
		if on, err = b.requireBool(on, "JOIN/ON"); err != nil {
			return nil, nil, err
		}
		conds = append(conds, on)
	}
	switch len(conds) {
	case 0:
	case 1:
		jr.on = conds[0]
	default:
		jr.on = &andExpr{args: conds}
	}
	jr.findEquiKeys()
	jr.planLookup()
	return jr, sc, nil
}

// joinRelation joins two relations. The right side is read once per
// execution and kept in memory. Equality conditions between the two sides
// make it a hash join, and other conditions a nested loop.
type joinRelation struct {
	left, right           relation
	leftWidth, rightWidth int
	kind                  pg_query.JoinType
	on                    expr
	// leftKeys and rightKeys are equal-length key expressions over the left
	// and the right row for a hash join.
	leftKeys, rightKeys []expr
	// keyTypes are the type OIDs of the keys, the same on both sides.
	keyTypes []uint32
	// merged holds the left and right values of each USING column, from
	// which the merged column appended to every row is computed.
	merged [][2]expr
	// lookup, when set, lets the join read the right table by key for each
	// left row instead of reading all of it; see joinIter.
	lookup *joinLookup
}

// joinLookup reads the right table's rows that match one left row through
// its primary key or a secondary index. slots receive the left row's key
// values, which the scan spec's equalities read.
type joinLookup struct {
	table *tableRelation
	spec  scanSpec
	slots []*slotExpr
	// keys are the left key expressions feeding the slots, in slot order.
	keys []expr
}

// slotExpr is a value set by the join before each lookup.
type slotExpr struct {
	val any
	typ catalog.ColumnType
}

func (e *slotExpr) eval(*evalContext, []any) (any, error) { return e.val, nil }
func (e *slotExpr) resultType() catalog.ColumnType        { return e.typ }

// lookupThreshold is how many left rows a join with a usable right index
// reads before deciding: a left side that ends within it is joined by
// lookups, a longer one by a hash table over the right side.
const lookupThreshold = 64

// planLookup sets up key lookups into the right side when it is a stored
// table whose primary key or an index starts with columns the join
// equates with the left side. Only inner and left joins use them, since
// right and full joins must see every right row anyway.
func (j *joinRelation) planLookup() {
	if len(j.rightKeys) == 0 || (j.kind != pg_query.JoinType_JOIN_INNER && j.kind != pg_query.JoinType_JOIN_LEFT) {
		return
	}
	tr, ok := j.right.(*tableRelation)
	if !ok || tr.virtual != nil || len(tr.spec.eq) > 0 || tr.spec.lo != nil || tr.spec.hi != nil || tr.spec.in != nil || tr.spec.index != nil {
		return
	}
	lk := &joinLookup{table: tr}
	byCol := map[int][]keyBound{}
	slotOf := map[int]*slotExpr{}
	for i, rk := range j.rightKeys {
		col := rk.(*columnExpr)
		if _, dup := slotOf[col.idx]; dup {
			continue
		}
		slot := &slotExpr{typ: col.typ}
		slotOf[col.idx] = slot
		lk.slots = append(lk.slots, slot)
		lk.keys = append(lk.keys, j.leftKeys[i])
		byCol[col.idx] = []keyBound{{op: "=", val: slot}}
	}
	best := specFor(tr.codec.keyCols, byCol)
	for _, ic := range tr.codec.indexCodecs() {
		spec := specFor(ic.cols, byCol)
		spec.point = spec.point && ic.desc.Unique
		spec.index = ic
		if len(spec.eq) > len(best.eq) || (spec.point && !best.point) {
			best = spec
		}
	}
	if len(best.eq) == 0 {
		return
	}
	lk.spec = best
	j.lookup = lk
}

// withMerged appends the merged USING columns to a joined row.
func (j *joinRelation) withMerged(ec *evalContext, row []any) ([]any, error) {
	for _, m := range j.merged {
		l, err := m[0].eval(ec, row)
		if err != nil {
			return nil, err
		}
		r, err := m[1].eval(ec, row)
		if err != nil {
			return nil, err
		}
		v := l
		if j.kind == pg_query.JoinType_JOIN_RIGHT || (j.kind == pg_query.JoinType_JOIN_FULL && l == nil) {
			v = r
		}
		row = append(row, v)
	}
	return row, nil
}

// findEquiKeys picks the conjuncts of ON that compare a left column with a
// right column of the same type.
func (j *joinRelation) findEquiKeys() {
	if j.on == nil {
		return
	}
	for _, c := range flattenAnd(j.on) {
		l, r, ok := j.equiKey(c)
		if !ok {
			continue
		}
		j.leftKeys = append(j.leftKeys, &columnExpr{idx: l.idx, typ: l.typ, name: l.name})
		j.rightKeys = append(j.rightKeys, &columnExpr{idx: r.idx - j.leftWidth, typ: r.typ, name: r.name})
		j.keyTypes = append(j.keyTypes, l.typ.OID)
	}
}

// equiKey returns the left and the right column of a conjunct of ON that
// a hash join can use: an equality of a left and a right column of the
// same type.
func (j *joinRelation) equiKey(c expr) (l, r *columnExpr, ok bool) {
	cmp, ok := c.(*compareExpr)
	if !ok || cmp.op != "=" || cmp.bpchar {
		return nil, nil, false
	}
	l, lok := cmp.left.(*columnExpr)
	r, rok := cmp.right.(*columnExpr)
	if !lok || !rok || l.typ.OID != r.typ.OID {
		return nil, nil, false
	}
	if l.idx >= j.leftWidth {
		l, r = r, l
	}
	if l.idx >= j.leftWidth || r.idx < j.leftWidth {
		return nil, nil, false
	}
	return l, r, true
}

func (j *joinRelation) open(ec *evalContext) (rowIter, error) {
	// An inner join whose condition folded to FALSE or NULL has no rows,
	// and PostgreSQL reads neither side.
	if j.kind == pg_query.JoinType_JOIN_INNER && isConstantlyNotTrue(j.on) {
		return &sliceIter{}, nil
	}
	left, err := j.left.open(ec)
	if err != nil {
		return nil, err
	}
	return &joinIter{join: j, left: left}, nil
}

// joinIter produces the rows of a join.
type joinIter struct {
	join *joinRelation
	left rowIter
	// lookups is set once the left side proved short enough to join by key
	// lookups; buffered holds the left rows read while deciding.
	lookups  bool
	buffered [][]any

	built    bool
	right    [][]any
	matched  []bool
	buckets  map[string][]int
	leftRow  []any
	pending  []int
	leftHit  bool
	leftDone bool
	tailPos  int
}

func (it *joinIter) build(ec *evalContext) error {
	j := it.join
	if j.lookup != nil {
		// Read ahead on the left to choose between lookups and a hash
		// table.
		for len(it.buffered) <= lookupThreshold {
			row, err := it.left.next(ec)
			if err != nil {
				return err
			}
			if row == nil {
				it.lookups = true
				it.built = true
				return nil
			}
			it.buffered = append(it.buffered, append([]any(nil), row...))
		}
	}
	right, err := j.right.open(ec)
	if err != nil {
		return err
	}
	defer right.close()
	for {
		row, err := right.next(ec)
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		it.right = append(it.right, append([]any(nil), row...))
	}
	it.matched = make([]bool, len(it.right))
	if len(j.rightKeys) > 0 {
		it.buckets = map[string][]int{}
		for i, row := range it.right {
			key, null, err := joinKey(ec, j.rightKeys, j.keyTypes, row)
			if err != nil {
				return err
			}
			if !null {
				it.buckets[key] = append(it.buckets[key], i)
			}
		}
	}
	it.built = true
	return nil
}

// joinKey encodes the key values of a row; null reports a NULL key, which
// never matches.
func joinKey(ec *evalContext, keys []expr, types []uint32, row []any) (string, bool, error) {
	vals := make([]any, len(keys))
	for i, k := range keys {
		v, err := k.eval(ec, row)
		if err != nil {
			return "", false, err
		}
		if v == nil {
			return "", true, nil
		}
		vals[i] = v
	}
	key, err := groupKey(vals, types)
	return key, false, err
}

func (it *joinIter) next(ec *evalContext) ([]any, error) {
	j := it.join
	if !it.built {
		if err := it.build(ec); err != nil {
			return nil, err
		}
	}
	for !it.leftDone {
		if it.leftRow == nil {
			row, err := it.nextLeft(ec)
			if err != nil {
				return nil, err
			}
			if row == nil {
				it.leftDone = true
				break
			}
			it.leftRow = append([]any(nil), row...)
			it.leftHit = false
			if err := it.candidates(ec); err != nil {
				return nil, err
			}
		}
		for len(it.pending) > 0 {
			i := it.pending[0]
			it.pending = it.pending[1:]
			combined := append(append(make([]any, 0, j.leftWidth+j.rightWidth), it.leftRow...), it.right[i]...)
			if j.on != nil {
				ok, err := j.on.eval(ec, combined)
				if err != nil {
					return nil, err
				}
				if ok != true {
					continue
				}
			}
			it.leftHit = true
			it.matched[i] = true
			return j.withMerged(ec, combined)
		}
		row := it.leftRow
		it.leftRow = nil
		if !it.leftHit && (j.kind == pg_query.JoinType_JOIN_LEFT || j.kind == pg_query.JoinType_JOIN_FULL) {
			return j.withMerged(ec, append(row, make([]any, j.rightWidth)...))
		}
	}
	// Right rows no left row matched, for RIGHT and FULL joins.
	if j.kind == pg_query.JoinType_JOIN_RIGHT || j.kind == pg_query.JoinType_JOIN_FULL {
		for it.tailPos < len(it.right) {
			i := it.tailPos
			it.tailPos++
			if !it.matched[i] {
				return j.withMerged(ec, append(make([]any, j.leftWidth), it.right[i]...))
			}
		}
	}
	return nil, nil
}

// nextLeft returns the next left row, the read-ahead ones first.
func (it *joinIter) nextLeft(ec *evalContext) ([]any, error) {
	if len(it.buffered) > 0 {
		row := it.buffered[0]
		it.buffered = it.buffered[1:]
		return row, nil
	}
	return it.left.next(ec)
}

// lookupCandidates reads the right rows whose key equals the current left
// row's.
func (it *joinIter) lookupCandidates(ec *evalContext) error {
	lk := it.join.lookup
	it.right = it.right[:0]
	it.pending = it.pending[:0]
	for i, k := range lk.keys {
		v, err := k.eval(ec, it.leftRow)
		if err != nil {
			return err
		}
		if v == nil {
			return nil
		}
		lk.slots[i].val = v
	}
	scan := newScanIter(ec, lk.table.codec, lk.spec, lk.table.filter, scanForRead)
	defer scan.close()
	for {
		row, err := scan.next(ec)
		if err != nil {
			return err
		}
		if row == nil {
			break
		}
		it.pending = append(it.pending, len(it.right))
		it.right = append(it.right, append([]any(nil), row...))
	}
	if len(it.matched) < len(it.right) {
		it.matched = make([]bool, len(it.right))
	}
	return nil
}

// candidates lists the right rows that may match the current left row.
func (it *joinIter) candidates(ec *evalContext) error {
	if it.lookups {
		return it.lookupCandidates(ec)
	}
	if it.buckets == nil {
		it.pending = it.pending[:0]
		for i := range it.right {
			it.pending = append(it.pending, i)
		}
		return nil
	}
	key, null, err := joinKey(ec, it.join.leftKeys, it.join.keyTypes, it.leftRow)
	if err != nil {
		return err
	}
	if null {
		it.pending = nil
		return nil
	}
	it.pending = append(it.pending[:0], it.buckets[key]...)
	return nil
}

func (it *joinIter) close() { it.left.close() }

// filterIter drops rows that do not pass a condition.
type filterIter struct {
	src    rowIter
	filter expr
}

func (it *filterIter) next(ec *evalContext) ([]any, error) {
	for {
		row, err := it.src.next(ec)
		if err != nil || row == nil {
			return nil, err
		}
		ok, err := it.filter.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if ok == true {
			return row, nil
		}
	}
}

func (it *filterIter) close() { it.src.close() }
