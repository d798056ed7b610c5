package executor

import (
	"errors"
	"math"
	"strings"

	"github.com/cockroachdb/apd/v3"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// expr is a compiled, typed scalar expression.
type expr interface {
	eval(ec *evalContext, row []any) (any, error)
	resultType() catalog.ColumnType
}

func plainType(oid uint32) catalog.ColumnType { return catalog.ColumnType{OID: oid, TypMod: -1} }

// scopeColumn is one column visible to expressions, at index i of the
// input row.
type scopeColumn struct {
	table  string
	name   string
	typ    catalog.ColumnType
	hidden bool
	// tableOID and attNum fill RowDescription for plain column references.
	tableOID uint32
	attNum   int16
	// desc is the table of a base table's column, whose primary key makes
	// its other columns grouped when GROUP BY lists the key's columns.
	desc *catalog.TableDescriptor
	// usingDuplicate marks a joined table's own copy of a USING column,
	// which only a qualified name reaches.
	usingDuplicate bool
	// usingMerged marks the merged column of a USING join, which an
	// unqualified name and SELECT * reach, ahead of the other columns.
	usingMerged bool
	// fields are the fields of a record column (see record.go).
	fields []scopeColumn
	// aliasNamesColumn marks the only column of a function in FROM, which
	// an unqualified reference to the function's alias also reads, as in
	// SELECT e FROM jsonb_array_elements(d) e.
	aliasNamesColumn bool
}

// scope lists the columns visible to expressions of one query level.
// parent is the scope of the enclosing query, which a correlated subquery
// reads.
type scope struct {
	cols   []scopeColumn
	parent *scope
	// correlated is set when an expression of this level read a column of
	// an enclosing level.
	correlated bool
	// refs counts the column references resolved at this level (see
	// resolve), from this level or from subqueries, so that an aggregate
	// call can find the level that its arguments read (see
	// builder.aggregateOwner).
	refs int
}

// resolve finds a column of this level by optional table qualifier and
// name.
func (s *scope) resolve(table, name string, location int32) (int, error) {
	found := -1
	for i, c := range s.cols {
		if c.name != name || (table != "" && c.table != table) || (table == "" && c.usingDuplicate) {
			continue
		}
		if found >= 0 {
			return 0, pgerror.Newf(pgcode.AmbiguousColumn, "column reference %q is ambiguous", name).WithPosition(location + 1)
		}
		found = i
	}
	if found < 0 && table == "" {
		for i, c := range s.cols {
			if c.aliasNamesColumn && c.table == name {
				return i, nil
			}
		}
	}
	if found < 0 {
		if table != "" {
			return 0, pgerror.Newf(pgcode.UndefinedColumn, "column %s.%s does not exist", table, name).WithPosition(location + 1)
		}
		return 0, pgerror.Newf(pgcode.UndefinedColumn, "column %q does not exist", name).WithPosition(location + 1)
	}
	s.refs++
	return found, nil
}

// builder compiles grammar nodes into exprs.
type builder struct {
	sess *Session
	// an analyses subqueries; it is nil where subqueries are not allowed.
	an     *analyser
	scope  *scope
	params *paramTypes
	// aggs collects aggregate calls when aggregates are allowed here; nil
	// means an aggregate is an error in this clause.
	aggs *aggCollector
	// srfs collects set-returning function calls in a SELECT list; nil
	// means such a call is an error in this clause.
	srfs *srfCollector
	// clause names the clause for error messages, e.g. "WHERE".
	clause string
	// subqueryRefs, when not nil, collects the columns of this level that
	// subqueries inside this builder's expressions read outside
	// aggregates, which a grouped query checks against GROUP BY.
	subqueryRefs *[]subqueryColumnRef
}

// subqueryColumnRef is a column of an enclosing query read by a subquery.
type subqueryColumnRef struct {
	idx      int
	location int32
}

// paramTypes holds the types of $1..$n, growing as they are referenced.
type paramTypes struct {
	oids []uint32
}

func (p *paramTypes) get(n int) uint32 {
	if n <= len(p.oids) {
		return p.oids[n-1]
	}
	return oidUnknown
}

func (p *paramTypes) set(n int, oid uint32) {
	for len(p.oids) < n {
		p.oids = append(p.oids, oidUnknown)
	}
	if p.oids[n-1] == oidUnknown {
		p.oids[n-1] = oid
	}
}

// build compiles n and folds it to a constant where PostgreSQL's planner
// would (see foldConstants).
func (b *builder) build(n *pg_query.Node) (expr, error) {
	e, err := b.buildNode(n)
	if err != nil {
		return nil, err
	}
	return b.foldConstants(e), nil
}

func (b *builder) buildNode(n *pg_query.Node) (expr, error) {
	switch {
	case n.GetAConst() != nil:
		return buildConst(n.GetAConst())
	case n.GetColumnRef() != nil:
		return b.buildColumnRef(n.GetColumnRef())
	case n.GetParamRef() != nil:
		p := n.GetParamRef()
		if p.Number < 1 || p.Number > 65535 {
			return nil, pgerror.Newf(pgcode.UndefinedParameter, "there is no parameter $%d", p.Number).WithPosition(p.Location + 1)
		}
		b.params.set(int(p.Number), oidUnknown)
		return &paramExpr{n: int(p.Number), params: b.params}, nil
	case n.GetAExpr() != nil:
		return b.buildAExpr(n.GetAExpr())
	case n.GetBoolExpr() != nil:
		return b.buildBoolExpr(n.GetBoolExpr())
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		arg, err := b.build(nt.Arg)
		if err != nil {
			return nil, err
		}
		return &isNullExpr{arg: arg, not: nt.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL}, nil
	case n.GetBooleanTest() != nil:
		return b.buildBooleanTest(n.GetBooleanTest())
	case n.GetTypeCast() != nil:
		tc := n.GetTypeCast()
		typ, _, err := resolveTypeName(tc.TypeName)
		if err != nil {
			return nil, err
		}
		var arg expr
		if ae := tc.Arg.GetAArrayExpr(); ae != nil {
			arg, err = b.buildArrayExpr(ae, typ)
		} else {
			arg, err = b.build(tc.Arg)
		}
		if err != nil {
			return nil, err
		}
		cast, err := b.castTo(arg, typ, false)
		if err != nil {
			return nil, castErrorPosition(err, tc)
		}
		return cast, nil
	case n.GetFuncCall() != nil:
		return b.buildFuncCall(n.GetFuncCall())
	case n.GetSqlvalueFunction() != nil:
		return buildSQLValueFunction(n.GetSqlvalueFunction())
	case n.GetCaseExpr() != nil:
		return b.buildCase(n.GetCaseExpr())
	case n.GetCoalesceExpr() != nil:
		return b.buildCoalesce(n.GetCoalesceExpr())
	case n.GetMinMaxExpr() != nil:
		return b.buildMinMax(n.GetMinMaxExpr())
	case n.GetSubLink() != nil:
		return b.buildSubLink(n.GetSubLink())
	case n.GetCollateClause() != nil:
		return b.buildCollate(n.GetCollateClause())
	case n.GetAIndirection() != nil:
		return b.buildIndirection(n.GetAIndirection())
	case n.GetAArrayExpr() != nil:
		return b.buildArrayExpr(n.GetAArrayExpr(), catalog.ColumnType{})
	case n.GetSetToDefault() != nil:
		return nil, pgerror.Newf(pgcode.SyntaxError, "DEFAULT is not allowed in this context")
	}
	if r := n.GetRowExpr(); r != nil {
		return b.buildRowConstructor(r)
	}
	if name, ok := expressionSQLNames[nodeName(n)]; ok {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "%s are not supported", name)
	}
	return nil, pgerror.NotSupported("expression " + nodeName(n))
}

