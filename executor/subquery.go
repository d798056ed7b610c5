package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// outerColumnExpr reads a column of an enclosing query's current row, for
// correlated subqueries. depth 1 is the query directly around this one.
type outerColumnExpr struct {
	depth int
	idx   int
	typ   catalog.ColumnType
}

func (e *outerColumnExpr) eval(ec *evalContext, _ []any) (any, error) {
	at := len(ec.outer) - e.depth
	if at < 0 {
		return nil, pgerror.Internal("outer column reference without an outer row")
	}
	return ec.outer[at][e.idx], nil
}

func (e *outerColumnExpr) resultType() catalog.ColumnType { return e.typ }

// subquery is an analysed subquery used in an expression.
type subquery struct {
	plan *selectPlan
	// correlated subqueries read the current row of the enclosing query and
	// run again for every row; the others run once per execution.
	correlated bool
}

// rows runs the subquery with row as the enclosing query's current row.
func (sq *subquery) rows(ec *evalContext, row []any) ([][]any, error) {
	if !sq.correlated {
		if rows, ok := ec.subqueryRows[sq]; ok {
			return rows, nil
		}
	}
	ec.outer = append(ec.outer, row)
	rows, err := materialize(ec, sq.plan)
	ec.outer = ec.outer[:len(ec.outer)-1]
	if err != nil {
		return nil, err
	}
	if !sq.correlated {
		if ec.subqueryRows == nil {
			ec.subqueryRows = map[*subquery][][]any{}
		}
		ec.subqueryRows[sq] = rows
	}
	return rows, nil
}

func (b *builder) buildSubLink(sl *pg_query.SubLink) (expr, error) {
	if b.an == nil {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "cannot use subquery in %s", b.clause)
	}
	child := b.an.child(b.scope)
	sp, err := child.analyseSelect(sl.Subselect.GetSelectStmt())
	if err != nil {
		return nil, err
	}
	sq := &subquery{plan: sp, correlated: sp.scope.correlated}

	switch sl.SubLinkType {
	case pg_query.SubLinkType_EXISTS_SUBLINK:
		return &existsExpr{sq: sq}, nil
	case pg_query.SubLinkType_EXPR_SUBLINK:
		if len(sp.targets) != 1 {
			return nil, pgerror.New(pgcode.SyntaxError, "subquery must return only one column").WithPosition(sl.Location + 1)
		}
		typ := sp.targets[0].resultType()
		if typ.OID == oidUnknown {
			typ = plainType(oidText)
		}
		return &scalarSubqueryExpr{sq: sq, typ: typ}, nil
	case pg_query.SubLinkType_ANY_SUBLINK, pg_query.SubLinkType_ALL_SUBLINK:
		return b.buildQuantifiedSubquery(sl, sq)
	case pg_query.SubLinkType_ARRAY_SUBLINK:
		return b.buildArraySubquery(sl, sq)
	}
	return nil, pgerror.NotSupported("this kind of subquery")
}

// buildQuantifiedSubquery compiles x IN (subquery), x op ANY (subquery) and
// x op ALL (subquery).
func (b *builder) buildQuantifiedSubquery(sl *pg_query.SubLink, sq *subquery) (expr, error) {
	if len(sq.plan.targets) != 1 {
		return nil, pgerror.New(pgcode.SyntaxError, "subquery has too many columns").WithPosition(sl.Location + 1)
	}
	left, err := b.build(sl.Testexpr)
	if err != nil {
		return nil, err
	}
	op := "="
	if len(sl.OperName) > 0 {
		op = sl.OperName[len(sl.OperName)-1].GetString_().GetSval()
	}
	// The comparison is compiled over the left value and a column holding
	// one value of the subquery.
	item := &columnExpr{idx: 0, typ: sq.plan.targets[0].resultType()}
	cmpExpr, err := b.binary(op, left, item, sl.Location)
	if err != nil {
		return nil, err
	}
	cmp, ok := cmpExpr.(*compareExpr)
	if !ok {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "operator %s is not a comparison", op)
	}
	return &quantifiedExpr{sq: sq, cmp: cmp, all: sl.SubLinkType == pg_query.SubLinkType_ALL_SUBLINK}, nil
}

type existsExpr struct{ sq *subquery }

func (e *existsExpr) eval(ec *evalContext, row []any) (any, error) {
	rows, err := e.sq.rows(ec, row)
	if err != nil {
		return nil, err
	}
	return len(rows) > 0, nil
}

func (e *existsExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

type scalarSubqueryExpr struct {
	sq  *subquery
	typ catalog.ColumnType
}

func (e *scalarSubqueryExpr) eval(ec *evalContext, row []any) (any, error) {
	rows, err := e.sq.rows(ec, row)
	if err != nil {
		return nil, err
	}
	switch len(rows) {
	case 0:
		return nil, nil
	case 1:
		return rows[0][0], nil
	}
	return nil, pgerror.New(pgcode.CardinalityViolation, "more than one row returned by a subquery used as an expression")
}

func (e *scalarSubqueryExpr) resultType() catalog.ColumnType { return e.typ }

// quantifiedExpr is x op ANY (subquery), which IN is, or x op ALL
// (subquery), with SQL's NULL rules: ANY is NULL when nothing matched but
// a comparison was NULL, ALL is NULL when nothing failed but one was NULL.
type quantifiedExpr struct {
	sq  *subquery
	cmp *compareExpr
	all bool
}

func (e *quantifiedExpr) eval(ec *evalContext, row []any) (any, error) {
	rows, err := e.sq.rows(ec, row)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return e.all, nil
	}
	// The left side reads the enclosing row; the right side reads the one
	// column of a subquery row.
	left, err := e.cmp.left.eval(ec, row)
	if err != nil {
		return nil, err
	}
	if left == nil {
		return nil, nil
	}
	sawNull := false
	for _, r := range rows {
		right, err := e.cmp.right.eval(ec, r)
		if err != nil {
			return nil, err
		}
		if right == nil {
			sawNull = true
			continue
		}
		l, rv := left, right
		if e.cmp.bpchar {
			l, rv = trimBpchar(l), trimBpchar(rv)
		}
		res := compareResult(e.cmp.op, compareDatums(l, rv))
		switch {
		case res && !e.all:
			return true, nil
		case !res && e.all:
			return false, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.all, nil
}

func (e *quantifiedExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func trimBpchar(v any) any {
	if s, ok := v.(string); ok {
		return strings.TrimRight(s, " ")
	}
	return v
}
