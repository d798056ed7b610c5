package executor

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// EXPLAIN prints the plan pgkeep runs, in the text format and node names of
// PostgreSQL's EXPLAIN (COSTS OFF): pgkeep has no cost model, so there are
// no costs or row estimates whatever options the statement sets.

// planExplain analyses the explained statement like the statement itself,
// so it fails the same way (a table the user may not read included), and
// returns a plan whose rows are the lines of the plan tree.
func (a *analyser) planExplain(st *pg_query.ExplainStmt) (*plan, error) {
	if err := checkExplainOptions(st.Options); err != nil {
		return nil, err
	}
	var describe func(ex *explainer) *explainNode
	q := st.Query
	switch {
	case q.GetSelectStmt() != nil:
		sp, err := a.analyseSelect(q.GetSelectStmt())
		if err != nil {
			return nil, err
		}
		describe = func(ex *explainer) *explainNode {
			ex.qualify = relationCount(sp) > 1
			return ex.selectNode(sp)
		}
	case q.GetInsertStmt() != nil, q.GetUpdateStmt() != nil, q.GetDeleteStmt() != nil:
		if _, err := a.planNode(q); err != nil {
			return nil, err
		}
		node, err := a.describeWrite(q)
		if err != nil {
			return nil, err
		}
		describe = node
	default:
		return nil, pgerror.NotSupported("EXPLAIN of " + statementName(q))
	}
	cols := resultColumns([]string{"QUERY PLAN"}, []expr{&constExpr{typ: plainType(oidText)}})
	return &plan{
		cols: cols,
		run: func(ec *evalContext) (*result, error) {
			// As in PostgreSQL, the parameters must have values, although
			// the plan does not read them.
			if n := len(a.params.oids); len(ec.params) < n {
				return nil, pgerror.Newf(pgcode.UndefinedParameter, "there is no parameter $%d", len(ec.params)+1)
			}
			ex := &explainer{ec: ec, ctesShown: map[*cteDef]bool{}}
			var rows [][]any
			for _, line := range describe(ex).render(nil, 0, true) {
				rows = append(rows, []any{line})
			}
			return &result{rows: &sliceIter{rows: rows}, tag: "EXPLAIN"}, nil
		},
	}, nil
}

// checkExplainOptions validates the options of EXPLAIN (...) as
// PostgreSQL 15 does. ANALYZE fails with 0A000 because pgkeep does not
// measure execution, and so does any format other than text.
func checkExplainOptions(options []*pg_query.Node) error {
	analyze, timingSet, timing, wal := false, false, false, false
	for _, n := range options {
		opt := n.GetDefElem()
		if opt == nil {
			continue
		}
		switch opt.Defname {
		case "analyze", "verbose", "costs", "settings", "buffers", "wal", "timing", "summary":
			on, err := explainBool(opt)
			if err != nil {
				return err
			}
			switch opt.Defname {
			case "analyze":
				analyze = on
			case "timing":
				timingSet, timing = true, on
			case "wal":
				wal = on
			}
		case "format":
			format := strings.ToLower(explainOptionString(opt.Arg))
			switch format {
			case "text":
			case "json", "xml", "yaml":
				return pgerror.Newf(pgcode.FeatureNotSupported, "EXPLAIN (FORMAT %s) is not supported", strings.ToUpper(format)).
					WithHint("Use FORMAT TEXT.")
			default:
				return pgerror.Newf(pgcode.InvalidParameterValue, "unrecognized value for EXPLAIN option %q: %q", opt.Defname, explainOptionString(opt.Arg)).
					WithPosition(opt.Location + 1)
			}
		default:
			return pgerror.Newf(pgcode.SyntaxError, "unrecognized EXPLAIN option %q", opt.Defname).WithPosition(opt.Location + 1)
		}
	}
	switch {
	case wal && !analyze:
		return pgerror.New(pgcode.InvalidParameterValue, "EXPLAIN option WAL requires ANALYZE")
	case timingSet && timing && !analyze:
		return pgerror.New(pgcode.InvalidParameterValue, "EXPLAIN option TIMING requires ANALYZE")
	case analyze:
		return pgerror.New(pgcode.FeatureNotSupported, "EXPLAIN ANALYZE is not supported").
			WithHint("Use EXPLAIN without ANALYZE to see the plan.")
	}
	return nil
}