// expressionSQLNames names the expressions whose parse node names do not
// read as their SQL.
var expressionSQLNames = map[string]string{
	"GroupingSet":     "GROUPING SETS, ROLLUP and CUBE",
	"XmlExpr":         "XML functions",
	"XmlSerialize":    "XML functions",
	"CollateClause":   "COLLATE clauses",
	"RangeFunction":   "functions in this position",
	"MultiAssignRef":  "multiple-column assignments",
	"CurrentOfExpr":   "WHERE CURRENT OF cursor conditions",
	"JsonIsPredicate": "IS JSON predicates",
}

// nodeName names the node kind for messages.
func nodeName(n *pg_query.Node) string {
	if n == nil || n.Node == nil {
		return "<nil>"
	}
	name := strings.TrimPrefix(strings.TrimPrefix(typeString(n.Node), "*pg_query.Node_"), "*pg_query.")
	return name
}

func buildConst(c *pg_query.A_Const) (expr, error) {
	if c.Isnull {
		return &constExpr{typ: plainType(oidUnknown)}, nil
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		return &constExpr{val: int64(v.Ival.Ival), typ: plainType(oidInt4)}, nil
	case *pg_query.A_Const_Fval:
		s := v.Fval.Fval
		d, err := parseNumeric(s)
		if err != nil {
			return nil, err
		}
		// Integer literals too large for integer arrive as Fval. Like
		// PostgreSQL's make_const, one that fits after negation (only
		// -2147483648) is an integer, a larger one a bigint.
		if !strings.ContainsAny(s, ".eE") {
			if i, err := d.Int64(); err == nil {
				if i >= math.MinInt32 && i <= math.MaxInt32 {
					return &constExpr{val: i, typ: plainType(oidInt4)}, nil
				}
				return &constExpr{val: i, typ: plainType(oidInt8)}, nil
			}
		}
		return &constExpr{val: d, typ: plainType(oidNumeric)}, nil
	case *pg_query.A_Const_Boolval:
		return &constExpr{val: v.Boolval.Boolval, typ: plainType(oidBool)}, nil
	case *pg_query.A_Const_Sval:
		return &constExpr{val: v.Sval.Sval, typ: plainType(oidUnknown)}, nil
	case *pg_query.A_Const_Bsval:
		return nil, pgerror.NotSupported("bit string literals")
	}
	return nil, pgerror.Internal("unknown constant kind")
}

