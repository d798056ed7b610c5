package executor

import (
	"strconv"
	"strings"

	"github.com/pgkeep/pgkeep/catalog"
)

// exprScope contains what EXPLAIN needs to name the columns an expression
// reads. offset is the position in scope of the row's first column, which
// is past the left side's columns on the right side of a join.
type exprScope struct {
	scope  *scope
	offset int
	aggs   []*aggSpec
}

// exprText renders e in the style of PostgreSQL's EXPLAIN. The plans of
// subqueries in e are added to host as InitPlan or SubPlan entries.
func (ex *explainer) exprText(e expr, sc exprScope, host *explainNode) string {
	t := func(e expr) string { return ex.exprText(e, sc, host) }
	switch x := e.(type) {
	case nil:
		return "NULL"
	case *constExpr:
		return constText(x.val, x.typ)
	case *columnExpr:
		return ex.columnName(sc.scope, sc.offset+x.idx, x.name)
	case *outerColumnExpr:
		s := sc.scope
		for i := 0; i < x.depth && s != nil; i++ {
			s = s.parent
		}
		return ex.columnName(s, x.idx, "")
	case *outerAggRefExpr:
		s := sc.scope
		for i := 0; i < x.depth && s != nil; i++ {
			s = s.parent
		}
		return ex.aggText(x.spec, exprScope{scope: s}, host)
	case *paramExpr:
		return "$" + strconv.Itoa(x.n)
	case *castExpr:
		if c, ok := x.arg.(*constExpr); ok && c.val != nil {
			return quoteLiteral(formatDatum(c.val, c.typ.OID)).(string) + "::" + formatType(x.typ)
		}
		return "(" + t(x.arg) + ")::" + formatType(x.typ)
	case *isNullExpr:
		if x.not {
			return "(" + t(x.arg) + " IS NOT NULL)"
		}
		return "(" + t(x.arg) + " IS NULL)"
	case *boolTestExpr:
		// The enum names read IS_TRUE, IS_NOT_UNKNOWN and so on.
		test := strings.ReplaceAll(x.kind.String(), "_", " ")
		return "(" + t(x.arg) + " " + test + ")"
	case *andExpr:
		return "(" + ex.joinTexts(x.args, " AND ", sc, host) + ")"
	case *orExpr:
		return "(" + ex.joinTexts(x.args, " OR ", sc, host) + ")"
	case *notExpr:
		return "(NOT " + t(x.arg) + ")"
	case *compareExpr:
		return "(" + t(x.left) + " " + x.op + " " + t(x.right) + ")"
	case *distinctExpr:
		op := " IS DISTINCT FROM "
		if x.not {
			op = " IS NOT DISTINCT FROM "
		}
		return "(" + t(x.cmp.left) + op + t(x.cmp.right) + ")"
	case *nullIfExpr:
		return "NULLIF(" + t(x.cmp.left) + ", " + t(x.cmp.right) + ")"
	case *inExpr:
		op := " IN ("
		if x.not {
			op = " NOT IN ("
		}
		return "(" + t(x.left) + op + ex.joinTexts(x.items, ", ", sc, host) + "))"
	case *anyArrayExpr:
		cmp, ok := x.test.(*compareExpr)
		if !ok {
			break
		}
		quantifier := " ANY ("
		if x.all {
			quantifier = " ALL ("
		}
		return "(" + t(x.left) + " " + cmp.op + quantifier + t(x.array) + "))"
	case *likeExpr:
		op := "~~"
		if x.caseInsensitive {
			op += "*"
		}
		if x.not {
			op = "!" + op
		}
		return "(" + t(x.left) + " " + op + " " + t(x.right) + ")"
	case *regexExpr:
		op := "~"
		if x.caseInsensitive {
			op += "*"
		}
		if x.not {
			op = "!" + op
		}
		return "(" + t(x.left) + " " + op + " " + t(x.right) + ")"
	case *negExpr:
		return "(- " + t(x.arg) + ")"
	case *arithExpr:
		return "(" + t(x.left) + " " + x.op + " " + t(x.right) + ")"
	case *timeArithExpr:
		op := "+"
		if strings.Contains(x.kind, "-") {
			op = "-"
		}
		return "(" + t(x.left) + " " + op + " " + t(x.right) + ")"
	case *concatExpr:
		return "(" + t(x.left) + " || " + t(x.right) + ")"
	case *caseExpr:
		var b strings.Builder
		b.WriteString("CASE")
		for i, c := range x.conds {
			b.WriteString(" WHEN " + t(c) + " THEN " + t(x.results[i]))
		}
		if x.def != nil {
			b.WriteString(" ELSE " + t(x.def))
		}
		b.WriteString(" END")
		return b.String()
	case *coalesceExpr:
		return "COALESCE(" + ex.joinTexts(x.args, ", ", sc, host) + ")"
	case *minMaxExpr:
		name := "GREATEST("
		if x.least {
			name = "LEAST("
		}
		return name + ex.joinTexts(x.args, ", ", sc, host) + ")"
	case *funcExpr:
		return x.name + "(" + ex.joinTexts(x.args, ", ", sc, host) + ")"
	case *sessionValueExpr:
		return sessionValueText(x.kind, x.typ.OID)
	case *aggRefExpr:
		if x.idx < len(sc.aggs) {
			return ex.aggText(sc.aggs[x.idx], sc, host)
		}
	case *windowRefExpr:
		call := x.collector.calls[x.idx]
		if call.agg != nil {
			return ex.aggText(call.agg, sc, host) + " OVER (?)"
		}
		return call.name + "(" + ex.joinTexts(call.args, ", ", sc, host) + ") OVER (?)"
	case *existsExpr:
		return "(" + ex.subplan(x.sq, host) + ")"
	case *scalarSubqueryExpr:
		return "(" + ex.subplan(x.sq, host) + ")"
	case *quantifiedExpr:
		quantifier := " ANY "
		if x.all {
			quantifier = " ALL "
		}
		left := make([]string, len(x.cmps))
		for i, c := range x.cmps {
			left[i] = t(c.left)
		}
		lhs := left[0]
		if len(left) > 1 {
			lhs = "ROW(" + strings.Join(left, ", ") + ")"
		}
		return "(" + lhs + " " + x.cmps[0].op + quantifier + "(" + ex.subplan(x.sq, host) + "))"
	}
	return "(expression)"
}

