package testdata

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file generates the random queries of the differential fuzz test
// (difffuzz_test.go). Every expression is generated for a requested SQL
// type, so almost all queries are valid and reach the executor instead of
// stopping at analysis.
//
// The generator avoids queries whose result PostgreSQL leaves to the
// implementation, because a difference there is no bug:
//   - Expressions that can fail (a division by a value that may be zero,
//     bigint arithmetic that may overflow) appear only where every engine
//     evaluates them for the same rows: the outermost select list and
//     aggregate arguments. In WHERE, ON and HAVING the planner chooses the
//     order of evaluation, and so whether the error happens.
//   - A failing operation always has an operand that reads a column, as
//     far as PostgreSQL's constant folding can tell (expr.hasColumn): it
//     folds constant subexpressions, CASE with a constant condition and
//     constant columns of derived tables while planning, so 1/0 fails even
//     where no row reaches it.
//   - The operands of BETWEEN never fail: PostgreSQL turns it into an AND
//     of two comparisons, which it may evaluate in any order in WHERE.
//     AND and OR may have failing operands where failing expressions are
//     allowed, because there both engines evaluate them from left to right
//     and stop at the first operand that decides the result.
//   - With HAVING, aggregate arguments never fail, because PostgreSQL may
//     filter rows by HAVING before it aggregates them.
//   - Subqueries never fail and always return one row (scalar subqueries
//     are aggregates), because PostgreSQL runs an uncorrelated subquery only
//     when a row first needs its value. The left operand of IN (SELECT ...)
//     never fails either, because PostgreSQL skips it when the subquery
//     returns no rows.
//   - LIMIT appears only under an ORDER BY over every output column, and
//     then nothing in the statement fails (see generator.limited).
//   - Numeric values that compare equal but print differently (1.5 and
//     1.50) are interchangeable under DISTINCT, GROUP BY, set operations
//     other than UNION ALL, min, max, greatest, least and LIMIT. Such
//     queries are compared with numeric values normalised (see
//     query.exactScale), and such values are rounded before they become
//     text (see expr.scaleFree).
//
// What PostgreSQL's planner folds is part of the result, and pgkeep folds
// the same (executor/fold.go): a strict call with a NULL constant argument
// is NULL without evaluating the others, so a failing argument may sit
// next to a NULL one.

// sqlType is the type of a generated expression.
type sqlType uint8

const (
	typeInt sqlType = iota
	typeBigint
	typeNumeric
	typeText
	typeBool
)

var allTypes = []sqlType{typeInt, typeBigint, typeNumeric, typeText, typeBool}

// name returns the type's name in SQL.
func (t sqlType) name() string {
	return [...]string{"int", "bigint", "numeric", "text", "boolean"}[t]
}

func (t sqlType) isNumber() bool { return t <= typeNumeric }

// typesComparable reports whether values of types a and b can be compared.
func typesComparable(a, b sqlType) bool {
	return a == b || (a.isNumber() && b.isNumber())
}

// fuzzColumn is a column of the fuzz schema.
type fuzzColumn struct {
	name string
	typ  sqlType
}

// fuzzTable is a table of the fuzz schema.
type fuzzTable struct {
	name    string
	columns []fuzzColumn
}

// fuzzSchema is the schema both engines load (difffuzz_test.go fills it).
var fuzzSchema = []fuzzTable{
	{"t1", []fuzzColumn{{"id", typeInt}, {"a", typeInt}, {"b", typeBigint}, {"s", typeText}, {"flag", typeBool}, {"n", typeNumeric}}},
	{"t2", []fuzzColumn{{"id", typeInt}, {"t1_id", typeInt}, {"c", typeInt}, {"s", typeText}, {"n", typeNumeric}, {"flag", typeBool}}},
	{"t3", []fuzzColumn{{"id", typeInt}, {"k", typeText}, {"v", typeBigint}}},
}

// expr is a generated SQL expression.
type expr struct {
	sql string
	typ sqlType
	// hasColumn is true when the expression reads a column, so PostgreSQL
	// cannot fold it to a constant while planning.
	hasColumn bool
	// canFail is true when evaluating the expression may raise an error.
	canFail bool
	// null is true when PostgreSQL folds the expression to a NULL
	// constant while planning: a NULL literal, or a strict call with such
	// an argument.
	null bool
	// base is true for a column of a fuzz table, whose values are known
	// to be small for int and numeric columns, unlike those of a derived
	// table's computed column.
	base bool
	// scaleFree is true for a numeric whose scale an engine may choose
	// among values that compare equal (min(x) over 1.5 and 1.50), or a
	// value computed from one. Its text form is then free too, so it is
	// rounded before it becomes text (see generator.asText).
	scaleFree bool
}

// scope is what an expression outside aggregates can reference.
type scope struct {
	// columns are the qualified columns in reach, outer query columns
	// included.
	columns []expr
	// mayFail allows expressions that can raise an error for some rows.
	mayFail bool
	// noSubqueries keeps subqueries out, for GROUP BY expressions that the
	// select list repeats.
	noSubqueries bool
}

func (s *scope) safe() *scope {
	c := *s
	c.mayFail = false
	return &c
}

// groupScope is what an expression in the select list or HAVING of a
// grouped query can reference: its grouping expressions, aggregates over
// the rows of input, and literals.
type groupScope struct {
	groups  []expr
	input   *scope
	mayFail bool
}

// query is one generated statement.
type query struct {
	sql   string
	types []sqlType
	// ordered is true when the statement orders its rows by every output
	// column, so the order of rows is part of the result.
	ordered bool
	// exactScale is false when numeric values equal in value may be
	// printed with different scales by different correct engines.
	exactScale bool
	// items are the select list of a plainSelect, for derived tables.
	items []expr
	// distinct is true for SELECT DISTINCT.
	distinct bool
}

// generator builds queries from a seeded random source.
type generator struct {
	rng *rand.Rand
	// aliases numbers the table aliases of one statement, so nested
	// subqueries never shadow an outer alias.
	aliases int
	// subqueryDepth bounds the nesting of subqueries.
	subqueryDepth int
	// exactScale collects query.exactScale for the statement being built.
	exactScale bool
	// ordered and limited choose whether the outermost statement gets an
	// ORDER BY and a LIMIT. They are chosen first, because nothing may
	// fail under LIMIT: PostgreSQL may stop reading its input, and so
	// evaluating expressions, once it has the rows it needs (for example
	// with an incremental sort over grouped rows).
	ordered, limited bool
}