// explainBool reads a Boolean option as PostgreSQL's defGetBoolean does:
// no value is true, and the value may be true, false, on, off, 1 or 0.
func explainBool(opt *pg_query.DefElem) (bool, error) {
	if opt.Arg == nil {
		return true, nil
	}
	if i := opt.Arg.GetInteger(); i != nil {
		switch i.Ival {
		case 0:
			return false, nil
		case 1:
			return true, nil
		}
	} else {
		switch strings.ToLower(explainOptionString(opt.Arg)) {
		case "true", "on":
			return true, nil
		case "false", "off":
			return false, nil
		}
	}
	return false, pgerror.Newf(pgcode.SyntaxError, "%s requires a Boolean value", opt.Defname)
}

func explainOptionString(n *pg_query.Node) string {
	switch {
	case n == nil:
		return ""
	case n.GetString_() != nil:
		return n.GetString_().Sval
	case n.GetInteger() != nil:
		return strconv.Itoa(int(n.GetInteger().Ival))
	case n.GetFloat() != nil:
		return n.GetFloat().Fval
	case n.GetBoolean() != nil:
		return strconv.FormatBool(n.GetBoolean().Boolval)
	}
	return ""
}

// explainNode is one node of the plan tree.
type explainNode struct {
	name  string
	props []string
	// initPlans run before the node (WITH queries and subqueries that do
	// not read the current row), subPlans for each row it handles.
	initPlans []labeledPlan
	children  []*explainNode
	subPlans  []labeledPlan
}

// labeledPlan is a plan below a node that is not one of its inputs, under
// a label such as "CTE w" or "SubPlan 1".
type labeledPlan struct {
	label string
	node  *explainNode
}

func (n *explainNode) prop(name, value string) {
	n.props = append(n.props, name+": "+value)
}

// render appends the lines of n and its descendants to out. A child's
// line starts with "->  " at indent spaces, and its details are indented
// six spaces more, as in PostgreSQL.
func (n *explainNode) render(out []string, indent int, root bool) []string {
	detail := indent + 6
	if root {
		out = append(out, n.name)
		detail = 2
	} else {
		out = append(out, strings.Repeat(" ", indent)+"->  "+n.name)
	}
	pad := strings.Repeat(" ", detail)
	for _, p := range n.props {
		out = append(out, pad+p)
	}
	for _, lp := range n.initPlans {
		out = append(out, pad+lp.label)
		out = lp.node.render(out, detail+2, false)
	}
	for _, c := range n.children {
		out = c.render(out, detail, false)
	}
	for _, lp := range n.subPlans {
		out = append(out, pad+lp.label)
		out = lp.node.render(out, detail+2, false)
	}
	return out
}

// explainer builds the plan tree of one statement for one execution, so
// that choices made when the scan opens (such as reading in index order)
// show as they run.
type explainer struct {
	ec *evalContext
	// qualify names columns with their table, as PostgreSQL does when a
	// statement reads more than one relation.
	qualify bool
	// subplans numbers the subqueries in expressions.
	subplans  int
	ctesShown map[*cteDef]bool
	// workTable is the recursive WITH query whose recursive term is being
	// described; a reference to it there reads the previous iteration.
	workTable *cteDef
}

func wrap(name string, child *explainNode) *explainNode {
	return &explainNode{name: name, children: []*explainNode{child}}
}