func (ex *explainer) joinTexts(exprs []expr, sep string, sc exprScope, host *explainNode) string {
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = ex.exprText(e, sc, host)
	}
	return strings.Join(parts, sep)
}

// columnName names the column at position idx of s, qualified by its
// table when the statement reads more than one relation. fallback is used
// when s does not have the column.
func (ex *explainer) columnName(s *scope, idx int, fallback string) string {
	if s == nil || idx < 0 || idx >= len(s.cols) {
		if fallback == "" {
			return "?column?"
		}
		return quoteIdent(fallback).(string)
	}
	c := s.cols[idx]
	name := quoteIdent(c.name).(string)
	if ex.qualify && c.table != "" {
		return quoteIdent(c.table).(string) + "." + name
	}
	return name
}

func (ex *explainer) aggText(a *aggSpec, sc exprScope, host *explainNode) string {
	arg := "*"
	if a.arg != nil {
		arg = ex.exprText(a.arg, sc, host)
		if a.delimiter != nil {
			arg += ", " + ex.exprText(a.delimiter, sc, host)
		}
	}
	if a.distinct {
		arg = "DISTINCT " + arg
	}
	text := a.name + "(" + arg + ")"
	if a.filter != nil {
		text += " FILTER (WHERE " + ex.exprText(a.filter, sc, host) + ")"
	}
	return text
}

// constText renders a constant as PostgreSQL's EXPLAIN does: integers and
// numerics that are not negative as they are, other values as a quoted
// literal with a cast to their type. PostgreSQL shows a bigint constant
// with a cast, but pgkeep folds integer literals compared with bigint
// columns into bigint constants, so all integers show without one.
func constText(v any, typ catalog.ColumnType) string {
	if v == nil {
		return "NULL"
	}
	if b, ok := v.(bool); ok {
		return strconv.FormatBool(b)
	}
	text := formatDatum(v, typ.OID)
	switch typ.OID {
	case oidInt2, oidInt4, oidInt8, oidNumeric:
		if !strings.HasPrefix(text, "-") {
			return text
		}
	case oidUnknown:
		return quoteLiteral(text).(string)
	}
	return quoteLiteral(text).(string) + "::" + formatType(typ)
}

func sessionValueText(kind string, oid uint32) string {
	switch kind {
	case "user":
		return "CURRENT_USER"
	case "session_user":
		return "SESSION_USER"
	case "database":
		return "CURRENT_CATALOG"
	case "schema":
		return "CURRENT_SCHEMA"
	case "now":
		if oid == oidTimestamp {
			return "LOCALTIMESTAMP"
		}
		return "CURRENT_TIMESTAMP"
	case "today":
		return "CURRENT_DATE"
	}
	return strings.ToUpper(kind)
}