func newGenerator(seed, index uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, index))}
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) intn(n int) int { return g.rng.IntN(n) }

func pick[T any](g *generator, items []T) T { return items[g.rng.IntN(len(items))] }

// query generates one statement.
func (g *generator) query() query {
	g.aliases = 0
	g.subqueryDepth = 0
	g.exactScale = true
	g.ordered = g.chance(0.5)
	g.limited = g.ordered && g.chance(0.5)

	var q query
	switch r := g.rng.Float64(); {
	case r < 0.12:
		q = g.setOperation()
	case r < 0.40:
		q = g.groupedSelect(nil, true)
	default:
		q = g.plainSelect(nil, true)
	}
	q.exactScale = g.exactScale
	return q
}

// plainSelect generates a SELECT without grouping. When types is nil it
// chooses the output types. top is true for the outermost statement, which
// may have ORDER BY, LIMIT and, without LIMIT, failing expressions in its
// select list.
func (g *generator) plainSelect(types []sqlType, top bool) query {
	from, sc := g.from()
	if types == nil {
		types = g.outputTypes()
	}

	q := query{types: types, items: make([]expr, len(types))}
	items := make([]string, len(types))
	selectScope := *sc
	selectScope.mayFail = top && !g.limited
	for i, t := range types {
		q.items[i] = g.expr(&selectScope, t, 3)
		items[i] = fmt.Sprintf("%s AS c%d", q.items[i].sql, i+1)
	}

	var b strings.Builder
	b.WriteString("SELECT ")
	if g.chance(0.15) {
		b.WriteString("DISTINCT ")
		g.exactScale = false
		q.distinct = true
	}
	b.WriteString(strings.Join(items, ", "))
	b.WriteString(" FROM ")
	b.WriteString(from)
	if g.chance(0.7) {
		b.WriteString(" WHERE ")
		b.WriteString(g.expr(sc, typeBool, 3).sql)
	}

	if top {
		q.ordered = g.orderAndLimit(&b, len(types))
	}
	q.sql = b.String()
	return q
}

// groupedSelect generates a SELECT with aggregates, with or without GROUP
// BY. When types is nil it chooses the output types, and then the select
// list may also contain grouping expressions.
func (g *generator) groupedSelect(types []sqlType, top bool) query {
	g.exactScale = false
	from, sc := g.from()

	// The grouping expressions: mostly plain columns, sometimes computed.
	var groups []expr
	if g.chance(0.8) {
		groupExprScope := &scope{columns: sc.columns, noSubqueries: true}
		for n := 1 + g.intn(2); len(groups) < n; {
			// A constant in GROUP BY is a position or an error, so
			// computed grouping expressions must read a column.
			var e expr
			if computed := g.expr(groupExprScope, pick(g, allTypes), 1); computed.hasColumn && g.chance(0.3) {
				e = computed
			} else {
				e = pick(g, sc.columns)
			}
			// Which of the equal values of a group represents it is free.
			e.scaleFree = e.scaleFree || e.typ == typeNumeric
			groups = append(groups, e)
		}
	}

	// PostgreSQL moves the parts of HAVING without aggregates into WHERE,
	// and skips the aggregates of HAVING FALSE, so with HAVING it may
	// aggregate fewer rows and aggregate arguments must not fail.
	having := g.chance(0.3)
	input := *sc
	input.mayFail = top && !g.limited && !having
	grouped := &groupScope{groups: groups, input: &input, mayFail: top && !g.limited}
	var items []string
	var outTypes []sqlType
	var groupBy []string
	q := query{}
	for _, e := range groups {
		// A grouping expression in the select list can be named in GROUP
		// BY by its position.
		if types == nil && g.chance(0.6) {
			items = append(items, fmt.Sprintf("%s AS c%d", e.sql, len(items)+1))
			outTypes = append(outTypes, e.typ)
			q.items = append(q.items, e)
			if g.chance(0.5) {
				groupBy = append(groupBy, fmt.Sprint(len(items)))
				continue
			}
		}
		groupBy = append(groupBy, e.sql)
	}
	want := types
	if want == nil {
		want = g.outputTypes()
	}
	for _, t := range want {
		e := g.aggregateExpr(grouped, t, 2)
		items = append(items, fmt.Sprintf("%s AS c%d", e.sql, len(items)+1))
		outTypes = append(outTypes, t)
		q.items = append(q.items, e)
	}

	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(strings.Join(items, ", "))
	b.WriteString(" FROM ")
	b.WriteString(from)
	if g.chance(0.5) {
		b.WriteString(" WHERE ")
		b.WriteString(g.expr(sc, typeBool, 2).sql)
	}
	if len(groupBy) > 0 {
		b.WriteString(" GROUP BY ")
		b.WriteString(strings.Join(groupBy, ", "))
	}
	if having {
		cond := *grouped
		cond.mayFail = false
		b.WriteString(" HAVING ")
		b.WriteString(g.aggregateExpr(&cond, typeBool, 2).sql)
	}

	q.types = outTypes
	if top {
		q.ordered = g.orderAndLimit(&b, len(outTypes))
	}
	q.sql = b.String()
	return q
}

// setOperation generates two SELECTs of the same output types joined by
// UNION, INTERSECT or EXCEPT.
func (g *generator) setOperation() query {
	types := g.outputTypes()
	side := func() string {
		if g.chance(0.3) {
			return g.groupedSelect(types, false).sql
		}
		return g.plainSelect(types, false).sql
	}
	left, right := side(), side()
	op := pick(g, []string{"UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"})
	// Only UNION ALL passes rows through. The others keep one row of each
	// set of equal rows, and INTERSECT ALL and EXCEPT ALL repeat it.
	if op != "UNION ALL" {
		g.exactScale = false
	}

	var b strings.Builder
	fmt.Fprintf(&b, "(%s) %s (%s)", left, op, right)
	q := query{types: types}
	q.ordered = g.orderAndLimit(&b, len(types))
	q.sql = b.String()
	return q
}