func (b *builder) buildColumnRef(cr *pg_query.ColumnRef) (expr, error) {
	var parts []string
	for _, f := range cr.Fields {
		if f.GetAStar() != nil {
			return nil, pgerror.Newf(pgcode.SyntaxError, "* is not allowed here").WithPosition(cr.Location + 1)
		}
		parts = append(parts, f.GetString_().GetSval())
	}
	if b.scope == nil {
		return nil, pgerror.Newf(pgcode.UndefinedColumn, "column %q does not exist", parts[len(parts)-1]).WithPosition(cr.Location + 1)
	}
	var table, name string

	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		table, name = parts[0], parts[1]
	case 3:
		table, name = parts[1], parts[2]
	default:
		return nil, pgerror.Newf(pgcode.SyntaxError, "improper qualified name (too many dotted names): %s", strings.Join(parts, ".")).WithPosition(cr.Location + 1)
	}
	idx, err := b.scope.resolve(table, name, cr.Location)
	if err == nil {
		return &columnExpr{idx: idx, typ: b.scope.cols[idx].typ, name: name, fields: b.scope.cols[idx].fields}, nil
	}
	// A name the query's own FROM lacks may belong to an enclosing query.
	depth := 0
	for outer := b.scope.parent; outer != nil; outer = outer.parent {
		depth++
		oidx, oerr := outer.resolve(table, name, cr.Location)
		if oerr != nil {
			continue
		}
		b.recordOuterRead(outer, oidx)
		if ob := b.enclosingBuilder(outer); ob != nil && ob.subqueryRefs != nil {
			*ob.subqueryRefs = append(*ob.subqueryRefs, subqueryColumnRef{idx: oidx, location: cr.Location})
		}
		// This level and every level between it and the one read depend
		// on the enclosing rows.
		for s := b.scope; s != outer; s = s.parent {
			s.correlated = true
		}
		return &outerColumnExpr{depth: depth, idx: oidx, typ: outer.cols[oidx].typ, fields: outer.cols[oidx].fields}, nil
	}
	if table == "" && pgerror.HasCode(err, pgcode.UndefinedColumn) {
		if w, ok := b.buildWholeRow(name); ok {
			return w, nil
		}
	}
	if table != "" && pgerror.HasCode(err, pgcode.UndefinedColumn) && !b.scope.hasTable(table) {
		return nil, pgerror.Newf(pgcode.UndefinedTable, "missing FROM-clause entry for table %q", table).WithPosition(cr.Location + 1)
	}
	return nil, err
}

// scopeColumnRef is the column at idx of the scope level.
type scopeColumnRef struct {
	level *scope
	idx   int
}

// recordOuterRead adds the column at idx of the enclosing scope level to
// the reads of every subquery between b's level and that level.
func (b *builder) recordOuterRead(level *scope, idx int) {
	for an := b.an; an != nil; an = an.parent {
		if an.outerReads == nil {
			continue
		}
		reaches := false
		for s := an.outer; s != nil && !reaches; s = s.parent {
			reaches = s == level
		}
		if !reaches {
			return
		}
		*an.outerReads = append(*an.outerReads, scopeColumnRef{level: level, idx: idx})
	}
}

// recordOuterAggregate adds an aggregate of the enclosing scope level to
// the outer aggregates of every subquery between b's level and that
// level.
func (b *builder) recordOuterAggregate(level *scope, spec *aggSpec) {
	for an := b.an; an != nil; an = an.parent {
		if an.outerAggs == nil {
			continue
		}
		reaches := false
		for s := an.outer; s != nil && !reaches; s = s.parent {
			reaches = s == level
		}
		if !reaches {
			return
		}
		*an.outerAggs = append(*an.outerAggs, spec)
	}
}

// enclosingBuilder returns the builder of the enclosing query whose
// expression contains b's query and whose scope is level, or nil when
// level is not reached through subqueries in expressions.
func (b *builder) enclosingBuilder(level *scope) *builder {
	if b.an == nil {
		return nil
	}
	for ob := b.an.outerBuilder; ob != nil; ob = ob.an.outerBuilder {
		if ob.scope == level {
			return ob
		}
		if ob.an == nil {
			return nil
		}
	}
	return nil
}

// hasTable reports whether this level or an enclosing one has a FROM item
// named table.
func (s *scope) hasTable(table string) bool {
	for ; s != nil; s = s.parent {
		for _, c := range s.cols {
			if c.table == table {
				return true
			}
		}
	}
	return false
}