// selectNode describes the row pipeline that selectPlan.open builds.
func (ex *explainer) selectNode(sp *selectPlan) *explainNode {
	sc := exprScope{scope: sp.scope, aggs: sp.aggs}
	var n *explainNode
	switch {
	case sp.setOp != nil:
		n = ex.setOpNode(sp.setOp)
	case sp.recursive != nil:
		n = ex.recursiveNode(sp.recursive)
	case sp.values != nil:
		n = &explainNode{name: `Values Scan on "*VALUES*"`}
	case sp.from != nil:
		n = ex.relationNode(sp.from, sp.scope, 0)
		if sp.filter != nil {
			n.prop("Filter", ex.exprText(sp.filter, sc, n))
		}
	default:
		n = &explainNode{name: "Result"}
		if sp.filter != nil {
			n.prop("One-Time Filter", ex.exprText(sp.filter, sc, n))
		}
	}

	if sp.aggregate {
		if len(sp.groupBy) > 0 {
			n = wrap("HashAggregate", n)
			n.prop("Group Key", ex.joinTexts(sp.groupBy, ", ", sc, n))
		} else {
			n = wrap("Aggregate", n)
		}
		if sp.having != nil {
			n.prop("Filter", ex.exprText(sp.having, sc, n))
		}
	}
	if len(sp.windows) > 0 {
		n = wrap("WindowAgg", n)
	}
	// The targets are not shown, but their subqueries are, under the node
	// that computes them.
	for _, e := range append(append([]expr{}, sp.targets...), sp.extraSort...) {
		ex.collectSubplans(e, sc, n)
	}

	if sp.distinct {
		n = wrap("HashAggregate", n)
		n.prop("Group Key", ex.joinTexts(sp.targets, ", ", sc, n))
	}
	if len(sp.sortKeys) > 0 && !sp.orderedBy.readsInOrder(ex.ec) {
		n = wrap("Sort", n)
		n.prop("Sort Key", ex.sortKeyText(sp, sc, n))
	}
	if len(sp.distinctOn) > 0 {
		n = wrap("Unique", n)
	}
	if sp.limit != nil || sp.offset != nil {
		n = wrap("Limit", n)
	}
	return n
}

// collectSubplans adds the plans of the subqueries in e to host.
func (ex *explainer) collectSubplans(e expr, sc exprScope, host *explainNode) {
	walkExpr(e, func(x expr) {
		switch x.(type) {
		case *existsExpr, *scalarSubqueryExpr, *quantifiedExpr:
			ex.exprText(x, sc, host)
		}
	})
}

// subplan adds the plan of a subquery to host and returns its label.
func (ex *explainer) subplan(sq *subquery, host *explainNode) string {
	ex.subplans++
	label := "InitPlan " + strconv.Itoa(ex.subplans)
	if sq.correlated {
		label = "SubPlan " + strconv.Itoa(ex.subplans)
	}
	lp := labeledPlan{label: label, node: ex.selectNode(sq.plan)}
	if sq.correlated {
		host.subPlans = append(host.subPlans, lp)
	} else {
		host.initPlans = append(host.initPlans, lp)
	}
	return label
}

func (ex *explainer) sortKeyText(sp *selectPlan, sc exprScope, host *explainNode) string {
	parts := make([]string, len(sp.sortKeys))
	for i, k := range sp.sortKeys {
		var text string
		switch {
		case sp.scope == nil && k.col < len(sp.names):
			text = quoteIdent(sp.names[k.col]).(string)
		case k.col < len(sp.targets):
			text = ex.exprText(sp.targets[k.col], sc, host)
		default:
			text = ex.exprText(sp.extraSort[k.col-len(sp.targets)], sc, host)
		}
		switch {
		case k.desc && !k.nullsFirst:
			text += " DESC NULLS LAST"
		case k.desc:
			text += " DESC"
		case k.nullsFirst:
			text += " NULLS FIRST"
		}
		parts[i] = text
	}
	return strings.Join(parts, ", ")
}

func (ex *explainer) setOpNode(so *setOperation) *explainNode {
	inputs := &explainNode{name: "Append", children: []*explainNode{ex.selectNode(so.left), ex.selectNode(so.right)}}
	switch {
	case so.op == pg_query.SetOperation_SETOP_UNION && so.all:
		return inputs
	case so.op == pg_query.SetOperation_SETOP_UNION:
		return wrap("HashAggregate", inputs)
	}
	name := "HashSetOp Intersect"
	if so.op == pg_query.SetOperation_SETOP_EXCEPT {
		name = "HashSetOp Except"
	}
	if so.all {
		name += " All"
	}
	return wrap(name, inputs)
}

func (ex *explainer) recursiveNode(r *recursiveCTE) *explainNode {
	outer := ex.workTable
	ex.workTable = r.cte
	recursive := ex.selectNode(r.recursive)
	ex.workTable = outer
	return &explainNode{name: "Recursive Union", children: []*explainNode{ex.selectNode(r.nonRecursive), recursive}}
}