// orderAndLimit appends an ORDER BY over every output column when
// g.ordered is set, and then LIMIT and OFFSET when g.limited is set, and
// reports whether it appended the ORDER BY.
func (g *generator) orderAndLimit(b *strings.Builder, columns int) bool {
	if !g.ordered {
		return false
	}
	keys := make([]string, columns)
	for i, c := range g.rng.Perm(columns) {
		key := fmt.Sprint(c + 1)
		if g.chance(0.4) {
			key += " DESC"
		}
		if g.chance(0.3) {
			key += pick(g, []string{" NULLS FIRST", " NULLS LAST"})
		}
		keys[i] = key
	}
	b.WriteString(" ORDER BY ")
	b.WriteString(strings.Join(keys, ", "))
	if g.limited {
		g.exactScale = false
		fmt.Fprintf(b, " LIMIT %d", g.intn(12))
		if g.chance(0.4) {
			fmt.Fprintf(b, " OFFSET %d", g.intn(6))
		}
	}
	return true
}

func (g *generator) outputTypes() []sqlType {
	types := make([]sqlType, 1+g.intn(4))
	for i := range types {
		types[i] = pick(g, allTypes)
	}
	return types
}

// from generates a FROM clause of one to three tables or derived tables,
// joined, and returns it with the scope of its columns.
func (g *generator) from() (string, *scope) {
	sc := &scope{}
	var b strings.Builder
	for i, n := 0, 1+g.intn(3); i < n; i++ {
		item, columns := g.fromItem()
		if i == 0 {
			b.WriteString(item)
			sc.columns = append(sc.columns, columns...)
			continue
		}
		if g.chance(0.1) {
			fmt.Fprintf(&b, " CROSS JOIN %s", item)
			sc.columns = append(sc.columns, columns...)
			continue
		}
		kind := pick(g, []string{"JOIN", "LEFT JOIN"})
		// The ON condition sees the items joined so far and the new one.
		cond := g.joinCondition(sc.columns, columns)
		sc.columns = append(sc.columns, columns...)
		if g.chance(0.3) {
			cond += " AND " + g.expr(sc, typeBool, 1).sql
		}
		fmt.Fprintf(&b, " %s %s ON %s", kind, item, cond)
	}
	return b.String(), sc
}

// fromItem generates a table reference with a fresh alias, or a derived
// table, and returns it with its columns.
func (g *generator) fromItem() (string, []expr) {
	if g.subqueryDepth < 1 && g.chance(0.1) {
		g.subqueryDepth++
		grouped := g.chance(0.3)
		var inner query
		if grouped {
			inner = g.groupedSelect(nil, false)
		} else {
			inner = g.plainSelect(nil, false)
		}
		g.subqueryDepth--
		alias := g.alias()
		columns := make([]expr, len(inner.types))
		for i, item := range inner.items {
			// PostgreSQL pulls simple derived tables up into the outer
			// query, so a constant column stays a constant there. It
			// keeps grouped ones apart.
			columns[i] = expr{
				sql:       fmt.Sprintf("%s.c%d", alias, i+1),
				typ:       item.typ,
				hasColumn: item.hasColumn || grouped,
				null:      item.null && !grouped,
				scaleFree: item.scaleFree || inner.distinct && item.typ == typeNumeric,
			}
		}
		return fmt.Sprintf("(%s) AS %s", inner.sql, alias), columns
	}
	return g.table()
}

// table picks a table of the schema, gives it a fresh alias, and returns
// the reference with its columns.
func (g *generator) table() (string, []expr) {
	alias := g.alias()
	table := pick(g, fuzzSchema)
	columns := make([]expr, len(table.columns))
	for i, c := range table.columns {
		columns[i] = expr{sql: alias + "." + c.name, typ: c.typ, hasColumn: true, base: true}
	}
	return fmt.Sprintf("%s AS %s", table.name, alias), columns
}

func (g *generator) alias() string {
	g.aliases++
	return fmt.Sprintf("x%d", g.aliases)
}

// joinCondition returns an equality between a column of left and a column
// of right of comparable types, or TRUE when it finds none.
func (g *generator) joinCondition(left, right []expr) string {
	for range 8 {
		l, r := pick(g, left), pick(g, right)
		if typesComparable(l.typ, r.typ) {
			return fmt.Sprintf("%s = %s", l.sql, r.sql)
		}
	}
	return "TRUE"
}

// expr generates an expression of type t. depth bounds its nesting.
func (g *generator) expr(sc *scope, t sqlType, depth int) expr {
	if depth <= 0 || g.chance(0.3) {
		return g.leaf(sc, t)
	}
	if g.chance(0.15) {
		if e, ok := g.common(sc, t, depth); ok {
			return e
		}
	}
	switch t {
	case typeInt:
		return g.intExpr(sc, depth)
	case typeBigint:
		return g.bigintExpr(sc, depth)
	case typeNumeric:
		return g.numericExpr(sc, depth)
	case typeText:
		return g.textExpr(sc, depth)
	default:
		return g.boolExpr(sc, depth)
	}
}

// node formats an operator or function call of type t over args, with
// format's %s verbs taking the args' SQL. fails marks an operation that
// can raise an error itself.
//
// A failing argument may sit next to a constant one: PostgreSQL folds a
// strict call with a NULL constant argument to NULL while planning,
// without evaluating the failing one, and pgkeep folds it the same way.
func (g *generator) node(t sqlType, format string, fails bool, args ...expr) expr {
	canFail := fails
	for _, a := range args {
		canFail = canFail || a.canFail
	}
	e := expr{typ: t, canFail: canFail}
	values := make([]any, len(args))
	for i, a := range args {
		values[i] = a.sql
		e.hasColumn = e.hasColumn || a.hasColumn
		e.null = e.null || a.null
		e.scaleFree = e.scaleFree || a.scaleFree
	}
	e.sql = fmt.Sprintf(format, values...)
	return e
}