// castTo converts e to typ. A constant is converted right away, so a bad
// literal fails when the statement is prepared, as in PostgreSQL.
// castErrorPosition points the error of an explicit cast at its cause, as
// PostgreSQL does: invalid input of a string literal at the literal, and a
// cast between types that have none at the cast. Other errors keep their
// position, or have none.
func castErrorPosition(err error, tc *pg_query.TypeCast) error {
	var e *pgerror.Error
	if !errors.As(err, &e) || e.Position != 0 {
		return err
	}
	if e.Code == pgcode.CannotCoerce {
		return e.WithPosition(tc.Location + 1)
	}
	if c := tc.Arg.GetAConst(); c != nil && c.GetSval() != nil {
		return e.WithPosition(c.Location + 1)
	}
	return err
}

func (b *builder) castTo(e expr, typ catalog.ColumnType, assignment bool) (expr, error) {
	if p, ok := e.(*paramExpr); ok && p.params.get(p.n) == oidUnknown {
		p.params.set(p.n, typ.OID)
	}
	from := e.resultType()
	if from.OID == typ.OID && (typ.TypMod < 0 || from.TypMod == typ.TypMod) {
		return e, nil
	}
	if c, ok, err := b.castCatalogType(e, typ); ok || err != nil {
		return c, err
	}
	if c, ok := e.(*constExpr); ok {
		if text, ok := c.val.(string); ok && (from.OID == oidUnknown || isStringType(from.OID)) && (isTimeType(typ.OID) || typ.OID == oidTime) && hasRelativeTimeWord(text) {
			// Reject invalid input at planning, but read the value at each
			// execution.
			if _, err := castDatum(c.val, from.OID, typ, assignment, b.sess.location()); err != nil {
				return nil, err
			}
			return &relativeTimeExpr{text: text, typ: typ}, nil
		}
		v, err := castDatum(c.val, from.OID, typ, assignment, b.sess.location())
		if err != nil {
			return nil, err
		}
		// A folded constant keeps the expression it came from, for the
		// grouping check.
		var folded expr
		if c.folded != nil {
			folded = c
		}
		return &constExpr{val: v, typ: typ, folded: folded}, nil
	}
	if !castAllowed(from.OID, typ.OID) {
		return nil, pgerror.Newf(pgcode.CannotCoerce, "cannot cast type %s to %s", typeName(from.OID), formatType(typ))
	}
	return &castExpr{arg: e, typ: typ, assignment: assignment}, nil
}

func castAllowed(from, to uint32) bool {
	if from == to || from == oidUnknown || isStringType(from) || isStringType(to) || timeCastAllowed(from, to) {
		return true
	}
	if isArrayType(from) && isArrayType(to) {
		return castAllowed(arrayElem(from), arrayElem(to))
	}
	cf, ct := typeCategory(from), typeCategory(to)
	switch {
	case cf == 'N' && ct == 'N', cf == 'D' && ct == 'D':
		return true
	case from == oidBool && to == oidInt4, from == oidInt4 && to == oidBool:
		return true
	case (from == oidJSON || from == oidJSONB) && (to == oidJSON || to == oidJSONB):
		return true
	}
	return false
}

// coerceForAssignment converts e for storing into a column of typ,
// failing with 42804 when PostgreSQL has no assignment cast.
func (b *builder) coerceForAssignment(e expr, typ catalog.ColumnType, column string) (expr, error) {
	from := e.resultType().OID
	if from != oidUnknown && from != typ.OID && !assignmentCastAllowed(from, typ.OID) {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "column %q is of type %s but expression is of type %s", column, formatType(typ), typeName(from)).
			WithHint("You will need to rewrite or cast the expression.")
	}
	return b.castTo(e, typ, true)
}

func assignmentCastAllowed(from, to uint32) bool {
	if isArrayType(from) && isArrayType(to) {
		return arrayElem(from) == arrayElem(to) || assignmentCastAllowed(arrayElem(from), arrayElem(to))
	}
	cf, ct := typeCategory(from), typeCategory(to)
	switch {
	case cf == 'N' && ct == 'N', cf == 'S' && ct == 'S', cf == 'D' && ct == 'D', timeCastAllowed(from, to):
		return true
	case isStringType(to):
		return true
	case (from == oidJSON || from == oidJSONB) && (to == oidJSON || to == oidJSONB):
		return true
	}
	return false
}