// relationNode describes a FROM item whose columns start at position
// offset of sc.
func (ex *explainer) relationNode(rel relation, sc *scope, offset int) *explainNode {
	switch r := rel.(type) {
	case *tableRelation:
		return ex.scanNode(r, aliasAt(sc, offset), exprScope{scope: sc, offset: offset}, scanForRead)
	case *joinRelation:
		return ex.joinNode(r, sc, offset)
	case *lateralRelation:
		name := "Nested Loop"
		if r.leftOuter {
			name += " Left Join"
		}
		sub := wrap("Subquery Scan on "+quoteIdent(aliasAt(sc, offset+r.leftWidth)).(string), ex.selectNode(r.sub))
		n := &explainNode{name: name, children: []*explainNode{ex.relationNode(r.left, sc, offset), sub}}
		if !isConstTrue(r.on) {
			n.prop("Join Filter", ex.exprText(r.on, exprScope{scope: sc, offset: offset}, n))
		}
		return n
	case *derivedRelation:
		alias := quoteIdent(aliasAt(sc, offset)).(string)
		if r.cte == nil {
			return wrap("Subquery Scan on "+alias, ex.selectNode(r.plan))
		}
		label := quoteIdent(r.cte.name).(string)
		if alias != label {
			label += " " + alias
		}
		if r.cte == ex.workTable {
			return &explainNode{name: "WorkTable Scan on " + label}
		}
		n := &explainNode{name: "CTE Scan on " + label}
		if !ex.ctesShown[r.cte] {
			ex.ctesShown[r.cte] = true
			n.initPlans = append(n.initPlans, labeledPlan{label: "CTE " + quoteIdent(r.cte.name).(string), node: ex.selectNode(r.cte.plan)})
		}
		return n
	}
	return &explainNode{name: "Result"}
}

// aliasAt returns the table name or alias of the column at position pos
// of sc.
func aliasAt(sc *scope, pos int) string {
	if sc == nil || pos >= len(sc.cols) {
		return "?"
	}
	return sc.cols[pos].table
}

func (ex *explainer) joinNode(j *joinRelation, sc *scope, offset int) *explainNode {
	suffix := " Join"
	switch j.kind {
	case pg_query.JoinType_JOIN_LEFT:
		suffix = " Left Join"
	case pg_query.JoinType_JOIN_RIGHT:
		suffix = " Right Join"
	case pg_query.JoinType_JOIN_FULL:
		suffix = " Full Join"
	}
	left := ex.relationNode(j.left, sc, offset)
	right := ex.relationNode(j.right, sc, offset+j.leftWidth)
	es := exprScope{scope: sc, offset: offset}

	if len(j.leftKeys) == 0 {
		// A nested loop with an inner join is named without a suffix.
		name := "Nested Loop"
		if j.kind != pg_query.JoinType_JOIN_INNER {
			name += suffix
		}
		n := &explainNode{name: name, children: []*explainNode{left, wrap("Materialize", right)}}
		if !isConstTrue(j.on) {
			n.prop("Join Filter", ex.exprText(j.on, es, n))
		}
		return n
	}

	n := &explainNode{name: "Hash" + suffix, children: []*explainNode{left, wrap("Hash", right)}}
	// Each hash condition names the left column first, as PostgreSQL
	// names the outer side first.
	var keys, rest []expr
	for _, c := range flattenAnd(j.on) {
		if l, r, ok := j.equiKey(c); ok {
			keys = append(keys, &compareExpr{op: "=", left: l, right: r})
		} else {
			rest = append(rest, c)
		}
	}
	n.prop("Hash Cond", ex.conjunctionText(keys, es, n))
	if lk := j.lookup; lk != nil {
		index := lk.table.table.PrimaryKeyConstraint()
		if lk.spec.index != nil {
			index = lk.spec.index.desc.Name
		}
		n.prop("Index Lookup", fmt.Sprintf("%s when the outer side has at most %d rows", quoteIdent(index).(string), lookupThreshold))
	}
	if len(rest) > 0 {
		n.prop("Join Filter", ex.conjunctionText(rest, es, n))
	}
	return n
}