// aggregateExpr generates an expression of type t in a grouped query,
// built from grouping expressions, aggregates and literals.
func (g *generator) aggregateExpr(gs *groupScope, t sqlType, depth int) expr {
	if g.chance(0.08) {
		if e, ok := g.groupedSubquery(gs, t); ok {
			return e
		}
	}
	if depth <= 0 || g.chance(0.4) {
		var groups []expr
		for _, e := range gs.groups {
			if e.typ == t {
				groups = append(groups, e)
			}
		}
		if len(groups) > 0 && g.chance(0.3) {
			return pick(g, groups)
		}
		if g.chance(0.85) {
			return g.aggregate(gs.input, t)
		}
		return g.literal(t)
	}

	sub := func(t sqlType) expr { return g.aggregateExpr(gs, t, depth-1) }
	switch t {
	case typeInt, typeBigint, typeNumeric:
		l, r := sub(t), sub(g.numberType(t))
		// Sums and maxima of computed values can be large, so integer
		// arithmetic may overflow.
		if !gs.mayFail && t != typeNumeric {
			return g.node(t, "COALESCE(%s, %s)", false, l, r)
		}
		return g.node(t, "(%s "+pick(g, []string{"+", "-", "*"})+" %s)", t != typeNumeric, l, r)
	case typeText:
		return g.node(typeText, "(%s || %s)", false, sub(typeText), g.asText(sub(pick(g, allTypes))))
	default:
		switch g.intn(3) {
		case 0:
			a := pick(g, allTypes)
			return g.node(typeBool, "(%s "+pick(g, comparisonOps)+" %s)", false, sub(a), sub(g.comparableType(a)))
		case 1:
			// PostgreSQL folds x AND FALSE to FALSE and then does not
			// compute the aggregates in x, so nothing below may fail.
			safeInput := *gs.input
			safeInput.mayFail = false
			safe := groupScope{groups: gs.groups, input: &safeInput}
			op := pick(g, []string{"AND", "OR"})
			return g.node(typeBool, "(%s "+op+" %s)", false, g.aggregateExpr(&safe, typeBool, depth-1), g.aggregateExpr(&safe, typeBool, depth-1))
		default:
			return g.node(typeBool, "(%s "+pick(g, []string{"IS NULL", "IS NOT NULL"})+")", false, sub(pick(g, allTypes)))
		}
	}
}