func (b *builder) buildBoolExpr(be *pg_query.BoolExpr) (expr, error) {
	args := make([]expr, 0, len(be.Args))
	for _, a := range be.Args {
		e, err := b.build(a)
		if err != nil {
			return nil, err
		}
		e, err = b.requireBool(e, boolOpName(be.Boolop))
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	switch be.Boolop {
	case pg_query.BoolExprType_AND_EXPR:
		return &andExpr{args: args}, nil
	case pg_query.BoolExprType_OR_EXPR:
		return &orExpr{args: args}, nil
	}
	return &notExpr{arg: args[0]}, nil
}

func boolOpName(op pg_query.BoolExprType) string {
	switch op {
	case pg_query.BoolExprType_AND_EXPR:
		return "AND"
	case pg_query.BoolExprType_OR_EXPR:
		return "OR"
	}
	return "NOT"
}

// requireBool checks that e is boolean, converting an unknown literal.
func (b *builder) requireBool(e expr, context string) (expr, error) {
	t := e.resultType().OID
	if t == oidBool {
		return e, nil
	}
	if t == oidUnknown {
		return b.castTo(e, plainType(oidBool), false)
	}
	return nil, pgerror.Newf(pgcode.DatatypeMismatch, "argument of %s must be type boolean, not type %s", context, typeName(t))
}

func (b *builder) buildBooleanTest(bt *pg_query.BooleanTest) (expr, error) {
	arg, err := b.build(bt.Arg)
	if err != nil {
		return nil, err
	}
	arg, err = b.requireBool(arg, "IS TRUE")
	if err != nil {
		return nil, err
	}
	return &boolTestExpr{arg: arg, kind: bt.Booltesttype}, nil
}

func (b *builder) buildAExpr(ae *pg_query.A_Expr) (expr, error) {
	op := ""
	if len(ae.Name) > 0 {
		op = ae.Name[len(ae.Name)-1].GetString_().GetSval()
	}
	switch ae.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if ae.Lexpr == nil {
			return b.buildUnary(op, ae)
		}
		if l, r := rowFields(ae.Lexpr), rowFields(ae.Rexpr); l != nil && r != nil {
			return b.buildRowCompare(op, l, r, ae.Location)
		}
		return b.buildBinary(op, ae.Lexpr, ae.Rexpr, ae.Location)
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		cmp, err := b.buildBinary("=", ae.Lexpr, ae.Rexpr, ae.Location)
		if err != nil {
			return nil, err
		}
		c := cmp.(*compareExpr)
		return &distinctExpr{cmp: c, not: ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT}, nil
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		cmp, err := b.buildBinary("=", ae.Lexpr, ae.Rexpr, ae.Location)
		if err != nil {
			return nil, err
		}
		c := cmp.(*compareExpr)
		return &nullIfExpr{cmp: c}, nil
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if l := rowFields(ae.Lexpr); l != nil {
			return b.buildRowIn(op, l, ae)
		}
		return b.buildIn(op, ae)
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		return b.buildAnyArray(ae, op)
	case pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		return b.buildLike(op, ae)
	case pg_query.A_Expr_Kind_AEXPR_SIMILAR:
		// The grammar wraps the pattern in similar_to_escape(), which turns
		// it into a regular expression for ~ or !~.
		return b.buildBinary(op, ae.Lexpr, ae.Rexpr, ae.Location)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return b.buildBetween(ae)
	}
	return nil, pgerror.NotSupported("operator kind " + ae.Kind.String())
}

func (b *builder) buildUnary(op string, ae *pg_query.A_Expr) (expr, error) {
	arg, err := b.build(ae.Rexpr)
	if err != nil {
		return nil, err
	}
	switch op {
	case "-":
		if c, ok := arg.(*constExpr); ok {
			switch v := c.val.(type) {
			case int64:
				if v == math.MinInt64 {
					break
				}
				if err := checkIntRange(-v, c.typ.OID); err != nil {
					return nil, err
				}
				return &constExpr{val: -v, typ: c.typ}, nil
			case *apd.Decimal:
				d := new(apd.Decimal).Neg(v)
				return &constExpr{val: d, typ: c.typ}, nil
			}
		}
		switch arg.resultType().OID {
		case oidUnknown:
			if arg, err = b.castTo(arg, plainType(oidFloat8), false); err != nil {
				return nil, err
			}
		case oidTime:
			// -time is -interval, through the implicit cast.
			if arg, err = b.castTo(arg, plainType(oidInterval), false); err != nil {
				return nil, err
			}
		}
		if !isNumericType(arg.resultType().OID) && arg.resultType().OID != oidInterval {
			return nil, undefinedOperator("-", "", arg.resultType().OID, ae.Location)
		}
		return &negExpr{arg: arg}, nil
	case "~":
		return b.buildBitNot(arg, ae.Location)
	case "+":
		return arg, nil
	}
	return nil, pgerror.NotSupported("prefix operator " + op)
}

func undefinedOperator(op string, left string, right uint32, location int32) *pgerror.Error {
	if left == "" {
		return pgerror.Newf(pgcode.UndefinedFunction, "operator does not exist: %s %s", op, typeName(right)).
			WithHint("No operator matches the given name and argument type. You might need to add an explicit type cast.").WithPosition(location + 1)
	}
	return pgerror.Newf(pgcode.UndefinedFunction, "operator does not exist: %s %s %s", left, op, typeName(right)).
		WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.").WithPosition(location + 1)
}

