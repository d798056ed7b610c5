package executor

import (
	"strconv"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// This file compares row constructors: (a, b) = (1, 2), (a, b) < (x, y)
// as keyset pagination writes it, and (a, b) IN ((1, 2), (3, 4)).
// PostgreSQL compares the fields from left to right and stops at the
// first pair that is not equal. A NULL in that pair makes the result
// NULL.

// rowCompareExpr is row op row for one of = <> < <= > >=.
type rowCompareExpr struct {
	op string
	// eq compares each pair of fields with =, and ord with op for the
	// ordering operators.
	eq, ord []expr
}

func (e *rowCompareExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func (e *rowCompareExpr) eval(ec *evalContext, row []any) (any, error) {
	switch e.op {
	case "=", "<>":
		sawNull := false
		for _, eq := range e.eq {
			v, err := eq.eval(ec, row)
			if err != nil {
				return nil, err
			}
			if v == nil {
				sawNull = true
				continue
			}
			if v == false {
				return e.op == "<>", nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return e.op == "=", nil
	}
	for i, eq := range e.eq {
		v, err := eq.eval(ec, row)
		if err != nil || v == nil {
			return nil, err
		}
		if v == false {
			return e.ord[i].eval(ec, row)
		}
	}
	return e.op == "<=" || e.op == ">=", nil
}

// rowFields returns the fields of a row constructor node, or nil when n is
// not one.
func rowFields(n *pg_query.Node) []*pg_query.Node {
	if r := n.GetRowExpr(); r != nil {
		return r.Args
	}
	return nil
}

// buildRowCompare compiles row op row.
func (b *builder) buildRowCompare(op string, left, right []*pg_query.Node, location int32) (expr, error) {
	switch op {
	case "=", "<>", "<", "<=", ">", ">=":
	default:
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "row comparison with operator %s is not supported", op).WithPosition(location + 1)
	}
	if len(left) != len(right) {
		return nil, pgerror.New(pgcode.SyntaxError, "unequal number of entries in row expressions").WithPosition(location + 1)
	}
	if len(left) == 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "cannot compare rows of zero length").WithPosition(location + 1)
	}
	e := &rowCompareExpr{op: op}
	for i := range left {
		eq, err := b.buildBinary("=", left[i], right[i], location)
		if err != nil {
			return nil, err
		}
		e.eq = append(e.eq, eq)
		if op == "=" || op == "<>" {
			continue
		}
		ord, err := b.buildBinary(op, left[i], right[i], location)
		if err != nil {
			return nil, err
		}
		e.ord = append(e.ord, ord)
	}
	return e, nil
}

// buildRowIn compiles row [NOT] IN (row, ...) as the OR of the row
// equalities, negated for NOT IN.
func (b *builder) buildRowIn(op string, left []*pg_query.Node, ae *pg_query.A_Expr) (expr, error) {
	list := ae.Rexpr.GetList()
	if list == nil {
		return nil, pgerror.NotSupported("IN with a subquery")
	}
	or := &orExpr{}
	for _, item := range list.Items {
		fields := rowFields(item)
		if fields == nil {
			return nil, pgerror.New(pgcode.SyntaxError, "unequal number of entries in row expressions").WithPosition(ae.Location + 1)
		}
		eq, err := b.buildRowCompare("=", left, fields, ae.Location)
		if err != nil {
			return nil, err
		}
		or.args = append(or.args, eq)
	}
	if op == "<>" {
		return &notExpr{arg: or}, nil
	}
	return or, nil
}

// buildRowConstructor builds ROW(a, b) or (a, b) outside a comparison as a
// record whose fields PostgreSQL names f1, f2 and so on.
func (b *builder) buildRowConstructor(r *pg_query.RowExpr) (expr, error) {
	w := &wholeRowExpr{}
	for i, n := range r.Args {
		e, err := b.build(n)
		if err != nil {
			return nil, err
		}
		if e.resultType().OID == oidUnknown {
			if e, err = b.castTo(e, plainType(oidText), false); err != nil {
				return nil, err
			}
		}
		w.cols = append(w.cols, e)
		w.fields = append(w.fields, scopeColumn{name: "f" + strconv.Itoa(i+1), typ: e.resultType(), fields: recordFields(e)})
	}
	return w, nil
}
