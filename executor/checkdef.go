package executor

import (
	"strings"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
)

// This file renders the condition of a CHECK constraint the way
// PostgreSQL 15's pg_get_constraintdef does. PostgreSQL prints the
// analysed expression, so the implicit casts that its operator and
// function resolution added show up: CHECK ((price >= (0)::numeric)).
// pgkeep stores the condition as SQL text, so the text is re-parsed here
// and typed again with a model of PostgreSQL's resolution for the common
// cases: comparisons and arithmetic on numbers, strings, dates and
// booleans, AND/OR/NOT, IS [NOT] NULL, IN lists, BETWEEN, LIKE, regular
// expression matches, COALESCE and a few string and math functions. A
// condition outside that model is printed as stored, in parentheses.

// ckKind is the kind of node of a typed CHECK condition.
type ckKind int

const (
	ckVar ckKind = iota
	ckConst
	ckOp // a binary operator, or a prefix operator when it has one argument
	ckFunc
	ckCast
	ckAnd
	ckOr
	ckNot
	ckTest // IS [NOT] NULL, IS [NOT] TRUE and the like, suffix in text
	ckArrayOp
	ckArray
	ckDistinct
	ckCoalesce
	ckCase
	// ckSQLFunc is a function called with SQL syntax, such as
	// TRIM(BOTH FROM x) or SUBSTRING(x FROM 2).
	ckSQLFunc
)

// ckNode is one node of a CHECK condition typed as PostgreSQL types it.
type ckNode struct {
	kind ckKind
	typ  uint32
	// text is a column's name, a constant's output text, an operator, a
	// function's name or a test's suffix.
	text string
	args []*ckNode
	// all marks op ALL (array) as opposed to op ANY (array).
	all bool
	// null marks the NULL constant.
	null bool
	// explicit marks a cast written in the condition, as opposed to one
	// that operator or function resolution added.
	explicit bool
	// caseArg is the argument of a simple CASE (CASE x WHEN ...), whose
	// args are then WHEN values rather than conditions. A CASE's args
	// alternate between WHEN and THEN parts and end with the ELSE part.
	caseArg *ckNode
}

// checkDefinition renders a CHECK constraint as pg_get_constraintdef
// does. loc is the session time zone, in which PostgreSQL prints
// timestamp with time zone constants.
func checkDefinition(loc *time.Location, t *catalog.TableDescriptor, c catalog.CheckConstraint, pretty bool) string {
	if n := typedCheck(loc, t, c.Expr); n != nil {
		return "CHECK (" + deparseCheckNode(n, pretty) + ")"
	}
	// NOTE: a condition the model does not cover lacks PostgreSQL's
	// implicit casts and may differ in parentheses.
	if pretty {
		return "CHECK (" + c.Expr + ")"
	}
	return "CHECK ((" + c.Expr + "))"
}

// typedCheck parses and types a stored condition, or returns nil when the
// condition is outside the model.
func typedCheck(loc *time.Location, t *catalog.TableDescriptor, text string) *ckNode {
	n, _ := typedExpr(loc, t, text)
	if n == nil || n.typ != oidBool {
		return nil
	}
	return n
}