// unify converts two operands to their common type for comparison or
// arithmetic.
func (b *builder) unify(l, r expr, op string, location int32) (expr, expr, uint32, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	common, ok := commonType(lt, rt)
	if !ok {
		return nil, nil, 0, undefinedOperator(op, typeName(lt), rt, location)
	}
	var err error
	if lt != common {
		if l, err = b.castTo(l, plainType(common), false); err != nil {
			return nil, nil, 0, err
		}
	}
	if rt != common {
		if r, err = b.castTo(r, plainType(common), false); err != nil {
			return nil, nil, 0, err
		}
	}
	return l, r, common, nil
}

func (b *builder) buildBinary(op string, ln, rn *pg_query.Node, location int32) (expr, error) {
	l, err := b.build(ln)
	if err != nil {
		return nil, err
	}
	r, err := b.build(rn)
	if err != nil {
		return nil, err
	}
	return b.binary(op, l, r, location)
}

func (b *builder) binary(op string, l, r expr, location int32) (expr, error) {
	switch op {
	case "=", "<>", "!=", "<", "<=", ">", ">=":
		if op == "!=" {
			op = "<>"
		}
		l, r, common, err := b.unify(l, r, op, location)
		if err != nil {
			return nil, err
		}
		if common == oidJSON {
			return nil, undefinedOperator(op, "json", oidJSON, location)
		}
		return &compareExpr{op: op, left: l, right: r, bpchar: common == oidBpchar, typ: common}, nil
	case "+", "-", "*", "/", "%":
		if op == "-" && l.resultType().OID == oidJSONB {
			return b.buildJSONBDelete(op, l, r, location)
		}
		return b.buildArith(op, l, r, location)
	case "#-":
		if l.resultType().OID == oidJSONB {
			return b.buildJSONBDelete(op, l, r, location)
		}
	case "||":
		if isJSONBConcat(l.resultType().OID, r.resultType().OID) {
			return b.buildJSONBConcat(l, r)
		}
		if isArrayType(l.resultType().OID) || isArrayType(r.resultType().OID) {
			return b.buildArrayConcat(l, r, location)
		}
		return b.buildConcat(l, r, location)
	case "^":
		return b.buildPower(l, r, location)
	case "&", "|", "#", "<<", ">>":
		return b.buildBitwise(op, l, r, location)
	case "~", "~*", "!~", "!~*":
		var err error
		for _, side := range []*expr{&l, &r} {
			t := (*side).resultType().OID
			if t != oidUnknown && !isStringType(t) {
				return nil, undefinedOperator(op, typeName(l.resultType().OID), r.resultType().OID, location)
			}
			if *side, err = b.castTo(*side, plainType(oidText), false); err != nil {
				return nil, err
			}
		}
		return &regexExpr{left: l, right: r, not: strings.HasPrefix(op, "!"), caseInsensitive: strings.HasSuffix(op, "*")}, nil
	case "~~", "!~~", "~~*", "!~~*":
		return b.like(op, l, r, nil, location)
	}
	if e, ok, err := b.buildArrayOperator(op, l, r, location); ok {
		return e, err
	}
	if e, ok, err := b.buildJSONOperator(op, l, r, location); ok {
		return e, err
	}
	return nil, undefinedOperator(op, typeName(l.resultType().OID), r.resultType().OID, location)
}

func (b *builder) buildArith(op string, l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	// An unknown literal next to a number takes the number's type.
	if lt == oidUnknown && rt == oidUnknown {
		return nil, pgerror.Newf(pgcode.AmbiguousFunction, "operator is not unique: unknown %s unknown", op).WithPosition(location + 1)
	}
	if isTimeType(lt) || isTimeType(rt) || lt == oidInterval || rt == oidInterval || lt == oidTime || rt == oidTime {
		return b.buildTimeArith(op, l, r, location)
	}
	if !(isNumericType(lt) || lt == oidUnknown) || !(isNumericType(rt) || rt == oidUnknown) {
		return nil, undefinedOperator(op, typeName(lt), rt, location)
	}
	l, r, common, err := b.unify(l, r, op, location)
	if err != nil {
		return nil, err
	}
	if common == oidFloat4 && ((lt != oidFloat4 && lt != oidUnknown) || (rt != oidFloat4 && rt != oidUnknown)) {
		// real has operators only with real and double precision, so a
		// real meeting another number computes in double precision.
		if l, err = b.castTo(l, plainType(oidFloat8), false); err != nil {
			return nil, err
		}
		if r, err = b.castTo(r, plainType(oidFloat8), false); err != nil {
			return nil, err
		}
		common = oidFloat8
	}
	return &arithExpr{op: op, left: l, right: r, typ: plainType(common)}, nil
}

func (b *builder) buildConcat(l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	if lt == oidBytea && rt == oidBytea {
		return &concatExpr{left: l, right: r, bytea: true}, nil
	}
	// text || anything (and anything || text) concatenates text forms.
	if isStringType(lt) || isStringType(rt) || lt == oidUnknown || rt == oidUnknown {
		var err error
		if lt == oidUnknown {
			if l, err = b.castTo(l, plainType(oidText), false); err != nil {
				return nil, err
			}
		}
		if rt == oidUnknown {
			if r, err = b.castTo(r, plainType(oidText), false); err != nil {
				return nil, err
			}
		}
		return &concatExpr{left: l, right: r}, nil
	}
	return nil, undefinedOperator("||", typeName(lt), rt, location)
}