// groupedSubquery generates a subquery in the select list or HAVING of a
// grouped query: an aggregate subquery of type t, or EXISTS for a boolean.
// It may read a grouping column of the query, and compare its own column
// with an aggregate over the query's input rows, which PostgreSQL computes
// as an aggregate of the grouped query because its argument reads only
// that query's columns.
func (g *generator) groupedSubquery(gs *groupScope, t sqlType) (expr, bool) {
	leave, ok := g.enterSubquery(gs.input)
	if !ok {
		return expr{}, false
	}
	defer leave()
	g.exactScale = false

	table, own := g.table()
	var conds []string
	// A subquery may read only grouping expressions that are columns:
	// PostgreSQL matches whole grouping expressions only at their own
	// level.
	var groupColumns []expr
	for _, e := range gs.groups {
		for _, c := range gs.input.columns {
			if e.sql == c.sql {
				groupColumns = append(groupColumns, e)
			}
		}
	}
	if len(groupColumns) > 0 && g.chance(0.6) {
		outer := pick(g, groupColumns)
		for _, c := range own {
			if typesComparable(c.typ, outer.typ) {
				conds = append(conds, fmt.Sprintf("%s = %s", c.sql, outer.sql))
				break
			}
		}
	}
	// An aggregate that reads no column of the query, such as count(*),
	// belongs to the subquery, where WHERE does not allow it.
	if g.chance(0.7) {
		c := pick(g, own)
		for range 5 {
			if agg := g.aggregate(gs.input, g.comparableType(c.typ)); readsAnyOf(agg.sql, gs.input.columns) {
				conds = append(conds, fmt.Sprintf("%s %s %s", c.sql, pick(g, comparisonOps), agg.sql))
				break
			}
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	if t == typeBool {
		not := pick(g, []string{"", "NOT "})
		return expr{sql: fmt.Sprintf("(%sEXISTS (SELECT 1 FROM %s%s))", not, table, where), typ: t, hasColumn: true}, true
	}
	agg := g.aggregate(&scope{columns: own}, t)
	return expr{sql: fmt.Sprintf("(SELECT %s FROM %s%s)", agg.sql, table, where), typ: t, hasColumn: true, scaleFree: agg.scaleFree}, true
}

// readsAnyOf reports whether the SQL text sql names one of columns.
func readsAnyOf(sql string, columns []expr) bool {
	for _, c := range columns {
		for rest := sql; ; {
			i := strings.Index(rest, c.sql)
			if i < 0 {
				break
			}
			// x1.c must not match within x1.c1.
			rest = rest[i+len(c.sql):]
			if rest == "" || !isIdentifierByte(rest[0]) {
				return true
			}
		}
	}
	return false
}

func isIdentifierByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// aggregate generates an aggregate call of result type t over the rows of
// in.
func (g *generator) aggregate(in *scope, t sqlType) expr {
	argScope := *in
	arg := func(t sqlType) expr { return g.expr(&argScope, t, 2) }
	call := func(format string, a expr) expr { return g.node(t, format, false, a) }
	minMax := pick(g, []string{"min(%s)", "max(%s)"})
	// min, max and sum(DISTINCT) of numerics keep one of several equal
	// values, and so its scale.
	scaleFree := func(e expr) expr {
		e.scaleFree = true
		return e
	}

	switch t {
	case typeInt:
		return call(minMax, arg(typeInt))
	case typeBigint:
		switch g.intn(6) {
		case 0:
			return expr{sql: "count(*)", typ: t, hasColumn: true}
		case 5:
			return g.node(t, "count(*) FILTER (WHERE %s)", false, g.expr(argScope.safe(), typeBool, 2))
		case 1:
			return call("count(%s)", arg(pick(g, allTypes)))
		case 2:
			return call("count(DISTINCT %s)", arg(pick(g, allTypes)))
		case 3:
			return call("sum(%s)", arg(typeInt))
		default:
			return call(minMax, arg(typeBigint))
		}
	case typeNumeric:
		switch g.intn(5) {
		case 0:
			return call("sum(%s)", arg(pick(g, []sqlType{typeBigint, typeNumeric})))
		case 1:
			return call("avg(%s)", arg(g.numberType(typeNumeric)))
		case 4:
			return scaleFree(call("avg(DISTINCT %s)", arg(g.numberType(typeNumeric))))
		case 2:
			return scaleFree(call("sum(DISTINCT %s)", arg(typeNumeric)))
		default:
			return scaleFree(call(minMax, arg(typeNumeric)))
		}
	case typeText:
		if g.chance(0.3) {
			a := arg(typeText)
			format := "string_agg(%s, ',' ORDER BY %s)"
			// PostgreSQL rejects string_agg(DISTINCT 'x', ',' ORDER BY
			// 'x') with 42P10, because the argument becomes text and the
			// ORDER BY literal stays unknown, so a literal argument is
			// never DISTINCT.
			if !strings.HasPrefix(a.sql, "'") && g.chance(0.3) {
				format = "string_agg(DISTINCT %s, ',' ORDER BY %s)"
			}
			return g.node(t, format, false, a, a)
		}
		return call(minMax, arg(typeText))
	default:
		return call(pick(g, []string{"bool_and(%s)", "bool_or(%s)", "every(%s)"}), arg(typeBool))
	}
}

// numberType returns a numeric type that may be combined with t by an
// arithmetic operator without changing the result type t.
func (g *generator) numberType(t sqlType) sqlType {
	switch t {
	case typeInt:
		return typeInt
	case typeBigint:
		return pick(g, []sqlType{typeInt, typeBigint})
	default:
		return pick(g, []sqlType{typeInt, typeBigint, typeNumeric})
	}
}

// comparableType returns a type that can be compared with t.
func (g *generator) comparableType(t sqlType) sqlType {
	if t.isNumber() {
		return pick(g, []sqlType{typeInt, typeBigint, typeNumeric})
	}
	return t
}

// leaf generates a column reference or a literal of type t.
func (g *generator) leaf(sc *scope, t sqlType) expr {
	return g.pickLeaf(sc, t, false)
}

// smallLeaf generates a reference to a fuzz table's column or a literal of
// type t, whose int or numeric value is at most 10^8 in magnitude.
func (g *generator) smallLeaf(sc *scope, t sqlType) expr {
	return g.pickLeaf(sc, t, true)
}

func (g *generator) pickLeaf(sc *scope, t sqlType, baseOnly bool) expr {
	if g.chance(0.75) {
		var matches []expr
		for _, c := range sc.columns {
			if c.typ == t && (c.base || !baseOnly) {
				matches = append(matches, c)
			}
		}
		if len(matches) > 0 {
			return pick(g, matches)
		}
	}
	return g.literal(t)
}

// literal generates a constant of type t, sometimes NULL.
func (g *generator) literal(t sqlType) expr {
	if g.chance(0.08) {
		return expr{sql: fmt.Sprintf("CAST(NULL AS %s)", t.name()), typ: t, null: true}
	}
	return g.nonNullLiteral(t)
}

func (g *generator) nonNullLiteral(t sqlType) expr {
	var sql string
	switch t {
	case typeInt:
		sql = pick(g, []string{"0", "1", "2", "3", "5", "7", "10", "42", "100", "(-1)", "(-3)"})
	case typeBigint:
		sql = pick(g, []string{"CAST(0 AS bigint)", "CAST(1 AS bigint)", "CAST(-2 AS bigint)", "3000000000", "CAST(1000000 AS bigint)"})
	case typeNumeric:
		sql = pick(g, []string{"0.5", "1.5", "2.50", "0.001", "(-3.75)", "100.0", "12345.678", "1.5e2"})
	case typeText:
		sql = pick(g, []string{"''", "'a'", "'abc'", "'ABC'", "'a%c'", "'hello world'", "' pad '", "'zeta'", "'x'"})
	default:
		sql = pick(g, []string{"TRUE", "FALSE"})
	}
	return expr{sql: sql, typ: t}
}

// common generates the expressions that exist for every type: CASE,
// COALESCE, NULLIF and scalar subqueries. None of them is strict, so their
// constant arguments stay as generated.
//
// PostgreSQL folds them when their deciding part is constant: CASE WHEN
// TRUE THEN a ELSE b END becomes a, and COALESCE(1, a) becomes 1. So the
// result reads a column for sure only when every part that can be the
// result does, and it may fold to NULL whenever it does not.
func (g *generator) common(sc *scope, t sqlType, depth int) (expr, bool) {
	sub := func() expr { return g.expr(sc, t, depth-1) }
	// combine formats the construct. results are the parts that decide
	// whether it is a constant, and mayBeNull is set when folding can
	// leave NULL without any of them being NULL.
	combine := func(format string, results []expr, mayBeNull bool, args ...expr) expr {
		e := expr{typ: t, hasColumn: true, null: mayBeNull}
		for _, r := range results {
			e.hasColumn = e.hasColumn && r.hasColumn
			e.null = e.null || r.null
		}
		e.null = e.null || !e.hasColumn
		values := make([]any, len(args))
		for i, a := range args {
			values[i] = a.sql
			e.canFail = e.canFail || a.canFail
			e.scaleFree = e.scaleFree || a.scaleFree
		}
		e.sql = fmt.Sprintf(format, values...)
		return e
	}
	switch g.intn(5) {
	case 0:
		cond, a, b := g.expr(sc.safe(), typeBool, depth-1), sub(), sub()
		results := []expr{a, b}
		if cond.hasColumn {
			results = []expr{cond}
		}
		if g.chance(0.3) {
			// A constant condition that is not true folds to NULL.
			return combine("CASE WHEN %s THEN %s END", results[:1], !cond.hasColumn, cond, a), true
		}
		return combine("CASE WHEN %s THEN %s ELSE %s END", results, false, cond, a, b), true
	case 1:
		subject, a, b, other := sub(), sub(), sub(), g.literal(t)
		results := []expr{subject}
		if !subject.hasColumn {
			results = []expr{a, b, other}
		}
		return combine("CASE %s WHEN %s THEN %s WHEN %s THEN %s ELSE %s END", results, false,
			subject, g.literal(t), a, g.literal(t), b, other), true
	case 2:
		a, b := sub(), sub()
		return combine("COALESCE(%s, %s)", []expr{a}, false, a, b), true
	case 3:
		// PostgreSQL folds NULLIF to its first argument when either
		// argument folds to NULL, like a strict call, and to a constant
		// when both are constants.
		a, b := sub(), sub()
		results := []expr{a}
		if !a.hasColumn && !b.null {
			results = []expr{b}
		}
		return combine("NULLIF(%s, %s)", results, !a.hasColumn || a.null, a, b), true
	default:
		return g.scalarSubquery(sc, t)
	}
}

// enterSubquery reports whether a subquery may be nested here, and if so
// counts it until the returned function is called.
func (g *generator) enterSubquery(sc *scope) (leave func(), ok bool) {
	if sc.noSubqueries || g.subqueryDepth >= 2 {
		return nil, false
	}
	g.subqueryDepth++
	return func() { g.subqueryDepth-- }, true
}

// scalarSubquery generates an aggregate subquery, often correlated with a
// column of sc.
func (g *generator) scalarSubquery(sc *scope, t sqlType) (expr, bool) {
	leave, ok := g.enterSubquery(sc)
	if !ok {
		return expr{}, false
	}
	defer leave()
	g.exactScale = false

	table, inner := g.subqueryFrom(sc)
	// An aggregate over outer columns only would belong to the outer
	// query, so the argument reads the subquery's own columns.
	agg := g.aggregate(&scope{columns: inner.columns[:inner.ownColumns]}, t)
	sql := fmt.Sprintf("(SELECT %s FROM %s%s)", agg.sql, table, g.subqueryWhere(sc, inner))
	return expr{sql: sql, typ: t, hasColumn: true, scaleFree: agg.scaleFree}, true
}

// existsSubquery generates [NOT] EXISTS over a table, often correlated.
func (g *generator) existsSubquery(sc *scope) (expr, bool) {
	leave, ok := g.enterSubquery(sc)
	if !ok {
		return expr{}, false
	}
	defer leave()

	table, inner := g.subqueryFrom(sc)
	not := pick(g, []string{"", "NOT "})
	return expr{sql: fmt.Sprintf("(%sEXISTS (SELECT 1 FROM %s%s))", not, table, g.subqueryWhere(sc, inner)), typ: typeBool, hasColumn: true}, true
}

// inSubquery generates e [NOT] IN (SELECT column ...), where NULLs in the
// subquery's column make NOT IN unknown.
func (g *generator) inSubquery(sc *scope, depth int) (expr, bool) {
	leave, ok := g.enterSubquery(sc)
	if !ok {
		return expr{}, false
	}
	defer leave()

	table, inner := g.subqueryFrom(sc)
	column := pick(g, inner.columns[:inner.ownColumns])
	e := g.expr(sc.safe(), g.comparableType(column.typ), depth-1)
	not := pick(g, []string{"", "NOT "})
	return expr{sql: fmt.Sprintf("(%s %sIN (SELECT %s FROM %s%s))", e.sql, not, column.sql, table, g.subqueryWhere(sc, inner)), typ: typeBool, hasColumn: true}, true
}

// subqueryScope is the scope of a subquery's FROM table: its own columns
// first, then the enclosing query's.
type subqueryScope struct {
	scope
	ownColumns int
}

// subqueryFrom picks the table of a subquery. Expressions in the subquery
// never fail.
func (g *generator) subqueryFrom(sc *scope) (string, *subqueryScope) {
	table, own := g.table()
	inner := &subqueryScope{ownColumns: len(own)}
	inner.columns = append(own, sc.columns...)
	return table, inner
}

// subqueryWhere returns a WHERE clause for a subquery, usually an equality
// between one of its own columns and an outer column, or the empty string.
func (g *generator) subqueryWhere(sc *scope, inner *subqueryScope) string {
	var conds []string
	if len(sc.columns) > 0 && g.chance(0.7) {
		outer := pick(g, sc.columns)
		for _, c := range inner.columns[:inner.ownColumns] {
			if typesComparable(c.typ, outer.typ) {
				conds = append(conds, fmt.Sprintf("%s = %s", c.sql, outer.sql))
				break
			}
		}
	}
	if g.chance(0.5) {
		conds = append(conds, g.expr(&inner.scope, typeBool, 1).sql)
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// mayFailOn reports whether an operation on operands may raise an error
// here: it must be allowed in sc, and an operand must read a column.
func mayFailOn(sc *scope, operands ...expr) bool {
	if !sc.mayFail {
		return false
	}
	for _, e := range operands {
		if e.hasColumn {
			return true
		}
	}
	return false
}

// division generates l / r, l % r, mod(l, r) or div(l, r) of type t,
// naming the operation by op: a division by zero fails where that is
// allowed, and elsewhere NULLIF guards the divisor.
func (g *generator) division(sc *scope, op string, l, r expr, t sqlType) expr {
	format, guarded := "(%s "+op+" %s)", "(%s "+op+" NULLIF(%s, 0))"
	switch op {
	case "%":
		format, guarded = "(%s %% %s)", "(%s %% NULLIF(%s, 0))"
	case "mod", "div":
		format, guarded = op+"(%s, %s)", op+"(%s, NULLIF(%s, 0))"
	}
	if mayFailOn(sc, r) && g.chance(0.5) {
		return g.node(t, format, true, l, r)
	}
	e := g.node(t, guarded, false, l, r)
	// NULLIF of a constant 0 folds to NULL, and then the division does.
	e.null = e.null || !r.hasColumn
	return e
}

func (g *generator) intExpr(sc *scope, depth int) expr {
	sub := func(t sqlType) expr { return g.expr(sc, t, depth-1) }
	switch g.intn(13) {
	case 9:
		return g.node(typeInt, pick(g, []string{"position(%s IN %s)", "strpos(%s, %s)"}), false, sub(typeText), sub(typeText))
	case 10:
		return g.node(typeInt, "ascii(%s)", false, sub(typeText))
	case 11:
		return g.node(typeInt, "gcd(%s, %s)", false, sub(typeInt), sub(typeInt))
	case 12:
		return g.node(typeInt, "CAST(CAST(%s AS text) AS int)", false, sub(typeInt))
	case 0, 1:
		l, r := sub(typeInt), sub(typeInt)
		op := pick(g, []string{"+", "-", "*"})
		if op == "*" {
			if mayFailOn(sc, l, r) {
				return g.node(typeInt, "(%s * %s)", true, l, r)
			}
			// A product of products may overflow, so where that must not
			// fail the factors are small.
			l, r = g.smallLeaf(sc, typeInt), g.smallLeaf(sc, typeInt)
		}
		return g.node(typeInt, "(%s "+op+" %s)", false, l, r)
	case 2:
		return g.division(sc, pick(g, []string{"/", "%", "mod"}), sub(typeInt), sub(typeInt), typeInt)
	case 3:
		return g.node(typeInt, "abs(%s)", false, sub(typeInt))
	case 4:
		return g.node(typeInt, "(-(%s))", false, sub(typeInt))
	case 5:
		return g.node(typeInt, pick(g, []string{"length(%s)", "char_length(%s)", "octet_length(%s)"}), false, sub(typeText))
	case 6:
		return g.node(typeInt, "strpos(%s, %s)", false, sub(typeText), sub(typeText))
	case 7:
		return g.node(typeInt, pick(g, []string{"greatest(%s, %s)", "least(%s, %s)"}), false, sub(typeInt), sub(typeInt))
	default:
		// numeric to int rounds half away from zero and fails with 22003
		// outside the int range, which only computed values reach.
		if e := sub(typeNumeric); mayFailOn(sc, e) {
			return g.node(typeInt, "CAST(%s AS int)", true, e)
		}
		return g.node(typeInt, "CAST(%s AS int)", false, g.smallLeaf(sc, typeNumeric))
	}
}

func (g *generator) bigintExpr(sc *scope, depth int) expr {
	sub := func(t sqlType) expr { return g.expr(sc, t, depth-1) }
	switch g.intn(4) {
	case 0:
		// bigint columns contain values near the limits, so arithmetic on
		// them may overflow.
		l, r := sub(typeBigint), sub(g.numberType(typeBigint))
		if !mayFailOn(sc, l, r) {
			return g.node(typeBigint, "(-(%s))", false, l)
		}
		if g.chance(0.3) {
			return g.division(sc, pick(g, []string{"/", "%"}), l, r, typeBigint)
		}
		return g.node(typeBigint, "(%s "+pick(g, []string{"+", "-", "*"})+" %s)", true, l, r)
	case 1:
		if g.chance(0.5) {
			return g.node(typeBigint, "CAST(%s AS bigint)", false, sub(typeInt))
		}
		// numeric to bigint rounds and fails with 22003 beyond the bigint
		// range, which only computed values reach.
		if e := sub(typeNumeric); mayFailOn(sc, e) {
			return g.node(typeBigint, "CAST(%s AS bigint)", true, e)
		}
		return g.node(typeBigint, "CAST(%s AS bigint)", false, g.smallLeaf(sc, typeNumeric))
	case 2:
		return g.node(typeBigint, "abs(%s)", false, sub(typeBigint))
	default:
		return g.node(typeBigint, pick(g, []string{"greatest(%s, %s)", "least(%s, %s)"}), false, sub(typeBigint), sub(g.numberType(typeBigint)))
	}
}

func (g *generator) numericExpr(sc *scope, depth int) expr {
	sub := func(t sqlType) expr { return g.expr(sc, t, depth-1) }
	switch g.intn(7) {
	case 0, 1:
		// At least one operand is numeric, so the result is numeric,
		// which does not overflow at these sizes.
		l, r := sub(typeNumeric), sub(g.numberType(typeNumeric))
		if g.chance(0.5) {
			l, r = r, l
		}
		return g.node(typeNumeric, "(%s "+pick(g, []string{"+", "-", "*"})+" %s)", false, l, r)
	case 2:
		op := pick(g, []string{"/", "/", "%", "mod", "div"})
		return g.division(sc, op, sub(typeNumeric), sub(g.numberType(typeNumeric)), typeNumeric)
	case 3:
		if g.chance(0.5) {
			format := fmt.Sprintf("%s(%%s, %d)", pick(g, []string{"round", "trunc"}), g.intn(4)-1)
			return g.node(typeNumeric, format, false, sub(typeNumeric))
		}
		return g.node(typeNumeric, pick(g, []string{"round(%s)", "trunc(%s)", "abs(%s)", "ceil(%s)", "floor(%s)", "sign(%s)"}), false, sub(typeNumeric))
	case 4:
		return g.node(typeNumeric, "CAST(%s AS numeric)", false, sub(pick(g, []sqlType{typeInt, typeBigint})))
	case 5:
		// The typmod rounds to two places and fails with 22003 from 10^8
		// on, which only computed values reach.
		if e := sub(typeNumeric); mayFailOn(sc, e) {
			return g.node(typeNumeric, "CAST(%s AS numeric(10,2))", true, e)
		}
		return g.node(typeNumeric, "CAST(%s AS numeric(10,2))", false, g.smallLeaf(sc, typeNumeric))
	default:
		// Of equal arguments, either may be the result.
		e := g.node(typeNumeric, pick(g, []string{"greatest(%s, %s)", "least(%s, %s)"}), false, sub(typeNumeric), sub(g.numberType(typeNumeric)))
		e.scaleFree = true
		return e
	}
}

func (g *generator) textExpr(sc *scope, depth int) expr {
	sub := func(t sqlType) expr { return g.expr(sc, t, depth-1) }
	text := func(format string, args ...expr) expr { return g.node(typeText, format, false, args...) }
	switch g.intn(15) {
	case 11:
		return text("btrim(%s, %s)", sub(typeText), g.literal(typeText))
	case 12:
		return text("translate(%s, %s, %s)", sub(typeText), g.literal(typeText), g.literal(typeText))
	case 13:
		return text("md5(%s)", sub(typeText))
	case 14:
		return text(fmt.Sprintf("substring(%%s FROM %d FOR %d)", g.intn(5)-1, g.intn(5)), sub(typeText))
	case 0, 1:
		// || accepts one operand of a type other than text.
		return text("(%s || %s)", sub(typeText), g.asText(sub(pick(g, allTypes))))
	case 2:
		return text(pick(g, []string{"upper(%s)", "lower(%s)", "trim(%s)", "ltrim(%s)", "rtrim(%s)", "reverse(%s)", "initcap(%s)"}), sub(typeText))
	case 3:
		from := g.intn(5) - 1
		if g.chance(0.5) {
			return text(fmt.Sprintf("substr(%%s, %d)", from), sub(typeText))
		}
		return text(fmt.Sprintf("substr(%%s, %d, %d)", from, g.intn(5)), sub(typeText))
	case 4:
		return text(fmt.Sprintf("%s(%%s, %d)", pick(g, []string{"left", "right"}), g.intn(7)-2), sub(typeText))
	case 5:
		return text(fmt.Sprintf("%s(%%s, %d, '*')", pick(g, []string{"lpad", "rpad"}), g.intn(8)), sub(typeText))
	case 6:
		return text("replace(%s, %s, %s)", sub(typeText), g.literal(typeText), g.literal(typeText))
	case 7:
		return text("concat(%s, %s, %s)", g.asText(sub(pick(g, allTypes))), g.asText(sub(pick(g, allTypes))), sub(typeText))
	case 8:
		return text("CAST(%s AS text)", g.asText(sub(pick(g, []sqlType{typeInt, typeBigint, typeNumeric, typeBool}))))
	case 9:
		return text(fmt.Sprintf("repeat(%%s, %d)", g.intn(4)), sub(typeText))
	default:
		return text(fmt.Sprintf("split_part(%%s, ' ', %d)", 1+g.intn(2)), sub(typeText))
	}
}

// asText prepares e to be converted to text: a numeric whose scale is
// free is rounded to two places first, so its text is fixed.
func (g *generator) asText(e expr) expr {
	if e.typ != typeNumeric || !e.scaleFree {
		return e
	}
	rounded := g.node(typeNumeric, "round(%s, 2)", false, e)
	rounded.scaleFree = false
	return rounded
}

var comparisonOps = []string{"=", "<>", "<", "<=", ">", ">="}

var likePatterns = []string{"'a%'", "'%c'", "'%b%'", "'_b_'", "'A%'", "'%'", "''", `'a\%c'`, "'h%d'", "'%o w%'"}

// escapePatterns are LIKE patterns for ESCAPE '#'.
var escapePatterns = []string{"'a#%c'", "'a#_c'", "'%#%%'", "'#a%'", "'_#_%'"}

// regexPatterns use only the regular expression syntax that PostgreSQL's
// and Go's engines read alike.
var regexPatterns = []string{"'^a'", "'c$'", "'[a-c]+'", "'l+o'", "'^$'", "'a.c'", "'(ab|zeta)'", "'^[^a-z]'", "'o w'", "'ü'"}

func (g *generator) boolExpr(sc *scope, depth int) expr {
	sub := func(t sqlType) expr { return g.expr(sc, t, depth-1) }
	boolean := func(format string, args ...expr) expr { return g.node(typeBool, format, false, args...) }
	switch g.intn(13) {
	case 0, 1:
		t := pick(g, allTypes)
		return boolean("(%s "+pick(g, comparisonOps)+" %s)", sub(t), sub(g.comparableType(t)))
	case 2:
		op := pick(g, []string{"AND", "OR"})
		l, r := g.expr(sc, typeBool, depth-1), g.expr(sc, typeBool, depth-1)
		e := boolean("(%s "+op+" %s)", l, r)
		// PostgreSQL folds TRUE OR x to TRUE and FALSE AND x to FALSE.
		e.hasColumn = l.hasColumn && r.hasColumn
		e.null = e.null || !e.hasColumn
		return e
	case 3:
		return boolean("(NOT %s)", sub(typeBool))
	case 4:
		return boolean("(%s "+pick(g, []string{"IS NULL", "IS NOT NULL"})+")", sub(pick(g, allTypes)))
	case 5:
		t := pick(g, allTypes)
		return boolean("(%s "+pick(g, []string{"IS DISTINCT FROM", "IS NOT DISTINCT FROM"})+" %s)", sub(t), sub(g.comparableType(t)))
	case 6:
		t := pick(g, allTypes)
		args := []expr{sub(t), g.literal(t)}
		for n := g.intn(3); n > 0; n-- {
			args = append(args, g.literal(g.comparableType(t)))
		}
		list := strings.Repeat(", %s", len(args)-2)
		return boolean("(%s "+pick(g, []string{"IN", "NOT IN"})+" (%s"+list+"))", args...)
	case 7:
		// PostgreSQL turns BETWEEN into an AND of two comparisons, so its
		// operands never fail either.
		safe := sc.safe()
		t := pick(g, []sqlType{typeInt, typeBigint, typeNumeric, typeText})
		between := pick(g, []string{"BETWEEN", "NOT BETWEEN", "BETWEEN SYMMETRIC"})
		return boolean("(%s "+between+" %s AND %s)", g.expr(safe, t, depth-1), g.expr(safe, g.comparableType(t), depth-1), g.expr(safe, g.comparableType(t), depth-1))
	case 8:
		op := pick(g, []string{"LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"})
		switch g.intn(3) {
		case 0:
			pattern := expr{sql: pick(g, escapePatterns), typ: typeText}
			return boolean("(%s "+op+" %s ESCAPE '#')", sub(typeText), pattern)
		case 1:
			op = pick(g, []string{"~", "!~", "~*", "!~*"})
			pattern := expr{sql: pick(g, regexPatterns), typ: typeText}
			return boolean("(%s "+op+" %s)", sub(typeText), pattern)
		}
		pattern := expr{sql: pick(g, likePatterns), typ: typeText}
		return boolean("(%s "+op+" %s)", sub(typeText), pattern)
	case 9:
		return boolean("(%s "+pick(g, []string{"IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", "IS UNKNOWN"})+")", sub(typeBool))
	case 10:
		if e, ok := g.existsSubquery(sc); ok {
			return e
		}
		return sub(typeBool)
	case 11:
		if e, ok := g.inSubquery(sc, depth); ok {
			return e
		}
		return sub(typeBool)
	default:
		return boolean("starts_with(%s, %s)", sub(typeText), g.literal(typeText))
	}
}