// conjunctionText renders conjuncts as PostgreSQL shows a list of quals:
// one as it is, several joined by AND in parentheses.
func (ex *explainer) conjunctionText(conds []expr, sc exprScope, host *explainNode) string {
	if len(conds) == 1 {
		return ex.exprText(conds[0], sc, host)
	}
	return "(" + ex.joinTexts(conds, " AND ", sc, host) + ")"
}

// scanNode describes the scan of a table as newScanIter runs it, with the
// spec tableRelation.open picks.
func (ex *explainer) scanNode(r *tableRelation, alias string, sc exprScope, mode scanMode) *explainNode {
	target := quoteIdent(r.table.Name).(string)
	if alias != "" && alias != "?" && alias != r.table.Name {
		target += " " + quoteIdent(alias).(string)
	}
	spec := r.spec
	ordered := r.readsInOrder(ex.ec)
	if ordered {
		spec = *r.ordered
	}
	if r.virtual == nil && r.codec.perUser && mode == scanForRead && ex.ec.readsAllUsersRows() {
		spec = scanSpec{}
	}

	var n *explainNode
	switch {
	case r.virtual != nil || (spec.index == nil && len(spec.conds) == 0 && !ordered):
		n = &explainNode{name: "Seq Scan on " + target}
	default:
		scan := "Index Scan using "
		if spec.reverse {
			scan = "Index Scan Backward using "
		}
		index := r.table.PrimaryKeyConstraint()
		if spec.index != nil {
			index = spec.index.desc.Name
		}
		n = &explainNode{name: scan + quoteIdent(index).(string) + " on " + target}
	}
	if len(spec.conds) > 0 {
		n.prop("Index Cond", ex.conjunctionText(spec.conds, sc, n))
	}

	if r.filter == nil {
		return n
	}
	var rest []expr
	for _, c := range flattenAnd(r.filter) {
		if !containsExpr(spec.conds, c) {
			rest = append(rest, c)
		}
	}
	if len(rest) > 0 {
		n.prop("Filter", ex.conjunctionText(rest, sc, n))
	}
	return n
}

// isConstTrue reports whether a join condition is missing or the constant
// true, which PostgreSQL does not show.
func isConstTrue(e expr) bool {
	c, ok := e.(*constExpr)
	return e == nil || ok && c.val == true
}

func containsExpr(list []expr, e expr) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// relationCount counts the relations a query reads, tables, subqueries
// and WITH queries, to decide whether EXPLAIN qualifies column names.
func relationCount(sp *selectPlan) int {
	if sp == nil {
		return 0
	}
	n := 0
	switch {
	case sp.setOp != nil:
		n = relationCount(sp.setOp.left) + relationCount(sp.setOp.right)
	case sp.recursive != nil:
		n = relationCount(sp.recursive.nonRecursive) + relationCount(sp.recursive.recursive)
	case sp.from != nil:
		n = fromRelationCount(sp.from)
	}
	exprs := append(append([]expr{sp.filter, sp.having}, sp.targets...), sp.extraSort...)
	if tr, ok := sp.from.(*tableRelation); ok {
		exprs = append(exprs, tr.filter)
	}
	for _, e := range exprs {
		walkExpr(e, func(x expr) {
			switch y := x.(type) {
			case *existsExpr:
				n += 1 + relationCount(y.sq.plan)
			case *scalarSubqueryExpr:
				n += 1 + relationCount(y.sq.plan)
			case *quantifiedExpr:
				n += 1 + relationCount(y.sq.plan)
			}
		})
	}
	return n
}

func fromRelationCount(rel relation) int {
	switch r := rel.(type) {
	case *joinRelation:
		return fromRelationCount(r.left) + fromRelationCount(r.right)
	case *lateralRelation:
		return fromRelationCount(r.left) + 1 + relationCount(r.sub)
	case *derivedRelation:
		if r.cte != nil {
			// The WITH query's scan and the relations inside it, without
			// following a recursive query into itself.
			return 2
		}
		return 1 + relationCount(r.plan)
	}
	return 1
}