func (b *builder) buildIn(op string, ae *pg_query.A_Expr) (expr, error) {
	left, err := b.build(ae.Lexpr)
	if err != nil {
		return nil, err
	}
	list := ae.Rexpr.GetList()
	if list == nil {
		return nil, pgerror.NotSupported("IN with a subquery")
	}
	in := &inExpr{not: op == "<>"}
	items := make([]expr, 0, len(list.Items))
	for _, item := range list.Items {
		e, err := b.build(item)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	// Find the common type of the left side and every item.
	common := left.resultType().OID
	for _, e := range items {
		c, ok := commonType(common, e.resultType().OID)
		if !ok {
			return nil, undefinedOperator("=", typeName(common), e.resultType().OID, ae.Location)
		}
		common = c
	}
	if common == oidUnknown {
		common = oidText
	}
	in.typ = common
	if in.left, err = b.castTo(left, plainType(common), false); err != nil {
		return nil, err
	}
	for _, e := range items {
		c, err := b.castTo(e, plainType(common), false)
		if err != nil {
			return nil, err
		}
		in.items = append(in.items, c)
	}
	return in, nil
}

func (b *builder) buildLike(op string, ae *pg_query.A_Expr) (expr, error) {
	l, err := b.build(ae.Lexpr)
	if err != nil {
		return nil, err
	}
	// ESCAPE arrives as a like_escape() call around the pattern.
	var escape expr
	rn := ae.Rexpr
	if fc := rn.GetFuncCall(); fc != nil && len(fc.Funcname) > 0 && fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval() == "like_escape" && len(fc.Args) == 2 {
		rn = fc.Args[0]
		if escape, err = b.build(fc.Args[1]); err != nil {
			return nil, err
		}
		if escape, err = b.castTo(escape, plainType(oidText), false); err != nil {
			return nil, err
		}
	}
	r, err := b.build(rn)
	if err != nil {
		return nil, err
	}
	return b.like(op, l, r, escape, ae.Location)
}

func (b *builder) like(op string, l, r, escape expr, location int32) (expr, error) {
	var err error
	for _, side := range []*expr{&l, &r} {
		t := (*side).resultType().OID
		if t == oidUnknown || t == oidBpchar || t == oidVarchar || t == oidName {
			if *side, err = b.castTo(*side, plainType(oidText), false); err != nil {
				return nil, err
			}
			continue
		}
		if t != oidText {
			return nil, undefinedOperator(op, typeName(l.resultType().OID), r.resultType().OID, location)
		}
	}
	return &likeExpr{
		left: l, right: r, escape: escape,
		not:             strings.HasPrefix(op, "!"),
		caseInsensitive: strings.Contains(op, "*"),
	}, nil
}

func (b *builder) buildBetween(ae *pg_query.A_Expr) (expr, error) {
	list := ae.Rexpr.GetList()
	if list == nil || len(list.Items) != 2 {
		return nil, pgerror.Internal("malformed BETWEEN")
	}
	x, err := b.build(ae.Lexpr)
	if err != nil {
		return nil, err
	}
	lo, err := b.build(list.Items[0])
	if err != nil {
		return nil, err
	}
	hi, err := b.build(list.Items[1])
	if err != nil {
		return nil, err
	}
	geLo, err := b.binary(">=", x, lo, ae.Location)
	if err != nil {
		return nil, err
	}
	leHi, err := b.binary("<=", x, hi, ae.Location)
	if err != nil {
		return nil, err
	}
	var e expr = &andExpr{args: []expr{geLo, leHi}}
	switch ae.Kind {
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		geHi, err := b.binary(">=", x, hi, ae.Location)
		if err != nil {
			return nil, err
		}
		leLo, err := b.binary("<=", x, lo, ae.Location)
		if err != nil {
			return nil, err
		}
		e = &orExpr{args: []expr{e, &andExpr{args: []expr{geHi, leLo}}}}
	}
	if ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		e = &notExpr{arg: e}
	}
	return e, nil
}

func (b *builder) buildCase(ce *pg_query.CaseExpr) (expr, error) {
	out := &caseExpr{}
	var arg expr
	var err error
	if ce.Arg != nil {
		if arg, err = b.build(ce.Arg); err != nil {
			return nil, err
		}
	}
	var results []expr
	for _, w := range ce.Args {
		cw := w.GetCaseWhen()
		cond, err := b.build(cw.Expr)
		if err != nil {
			return nil, err
		}
		if arg != nil {
			if cond, err = b.binary("=", arg, cond, cw.Location); err != nil {
				return nil, err
			}
		} else if cond, err = b.requireBool(cond, "CASE/WHEN"); err != nil {
			return nil, err
		}
		res, err := b.build(cw.Result)
		if err != nil {
			return nil, err
		}
		out.conds = append(out.conds, cond)
		results = append(results, res)
	}
	if ce.Defresult != nil {
		def, err := b.build(ce.Defresult)
		if err != nil {
			return nil, err
		}
		results = append(results, def)
	}
	typ, err := b.unifyAll(results, "CASE")
	if err != nil {
		return nil, err
	}
	for i := range results {
		if results[i], err = b.castTo(results[i], typ, false); err != nil {
			return nil, err
		}
	}
	out.typ = typ
	out.results = results[:len(out.conds)]
	if ce.Defresult != nil {
		out.def = results[len(results)-1]
	}
	return out, nil
}