// typedExpr parses and types a stored expression. It returns nil when
// the expression is outside the model.
func typedExpr(loc *time.Location, t *catalog.TableDescriptor, text string) (*ckNode, *checkTyper) {
	tree, err := pg_query.Parse("SELECT " + text)
	if err != nil || len(tree.Stmts) != 1 {
		return nil, nil
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 {
		return nil, nil
	}
	ct := &checkTyper{table: t, loc: loc}
	n := ct.build(sel.TargetList[0].GetResTarget().Val)
	if ct.failed || n == nil {
		return nil, nil
	}
	return n, ct
}

// defaultDefinition renders a column default as PostgreSQL's pg_get_expr
// does: a literal becomes a constant of the column's type, which prints
// with its cast where PostgreSQL prints one ('x'::text), and the implicit
// cast of another expression to the column's type stays hidden. A NULL
// default is no default, so the result is empty. A default outside the
// model is printed as stored.
func defaultDefinition(loc *time.Location, t *catalog.TableDescriptor, c *catalog.ColumnDescriptor) string {
	n, ct := typedExpr(loc, t, c.Default)
	if n == nil {
		return c.Default
	}
	if n.kind == ckConst && n.null {
		return ""
	}
	if n.kind == ckConst && n.typ == oidUnknown {
		if n = ct.coerce(n, c.Type.OID); ct.failed {
			return c.Default
		}
	}
	return deparseCheckNode(n, false)
}

// checkTyper types a raw condition. failed is set at the first construct
// outside the model.
type checkTyper struct {
	table  *catalog.TableDescriptor
	loc    *time.Location
	failed bool
}

func (ct *checkTyper) fail() *ckNode {
	ct.failed = true
	return nil
}

func (ct *checkTyper) build(n *pg_query.Node) *ckNode {
	if ct.failed || n == nil {
		return ct.fail()
	}
	switch {
	case n.GetColumnRef() != nil:
		f := n.GetColumnRef().Fields
		name := f[len(f)-1].GetString_().GetSval()
		c := ct.table.ColumnByName(name)
		if c == nil || c.Hidden {
			return ct.fail()
		}
		return &ckNode{kind: ckVar, typ: c.Type.OID, text: quoteIdentIfNeeded(c.Name)}
	case n.GetAConst() != nil:
		return ct.buildConst(n.GetAConst())
	case n.GetTypeCast() != nil:
		return ct.buildTypeCast(n.GetTypeCast())
	case n.GetBoolExpr() != nil:
		return ct.buildBoolExpr(n.GetBoolExpr())
	case n.GetNullTest() != nil:
		nt := n.GetNullTest()
		suffix := " IS NULL"
		if nt.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL {
			suffix = " IS NOT NULL"
		}
		arg := ct.build(nt.Arg)
		if arg == nil || arg.typ == oidUnknown {
			return ct.fail()
		}
		return &ckNode{kind: ckTest, typ: oidBool, text: suffix, args: []*ckNode{arg}}
	case n.GetBooleanTest() != nil:
		return ct.buildBooleanTest(n.GetBooleanTest())
	case n.GetAExpr() != nil:
		return ct.buildAExpr(n.GetAExpr())
	case n.GetFuncCall() != nil:
		return ct.buildFuncCall(n.GetFuncCall())
	case n.GetCoalesceExpr() != nil:
		return ct.buildCoalesce(n.GetCoalesceExpr())
	case n.GetCaseExpr() != nil:
		return ct.buildCase(n.GetCaseExpr())
	case n.GetSqlvalueFunction() != nil:
		return ct.buildSQLValueFunction(n.GetSqlvalueFunction())
	}
	return ct.fail()
}

// sqlValueFunctions are the SQL value functions the model types, with
// their types and the keywords PostgreSQL prints for them.
var sqlValueFunctions = map[pg_query.SQLValueFunctionOp]struct {
	typ     uint32
	keyword string
}{
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_DATE:      {oidDate, "CURRENT_DATE"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP: {oidTimestamptz, "CURRENT_TIMESTAMP"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:    {oidTimestamp, "LOCALTIMESTAMP"},
	pg_query.SQLValueFunctionOp_SVFOP_LOCALTIME:         {oidTime, "LOCALTIME"},
	pg_query.SQLValueFunctionOp_SVFOP_CURRENT_USER:      {oidName, "CURRENT_USER"},
	pg_query.SQLValueFunctionOp_SVFOP_SESSION_USER:      {oidName, "SESSION_USER"},
}

func (ct *checkTyper) buildSQLValueFunction(f *pg_query.SQLValueFunction) *ckNode {
	svf, ok := sqlValueFunctions[f.Op]
	if !ok {
		return ct.fail()
	}
	return &ckNode{kind: ckVar, typ: svf.typ, text: svf.keyword}
}

// buildCase types a CASE expression. Its results take their common type,
// and a missing ELSE becomes ELSE NULL of that type, as PostgreSQL
// prints it.
func (ct *checkTyper) buildCase(ce *pg_query.CaseExpr) *ckNode {
	out := &ckNode{kind: ckCase}
	if ce.Arg != nil {
		if out.caseArg = ct.build(ce.Arg); out.caseArg == nil {
			return nil
		}
	}

	var results []*ckNode
	for _, w := range ce.Args {
		cw := w.GetCaseWhen()
		cond := ct.build(cw.Expr)
		if cond == nil {
			return nil
		}
		if out.caseArg != nil {
			// PostgreSQL prints only the WHEN value of a simple CASE, so
			// the model covers only the cases that leave the argument
			// uncast.
			lt, rt, _, ok := resolveCheckOperator("=", out.caseArg.typ, cond.typ)
			if !ok || lt != out.caseArg.typ {
				return ct.fail()
			}
			cond = ct.coerce(cond, rt)
		} else {
			cond = ct.coerce(cond, oidBool)
		}
		result := ct.build(cw.Result)
		if cond == nil || result == nil {
			return ct.fail()
		}
		out.args = append(out.args, cond)
		results = append(results, result)
	}
	def := &ckNode{kind: ckConst, typ: oidUnknown, null: true}
	if ce.Defresult != nil {
		if def = ct.build(ce.Defresult); def == nil {
			return nil
		}
	}
	results = append(results, def)

	out.typ = oidUnknown
	for _, r := range results {
		c, ok := commonType(out.typ, r.typ)
		if !ok {
			return ct.fail()
		}
		out.typ = c
	}
	if out.typ == oidUnknown {
		out.typ = oidText
	}

	var args []*ckNode
	for i, cond := range out.args {
		args = append(args, cond, ct.coerce(results[i], out.typ))
	}
	out.args = append(args, ct.coerce(def, out.typ))
	return out
}

func (ct *checkTyper) buildConst(c *pg_query.A_Const) *ckNode {
	if c.Isnull {
		return &ckNode{kind: ckConst, typ: oidUnknown, null: true}
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		return &ckNode{kind: ckConst, typ: oidInt4, text: itoa(int64(v.Ival.Ival))}
	case *pg_query.A_Const_Fval:
		e, err := buildConst(c)
		if err != nil {
			return ct.fail()
		}
		k := e.(*constExpr)
		return &ckNode{kind: ckConst, typ: k.typ.OID, text: formatDatum(k.val, k.typ.OID)}
	case *pg_query.A_Const_Boolval:
		return &ckNode{kind: ckConst, typ: oidBool, text: formatDatum(v.Boolval.Boolval, oidBool)}
	case *pg_query.A_Const_Sval:
		return &ckNode{kind: ckConst, typ: oidUnknown, text: v.Sval.Sval}
	}
	return ct.fail()
}

// negateConst folds a minus sign into a numeric constant, as PostgreSQL's
// grammar does, or returns nil for anything else.
func negateConst(n *ckNode) *ckNode {
	if n.kind != ckConst || (n.typ != oidInt4 && n.typ != oidInt8 && n.typ != oidNumeric) {
		return nil
	}
	text := "-" + n.text
	if strings.HasPrefix(n.text, "-") {
		text = n.text[1:]
	}
	return &ckNode{kind: ckConst, typ: n.typ, text: text}
}

func (ct *checkTyper) buildTypeCast(tc *pg_query.TypeCast) *ckNode {
	typ, _, err := resolveTypeName(tc.TypeName)
	if err != nil || typ.TypMod >= 0 || isArrayType(typ.OID) {
		return ct.fail()
	}
	arg := ct.build(tc.Arg)
	if arg == nil {
		return nil
	}
	out := ct.coerce(arg, typ.OID)
	if out != nil && out.kind == ckCast && out != arg {
		out.explicit = true
	}
	return out
}

// coerce converts n to typ: a string literal becomes a constant of typ,
// anything else of another type gets a cast node.
func (ct *checkTyper) coerce(n *ckNode, typ uint32) *ckNode {
	switch {
	case n == nil:
		return nil
	case n.typ == typ:
		return n
	case n.kind == ckConst && n.null:
		return &ckNode{kind: ckConst, typ: typ, null: true}
	case n.kind == ckConst && n.typ == oidUnknown:
		v, err := castDatum(n.text, oidUnknown, plainType(typ), false, ct.loc)
		if err != nil {
			return ct.fail()
		}
		return &ckNode{kind: ckConst, typ: typ, text: arrayElementText(v, typ, ct.loc)}
	case !castAllowed(n.typ, typ):
		return ct.fail()
	}
	return &ckNode{kind: ckCast, typ: typ, args: []*ckNode{n}}
}

func (ct *checkTyper) buildBoolExpr(be *pg_query.BoolExpr) *ckNode {
	kind := map[pg_query.BoolExprType]ckKind{
		pg_query.BoolExprType_AND_EXPR: ckAnd, pg_query.BoolExprType_OR_EXPR: ckOr, pg_query.BoolExprType_NOT_EXPR: ckNot,
	}[be.Boolop]
	out := &ckNode{kind: kind, typ: oidBool}
	for _, a := range be.Args {
		arg := ct.coerce(ct.build(a), oidBool)
		if arg == nil || arg.typ != oidBool {
			return ct.fail()
		}
		out.args = append(out.args, arg)
	}
	return out
}

func (ct *checkTyper) buildBooleanTest(bt *pg_query.BooleanTest) *ckNode {
	suffix := map[pg_query.BoolTestType]string{
		pg_query.BoolTestType_IS_TRUE: " IS TRUE", pg_query.BoolTestType_IS_NOT_TRUE: " IS NOT TRUE",
		pg_query.BoolTestType_IS_FALSE: " IS FALSE", pg_query.BoolTestType_IS_NOT_FALSE: " IS NOT FALSE",
		pg_query.BoolTestType_IS_UNKNOWN: " IS UNKNOWN", pg_query.BoolTestType_IS_NOT_UNKNOWN: " IS NOT UNKNOWN",
	}[bt.Booltesttype]
	arg := ct.coerce(ct.build(bt.Arg), oidBool)
	if arg == nil || arg.typ != oidBool || suffix == "" {
		return ct.fail()
	}
	return &ckNode{kind: ckTest, typ: oidBool, text: suffix, args: []*ckNode{arg}}
}

func (ct *checkTyper) buildAExpr(ae *pg_query.A_Expr) *ckNode {
	op := ""
	if len(ae.Name) > 0 {
		op = ae.Name[len(ae.Name)-1].GetString_().GetSval()
	}
	switch ae.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP:
		if ae.Lexpr == nil {
			return ct.buildPrefix(op, ae.Rexpr)
		}
		return ct.binary(op, ct.build(ae.Lexpr), ct.build(ae.Rexpr))
	case pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE:
		return ct.binary(op, ct.build(ae.Lexpr), ct.build(ae.Rexpr))
	case pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		cmp := ct.binary("=", ct.build(ae.Lexpr), ct.build(ae.Rexpr))
		if cmp == nil {
			return nil
		}
		n := &ckNode{kind: ckDistinct, typ: oidBool, args: cmp.args}
		if ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT {
			return &ckNode{kind: ckNot, typ: oidBool, args: []*ckNode{n}}
		}
		return n
	case pg_query.A_Expr_Kind_AEXPR_NULLIF:
		cmp := ct.binary("=", ct.build(ae.Lexpr), ct.build(ae.Rexpr))
		if cmp == nil {
			return nil
		}
		return &ckNode{kind: ckFunc, typ: cmp.args[0].typ, text: "NULLIF", args: cmp.args}
	case pg_query.A_Expr_Kind_AEXPR_IN:
		return ct.buildIn(op, ae)
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		arr := ae.Rexpr.GetAArrayExpr()
		if arr == nil {
			return ct.fail()
		}
		return ct.arrayOp(op, ct.build(ae.Lexpr), arr.Elements, ae.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return ct.buildBetween(ae)
	}
	return ct.fail()
}

// buildBetween types BETWEEN as PostgreSQL rewrites it, repeating x:
// x BETWEEN a AND b is x >= a AND x <= b, NOT BETWEEN is x < a OR x > b,
// and the SYMMETRIC forms add the same test with a and b swapped.
func (ct *checkTyper) buildBetween(ae *pg_query.A_Expr) *ckNode {
	list := ae.Rexpr.GetList()
	if list == nil || len(list.Items) != 2 {
		return ct.fail()
	}
	not := ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM
	symmetric := ae.Kind == pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM || ae.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM
	lowOp, highOp, inner, outer := ">=", "<=", ckAnd, ckOr
	if not {
		lowOp, highOp, inner, outer = "<", ">", ckOr, ckAnd
	}
	between := func(low, high *pg_query.Node) *ckNode {
		l := ct.binary(lowOp, ct.build(ae.Lexpr), ct.build(low))
		h := ct.binary(highOp, ct.build(ae.Lexpr), ct.build(high))
		if l == nil || h == nil {
			return ct.fail()
		}
		return &ckNode{kind: inner, typ: oidBool, args: []*ckNode{l, h}}
	}
	out := between(list.Items[0], list.Items[1])
	if symmetric && out != nil {
		swapped := between(list.Items[1], list.Items[0])
		if swapped == nil {
			return nil
		}
		out = &ckNode{kind: outer, typ: oidBool, args: []*ckNode{out, swapped}}
	}
	return out
}

func (ct *checkTyper) buildPrefix(op string, operand *pg_query.Node) *ckNode {
	arg := ct.build(operand)
	if arg == nil || op != "-" {
		return ct.fail()
	}
	if neg := negateConst(arg); neg != nil {
		return neg
	}
	if !isNumericType(arg.typ) {
		return ct.fail()
	}
	return &ckNode{kind: ckOp, typ: arg.typ, text: op, args: []*ckNode{arg}}
}

// buildIn types x IN (list) as PostgreSQL does: x = item for one item,
// else x = ANY (ARRAY[items]) over the common type of x and the items.
func (ct *checkTyper) buildIn(op string, ae *pg_query.A_Expr) *ckNode {
	list := ae.Rexpr.GetList()
	if list == nil {
		return ct.fail()
	}
	left := ct.build(ae.Lexpr)
	if len(list.Items) == 1 {
		return ct.binary(op, left, ct.build(list.Items[0]))
	}
	return ct.arrayOp(op, left, list.Items, op == "<>")
}

// arrayOp types x op ANY/ALL (ARRAY[items]).
func (ct *checkTyper) arrayOp(op string, left *ckNode, items []*pg_query.Node, all bool) *ckNode {
	if left == nil {
		return nil
	}
	elems := make([]*ckNode, 0, len(items))
	common := left.typ
	for _, item := range items {
		e := ct.build(item)
		if e == nil {
			return nil
		}
		elems = append(elems, e)
		c, ok := commonType(common, e.typ)
		if !ok {
			return ct.fail()
		}
		common = c
	}
	if common == oidUnknown {
		common = oidText
	}

	arrayType := arrayOf(common)
	if arrayType == 0 {
		return ct.fail()
	}
	arr := &ckNode{kind: ckArray, typ: arrayType}
	for _, e := range elems {
		arr.args = append(arr.args, ct.coerce(e, common))
	}

	// PostgreSQL resolves the operator for the left side's type and the
	// element type. That may cast the left side, and the array as a whole.
	lt, rt, _, ok := resolveCheckOperator(op, left.typ, common)
	if !ok || ct.failed {
		return ct.fail()
	}
	var arrNode *ckNode = arr
	if rt != common {
		arrNode = &ckNode{kind: ckCast, typ: arrayOf(rt), args: []*ckNode{arr}}
	}
	return &ckNode{kind: ckArrayOp, typ: oidBool, text: op, all: all, args: []*ckNode{ct.coerce(left, lt), arrNode}}
}

func (ct *checkTyper) binary(op string, l, r *ckNode) *ckNode {
	if l == nil || r == nil {
		return ct.fail()
	}
	if op == "!=" {
		op = "<>"
	}
	lt, rt, result, ok := resolveCheckOperator(op, l.typ, r.typ)
	if !ok {
		return ct.fail()
	}
	l, r = ct.coerce(l, lt), ct.coerce(r, rt)
	if l == nil || r == nil {
		return ct.fail()
	}
	return &ckNode{kind: ckOp, typ: result, text: op, args: []*ckNode{l, r}}
}

var (
	comparisonOps = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}
	arithmeticOps = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true}
	patternOps    = map[string]bool{"~~": true, "!~~": true, "~~*": true, "!~~*": true, "~": true, "!~": true, "~*": true, "!~*": true}
)

// isPlainNumeric reports whether t is one of the six numeric types, each
// of which casts implicitly to every type of a higher numericRank.
func isPlainNumeric(t uint32) bool {
	switch t {
	case oidInt2, oidInt4, oidInt8, oidNumeric, oidFloat4, oidFloat8:
		return true
	}
	return false
}

// resolveCheckOperator returns the argument types and the result type of
// the operator PostgreSQL 15 picks for op on operands of types l and r,
// for the operators and types the model covers.
func resolveCheckOperator(op string, l, r uint32) (uint32, uint32, uint32, bool) {
	// An unknown literal takes the type of the other operand.
	switch {
	case l == oidUnknown && r == oidUnknown:
		if op == "||" || patternOps[op] || comparisonOps[op] {
			return oidText, oidText, resultOf(op, oidText), true
		}
		return 0, 0, 0, false
	case l == oidUnknown:
		l = r
	case r == oidUnknown:
		r = l
	}
	switch {
	case patternOps[op]:
		if !isStringType(l) || !isStringType(r) {
			return 0, 0, 0, false
		}
		// The pattern operators exist for text, bpchar and name on the
		// left and text on the right.
		if l == oidVarchar {
			l = oidText
		}
		return l, oidText, oidBool, true
	case op == "||":
		if !isStringType(l) || !isStringType(r) {
			return 0, 0, 0, false
		}
		return oidText, oidText, oidText, true
	case !comparisonOps[op] && !arithmeticOps[op]:
		return 0, 0, 0, false
	}
	switch {
	case isPlainNumeric(l) && isPlainNumeric(r):
		lt, rt := resolveNumericOperator(op, l, r)
		if lt == 0 {
			return 0, 0, 0, false
		}
		return lt, rt, resultOf(op, numericResult(lt, rt)), true
	case l == oidDate && r == oidInt4 && (op == "+" || op == "-"):
		return l, r, oidDate, true
	case !comparisonOps[op]:
		return 0, 0, 0, false
	case isStringType(l) && isStringType(r):
		// text, bpchar and name compare with their own type. varchar has
		// no operators of its own, and every other mix compares as text.
		if l == r && l != oidVarchar {
			return l, r, oidBool, true
		}
		return oidText, oidText, oidBool, true
	case l == r && (l == oidBool || l == oidDate || l == oidTimestamp || l == oidTimestamptz || l == oidTime):
		return l, r, oidBool, true
	}
	return 0, 0, 0, false
}

func resultOf(op string, operandType uint32) uint32 {
	if comparisonOps[op] || patternOps[op] {
		return oidBool
	}
	return operandType
}

// numericResult is the type an arithmetic operator on lt and rt returns:
// the wider of the two.
func numericResult(lt, rt uint32) uint32 {
	if numericRank(lt) >= numericRank(rt) {
		return lt
	}
	return rt
}

// resolveNumericOperator picks the operand types of a comparison or
// arithmetic operator on two numeric types, as PostgreSQL 15 resolves
// them: integer types of any width meet directly (except in %, which
// needs equal types), and so do real and double precision. Otherwise
// numeric wins over the integers, and double precision over everything
// else, except that a real operand keeps its type against double
// precision.
func resolveNumericOperator(op string, l, r uint32) (uint32, uint32) {
	isInt := func(t uint32) bool { return t == oidInt2 || t == oidInt4 || t == oidInt8 }
	isFloat := func(t uint32) bool { return t == oidFloat4 || t == oidFloat8 }
	switch {
	case l == r:
		return l, r
	case op == "%" && (isFloat(l) || isFloat(r)):
		return 0, 0
	case op == "%":
		w := numericResult(l, r)
		return w, w
	case isInt(l) && isInt(r), isFloat(l) && isFloat(r):
		return l, r
	case l == oidFloat4:
		return l, oidFloat8
	case r == oidFloat4:
		return oidFloat8, r
	}
	w := numericResult(l, r)
	return w, w
}

// checkFunctions lists the functions the model types: argument types
// (one overload per entry) and result type. A result of 0 returns the
// argument's type.
var checkFunctions = map[string][]struct {
	args   []uint32
	result uint32
}{
	"length":           {{[]uint32{oidText}, oidInt4}, {[]uint32{oidBpchar}, oidInt4}},
	"char_length":      {{[]uint32{oidText}, oidInt4}, {[]uint32{oidBpchar}, oidInt4}},
	"character_length": {{[]uint32{oidText}, oidInt4}, {[]uint32{oidBpchar}, oidInt4}},
	"octet_length":     {{[]uint32{oidText}, oidInt4}, {[]uint32{oidBpchar}, oidInt4}},
	"lower":            {{[]uint32{oidText}, oidText}},
	"upper":            {{[]uint32{oidText}, oidText}},
	"btrim":            {{[]uint32{oidText}, oidText}, {[]uint32{oidText, oidText}, oidText}},
	"abs": {
		{[]uint32{oidInt2}, 0}, {[]uint32{oidInt4}, 0}, {[]uint32{oidInt8}, 0},
		{[]uint32{oidNumeric}, 0}, {[]uint32{oidFloat4}, 0}, {[]uint32{oidFloat8}, 0},
	},
	"now":         {{nil, oidTimestamptz}},
	"like_escape": {{[]uint32{oidText, oidText}, oidText}},
	"ltrim":       {{[]uint32{oidText}, oidText}, {[]uint32{oidText, oidText}, oidText}},
	"rtrim":       {{[]uint32{oidText}, oidText}, {[]uint32{oidText, oidText}, oidText}},
	"substring":   {{[]uint32{oidText, oidInt4}, oidText}, {[]uint32{oidText, oidInt4, oidInt4}, oidText}},
	"position":    {{[]uint32{oidText, oidText}, oidInt4}},
}

// sqlSyntaxFunctions are the functions that PostgreSQL prints in SQL
// syntax when the condition called them that way.
var sqlSyntaxFunctions = map[string]bool{"btrim": true, "ltrim": true, "rtrim": true, "substring": true, "position": true}

func (ct *checkTyper) buildFuncCall(fc *pg_query.FuncCall) *ckNode {
	if fc.AggStar || fc.AggDistinct || fc.Over != nil || len(fc.AggOrder) > 0 || fc.AggFilter != nil || fc.FuncVariadic {
		return ct.fail()
	}
	name := fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval()
	kind := ckFunc
	switch fc.Funcformat {
	case pg_query.CoercionForm_COERCE_EXPLICIT_CALL:
	case pg_query.CoercionForm_COERCE_SQL_SYNTAX:
		if !sqlSyntaxFunctions[name] {
			return ct.fail()
		}
		kind = ckSQLFunc
	default:
		return ct.fail()
	}
	if len(fc.Funcname) > 2 || len(fc.Funcname) == 2 && fc.Funcname[0].GetString_().GetSval() != "pg_catalog" {
		return ct.fail()
	}
	args := make([]*ckNode, len(fc.Args))
	for i, a := range fc.Args {
		if args[i] = ct.build(a); args[i] == nil {
			return nil
		}
	}
	for _, sig := range checkFunctions[name] {
		if len(sig.args) != len(args) {
			continue
		}
		// Take the first overload that every argument reaches: its own
		// type, a string type as text, or an unknown literal.
		matches := true
		for i, want := range sig.args {
			got := args[i].typ
			if got != want && got != oidUnknown && !(want == oidText && got == oidVarchar) {
				matches = false
			}
		}
		if !matches {
			continue
		}
		out := &ckNode{kind: kind, typ: sig.result, text: name}
		for i, want := range sig.args {
			out.args = append(out.args, ct.coerce(args[i], want))
		}
		if out.typ == 0 {
			out.typ = sig.args[0]
		}
		return out
	}
	return ct.fail()
}

func (ct *checkTyper) buildCoalesce(ce *pg_query.CoalesceExpr) *ckNode {
	out := &ckNode{kind: ckCoalesce, typ: oidUnknown}
	for _, a := range ce.Args {
		arg := ct.build(a)
		if arg == nil {
			return nil
		}
		c, ok := commonType(out.typ, arg.typ)
		if !ok {
			return ct.fail()
		}
		out.typ = c
		out.args = append(out.args, arg)
	}
	if out.typ == oidUnknown {
		out.typ = oidText
	}
	for i := range out.args {
		out.args[i] = ct.coerce(out.args[i], out.typ)
	}
	return out
}