// describeWrite analyses an INSERT, UPDATE or DELETE again, as planInsert,
// planUpdate and planDelete do, and returns a function that describes its
// plan. The statement's own plan keeps its parts inside closures, so
// EXPLAIN derives the scan the same way here.
func (a *analyser) describeWrite(q *pg_query.Node) (func(ex *explainer) *explainNode, error) {
	fresh := &analyser{sess: a.sess, txn: a.txn, params: a.params, sql: a.sql, asUser: a.asUser, depth: a.depth}
	switch {
	case q.GetInsertStmt() != nil:
		return fresh.describeInsert(q.GetInsertStmt())
	case q.GetUpdateStmt() != nil:
		up := q.GetUpdateStmt()
		return fresh.describeTargetScan("Update", up.Relation, up.FromClause, up.WhereClause)
	}
	del := q.GetDeleteStmt()
	return fresh.describeTargetScan("Delete", del.Relation, del.UsingClause, del.WhereClause)
}

func (a *analyser) describeInsert(ins *pg_query.InsertStmt) (func(ex *explainer) *explainNode, error) {
	t, _, err := a.resolveTable(ins.Relation)
	if err != nil {
		return nil, err
	}
	var source *selectPlan
	sel := ins.SelectStmt.GetSelectStmt()
	if sel != nil && len(sel.ValuesLists) == 0 {
		if source, err = a.analyseSelect(sel); err != nil {
			return nil, err
		}
	}
	name := "Insert on " + tableLabel(t, ins.Relation)
	return func(ex *explainer) *explainNode {
		var input *explainNode
		switch {
		case source != nil:
			ex.qualify = relationCount(source) > 0
			input = ex.selectNode(source)
		case sel != nil && len(sel.ValuesLists) > 1:
			input = &explainNode{name: `Values Scan on "*VALUES*"`}
		default:
			input = &explainNode{name: "Result"}
		}
		n := wrap(name, input)
		if oc := ins.OnConflictClause; oc != nil {
			resolution := "NOTHING"
			if oc.Action == pg_query.OnConflictAction_ONCONFLICT_UPDATE {
				resolution = "UPDATE"
			}
			n.prop("Conflict Resolution", resolution)
		}
		return n
	}, nil
}

// describeTargetScan describes UPDATE and DELETE: the scan of the target
// table, joined to the FROM or USING items when there are any.
func (a *analyser) describeTargetScan(verb string, rv *pg_query.RangeVar, from []*pg_query.Node, where *pg_query.Node) (func(ex *explainer) *explainNode, error) {
	t, codec, sc, err := a.targetTable(rv)
	if err != nil {
		return nil, err
	}
	if t.Kind == catalog.TableKindSystem {
		// Only the restore of dropped users writes a system table.
		name := verb + " on " + tableLabel(t, rv)
		return func(*explainer) *explainNode {
			return wrap(name, &explainNode{name: "Seq Scan on " + tableLabel(t, rv)})
		}, nil
	}

	targetScope := sc
	others, sc, err := a.withFromItems(sc, from)
	if err != nil {
		return nil, err
	}
	filter, err := a.whereFilter(sc, where)
	if err != nil {
		return nil, err
	}

	target := &tableRelation{table: t, codec: codec}
	if others == nil {
		target.spec = deriveScanSpec(t, codec, filter)
		target.filter = filter
	}
	name := verb + " on " + tableLabel(t, rv)
	alias := aliasAt(targetScope, 0)
	return func(ex *explainer) *explainNode {
		if others == nil {
			return wrap(name, ex.scanNode(target, alias, exprScope{scope: sc}, scanForWrite))
		}
		ex.qualify = true
		scan := ex.scanNode(target, alias, exprScope{scope: sc}, scanForWrite)
		join := &explainNode{name: "Nested Loop", children: []*explainNode{scan, wrap("Materialize", ex.relationNode(others, sc, len(targetScope.cols)))}}
		if filter != nil {
			join.prop("Join Filter", ex.exprText(filter, exprScope{scope: sc}, join))
		}
		return wrap(name, join)
	}, nil
}

// tableLabel is a table's name followed by its alias when it has one.
func tableLabel(t *catalog.TableDescriptor, rv *pg_query.RangeVar) string {
	label := quoteIdent(t.Name).(string)
	if rv.Alias != nil && rv.Alias.Aliasname != t.Name {
		label += " " + quoteIdent(rv.Alias.Aliasname).(string)
	}
	return label
}