// unifyAll finds the common type of several expressions, as PostgreSQL's
// UNION/CASE type resolution does for the cases pgkeep supports.
func (b *builder) unifyAll(es []expr, context string) (catalog.ColumnType, error) {
	common := uint32(oidUnknown)
	for _, e := range es {
		if e.resultType().OID == oidUnknown {
			continue
		}
		c, ok := commonType(common, e.resultType().OID)
		if !ok {
			return catalog.ColumnType{}, pgerror.Newf(pgcode.DatatypeMismatch, "%s types %s and %s cannot be matched", context, typeName(common), typeName(e.resultType().OID))
		}
		common = c
	}
	if common == oidUnknown {
		common = oidText
	}
	return plainType(common), nil
}

func (b *builder) buildCoalesce(ce *pg_query.CoalesceExpr) (expr, error) {
	var args []expr
	for _, a := range ce.Args {
		e, err := b.build(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	typ, err := b.unifyAll(args, "COALESCE")
	if err != nil {
		return nil, err
	}
	for i := range args {
		if args[i], err = b.castTo(args[i], typ, false); err != nil {
			return nil, err
		}
	}
	return &coalesceExpr{args: args, typ: typ}, nil
}

func (b *builder) buildMinMax(mm *pg_query.MinMaxExpr) (expr, error) {
	var args []expr
	for _, a := range mm.Args {
		e, err := b.build(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	name := "GREATEST"
	if mm.Op == pg_query.MinMaxOp_IS_LEAST {
		name = "LEAST"
	}
	typ, err := b.unifyAll(args, name)
	if err != nil {
		return nil, err
	}
	for i := range args {
		if args[i], err = b.castTo(args[i], typ, false); err != nil {
			return nil, err
		}
	}
	return &minMaxExpr{args: args, typ: typ, least: mm.Op == pg_query.MinMaxOp_IS_LEAST}, nil
}

func buildSQLValueFunction(f *pg_query.SQLValueFunction) (expr, error) {
	switch f.Op {
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_ROLE,
		pg_query.SQLValueFunctionOp_SVFOP_USER:
		return &sessionValueExpr{kind: "user", typ: plainType(oidName)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:
		return &sessionValueExpr{kind: "session_user", typ: plainType(oidName)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return &sessionValueExpr{kind: "database", typ: plainType(oidName)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return &sessionValueExpr{kind: "schema", typ: plainType(oidName)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return &sessionValueExpr{kind: "now", typ: plainType(oidTimestamptz)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return &sessionValueExpr{kind: "now", typ: plainType(oidTimestamp)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return &sessionValueExpr{kind: "today", typ: plainType(oidDate)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:
		return &sessionValueExpr{kind: "localtime", typ: plainType(oidTime)}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		// The grammar only accepts an integer constant as the precision.
		// PostgreSQL lowers one above 6 to 6 with a warning, which is not
		// sent here.
		return &sessionValueExpr{kind: "localtime", typ: catalog.ColumnType{OID: oidTime, TypMod: min(f.Typmod, maxTimePrecision)}}, nil
	case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		return nil, pgerror.NotSupported("type time with time zone").
			WithDetail("CURRENT_TIME returns time with time zone.").
			WithHint("Use LOCALTIME for the time of day without time zone.")
	}
	return nil, pgerror.NotSupported("SQL value function " + f.Op.String())
}

// buildPower compiles x ^ y: double precision unless an operand is
// numeric, as PostgreSQL resolves the operator.
func (b *builder) buildPower(l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	if !(isNumericType(lt) || lt == oidUnknown) || !(isNumericType(rt) || rt == oidUnknown) {
		return nil, undefinedOperator("^", typeName(lt), rt, location)
	}
	typ := plainType(oidFloat8)
	if lt == oidNumeric || rt == oidNumeric {
		// numeric ^ numeric is power(numeric, numeric), with its result
		// scale.
		typ = plainType(oidNumeric)
	}
	var err error
	if l, err = b.castTo(l, typ, false); err != nil {
		return nil, err
	}
	if r, err = b.castTo(r, typ, false); err != nil {
		return nil, err
	}
	if typ.OID == oidNumeric {
		return &funcExpr{name: "power", fn: &numericPowerBuiltin, args: []expr{l, r}, typ: typ}, nil
	}
	return &arithExpr{op: "^", left: l, right: r, typ: typ}, nil
}
