package executor

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"

	"github.com/cockroachdb/apd/v3"
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
	// fields are the fields of a record column (see record.go).
	fields []scopeColumn
}

func (e *outerColumnExpr) eval(ec *evalContext, _ []any) (any, error) {
	at := len(ec.outer) - e.depth
	if at < 0 {
		return nil, pgerror.Internal("outer column reference without an outer row")
	}
	return ec.outer[at][e.idx], nil
}

func (e *outerColumnExpr) resultType() catalog.ColumnType { return e.typ }

// outerAggRefExpr reads an aggregate of an enclosing query, whose
// arguments read only that query's columns, such as max(t.b) in
// SELECT (SELECT count(*) FROM u WHERE u.v < max(t.b)) FROM t. depth
// counts levels as in outerColumnExpr.
type outerAggRefExpr struct {
	depth int
	idx   int
	typ   catalog.ColumnType
	// spec is the call, for EXPLAIN.
	spec *aggSpec
}

func (e *outerAggRefExpr) eval(ec *evalContext, _ []any) (any, error) {
	// The value is not among a subquery's memo keys, so the read counts
	// as volatile.
	ec.volatileCalls++
	at := len(ec.outerAggValues) - e.depth
	if at < 0 || e.idx >= len(ec.outerAggValues[at]) {
		return nil, pgerror.Internal("reference to an aggregate of an enclosing query outside its group")
	}
	return ec.outerAggValues[at][e.idx], nil
}

func (e *outerAggRefExpr) resultType() catalog.ColumnType { return e.typ }

// pushOuter makes row, and the aggregate values of its group, the
// enclosing query's current row for a subquery about to run.
func (ec *evalContext) pushOuter(row []any) {
	ec.outer = append(ec.outer, row)
	ec.outerAggValues = append(ec.outerAggValues, ec.aggValues)
}

func (ec *evalContext) popOuter() {
	ec.outer = ec.outer[:len(ec.outer)-1]
	ec.outerAggValues = ec.outerAggValues[:len(ec.outerAggValues)-1]
}

// subquery is an analysed subquery used in an expression.
type subquery struct {
	plan *selectPlan
	// correlated subqueries read the current row of the enclosing query and
	// run again for every row; the others run once per execution.
	correlated bool
	// reads are the columns of enclosing queries that a correlated
	// subquery reads, itself or through the queries nested in it.
	reads []outerColumn
	// outerAggs are the aggregates of enclosing queries that the subquery
	// uses, itself or through the queries nested in it.
	outerAggs []*aggSpec
}

// outerColumn is the column at idx of the row of an enclosing query,
// depth levels up as in outerColumnExpr.
type outerColumn struct {
	depth, idx int
}

// maxMemoRows bounds the rows of the results that one execution keeps
// of one correlated subquery, so that memory stays bounded when the
// results are large. Later results are computed but not kept.
const maxMemoRows = 1 << 16

// subqueryMemo holds a correlated subquery's results by memo key.
type subqueryMemo struct {
	results map[string][][]any
	// rows counts the rows of results.
	rows int
}

// rows runs the subquery with row as the enclosing query's current row.
//
// A correlated subquery's result is kept for the values of the enclosing
// columns it reads, and reused for the next row with the same values,
// like PostgreSQL's Memoize node. The result of a run that called a
// volatile function, or read an aggregate of an enclosing query, is not
// kept, because it may differ for the same values. Every other input is
// the same for the whole execution: parameters, the snapshot and now().
func (sq *subquery) rows(ec *evalContext, row []any) ([][]any, error) {
	if !sq.correlated {
		if rows, ok := ec.subqueryRows[sq]; ok {
			return rows, nil
		}
	}
	var memoKey string
	memoizable := false
	if sq.correlated {
		memoKey, memoizable = sq.memoKey(ec, row)
		if memo := ec.subqueryMemo[sq]; memoizable && memo != nil {
			if rows, ok := memo.results[memoKey]; ok {
				return rows, nil
			}
		}
	}
	volatileCalls := ec.volatileCalls
	ec.pushOuter(row)
	// A subquery with aggregates of its own replaces ec.aggValues, which
	// the enclosing query's group still reads afterwards.
	aggValues := ec.aggValues
	rows, err := materialize(ec, sq.plan)
	ec.aggValues = aggValues
	ec.popOuter()
	if err != nil {
		return nil, err
	}
	if !sq.correlated {
		if ec.subqueryRows == nil {
			ec.subqueryRows = map[*subquery][][]any{}
		}
		ec.subqueryRows[sq] = rows
	}
	if memoizable && ec.volatileCalls == volatileCalls {
		if ec.subqueryMemo == nil {
			ec.subqueryMemo = map[*subquery]*subqueryMemo{}
		}
		memo := ec.subqueryMemo[sq]
		if memo == nil {
			memo = &subqueryMemo{results: map[string][][]any{}}
			ec.subqueryMemo[sq] = memo
		}
		// An empty result still costs its key, so it counts as a row.
		if n := max(len(rows), 1); memo.rows+n <= maxMemoRows {
			memo.results[memoKey] = rows
			memo.rows += n
		}
	}
	return rows, nil
}

// memoKey encodes the values of the enclosing columns that sq reads, with
// row as the current row of the query around it. ok is false for a value
// of a type that appendMemoKeyValue does not encode exactly.
func (sq *subquery) memoKey(ec *evalContext, row []any) (key string, ok bool) {
	var buf []byte
	for _, c := range sq.reads {
		frame := row
		if c.depth > 1 {
			at := len(ec.outer) - (c.depth - 1)
			if at < 0 {
				return "", false
			}
			frame = ec.outer[at]
		}
		if c.idx >= len(frame) {
			return "", false
		}
		if buf, ok = appendMemoKeyValue(buf, frame[c.idx]); !ok {
			return "", false
		}
	}
	return string(buf), true
}

// appendMemoKeyValue appends an encoding of v that differs for any two
// values that print differently, such as 1.5 and 1.50.
func appendMemoKeyValue(buf []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(buf, 'N'), true
	case bool:
		if x {
			return append(buf, 'T'), true
		}
		return append(buf, 'F'), true
	case int64:
		return binary.BigEndian.AppendUint64(append(buf, 'i'), uint64(x)), true
	case float64:
		return binary.BigEndian.AppendUint64(append(buf, 'f'), math.Float64bits(x)), true
	case *apd.Decimal:
		return appendMemoKeyBytes(append(buf, 'n'), x.String()), true
	case string:
		return appendMemoKeyBytes(append(buf, 's'), x), true
	case []byte:
		return appendMemoKeyBytes(append(buf, 'b'), string(x)), true
	case [16]byte:
		return append(append(buf, 'u'), x[:]...), true
	}
	return buf, false
}

func appendMemoKeyBytes(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func (b *builder) buildSubLink(sl *pg_query.SubLink) (expr, error) {
	if b.an == nil {
		return nil, pgerror.Newf(pgcode.FeatureNotSupported, "cannot use subquery in %s", b.clause)
	}
	b.an.noteSubquery(sl.Subselect.GetSelectStmt())
	child := b.an.child(b.scope)
	child.outerBuilder = b
	var reads []scopeColumnRef
	var outerAggs []*aggSpec
	child.outerReads, child.outerAggs = &reads, &outerAggs
	sp, err := child.analyseSelect(sl.Subselect.GetSelectStmt())
	if err != nil {
		return nil, err
	}
	sq := &subquery{plan: sp, correlated: sp.scope.correlated || len(reads) > 0, outerAggs: outerAggs}
	for _, r := range reads {
		// The subquery's own level is one below b's.
		depth := 1
		for s := b.scope; s != nil && s != r.level; s = s.parent {
			depth++
		}
		if c := (outerColumn{depth: depth, idx: r.idx}); !slices.Contains(sq.reads, c) {
			sq.reads = append(sq.reads, c)
		}
	}

	switch sl.SubLinkType {
	case pg_query.SubLinkType_EXISTS_SUBLINK:
		return &existsExpr{sq: sq}, nil
	case pg_query.SubLinkType_EXPR_SUBLINK:
		if len(sp.targets) != 1 {
			return nil, pgerror.New(pgcode.SyntaxError, "subquery must return only one column").WithPosition(sl.Location + 1)
		}
		if b.an.subqueryNames == nil {
			b.an.subqueryNames = map[*pg_query.SubLink]string{}
		}
		b.an.subqueryNames[sl] = sp.names[0]
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
// x op ALL (subquery), also with a row (x, y) IN (subquery) on the left.
func (b *builder) buildQuantifiedSubquery(sl *pg_query.SubLink, sq *subquery) (expr, error) {
	leftNodes := []*pg_query.Node{sl.Testexpr}
	if re := sl.Testexpr.GetRowExpr(); re != nil {
		leftNodes = re.Args
	}
	switch {
	case len(sq.plan.targets) > len(leftNodes):
		return nil, pgerror.New(pgcode.SyntaxError, "subquery has too many columns").WithPosition(sl.Location + 1)
	case len(sq.plan.targets) < len(leftNodes):
		return nil, pgerror.New(pgcode.SyntaxError, "subquery has too few columns").WithPosition(sl.Location + 1)
	}
	op := "="
	if len(sl.OperName) > 0 {
		op = sl.OperName[len(sl.OperName)-1].GetString_().GetSval()
	}
	if len(leftNodes) > 1 && op != "=" && op != "<>" {
		return nil, pgerror.NotSupported("row comparison with " + op + " against a subquery")
	}
	q := &quantifiedExpr{sq: sq, all: sl.SubLinkType == pg_query.SubLinkType_ALL_SUBLINK}
	for i, n := range leftNodes {
		left, err := b.build(n)
		if err != nil {
			return nil, err
		}
		// Each comparison is compiled over a left value and the column of
		// a subquery row that it faces.
		item := &columnExpr{idx: i, typ: sq.plan.targets[i].resultType()}
		cmpExpr, err := b.binary(op, left, item, sl.Location)
		if err != nil {
			return nil, err
		}
		cmp, ok := cmpExpr.(*compareExpr)
		if !ok {
			return nil, pgerror.Newf(pgcode.DatatypeMismatch, "operator %s is not a comparison", op)
		}
		q.cmps = append(q.cmps, cmp)
	}
	return q, nil
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
// A row on the left compares column by column, and is NULL when no column
// differs but one is NULL.
type quantifiedExpr struct {
	sq   *subquery
	cmps []*compareExpr
	all  bool
}

func (e *quantifiedExpr) eval(ec *evalContext, row []any) (any, error) {
	rows, err := e.sq.rows(ec, row)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return e.all, nil
	}
	// The left side reads the enclosing row; the right side reads the
	// columns of a subquery row.
	lefts := make([]any, len(e.cmps))
	for i, c := range e.cmps {
		if lefts[i], err = c.left.eval(ec, row); err != nil {
			return nil, err
		}
	}
	sawNull := false
	for _, r := range rows {
		res, err := e.compareRow(ec, lefts, r)
		if err != nil {
			return nil, err
		}
		switch {
		case res == nil:
			sawNull = true
		case res == true && !e.all:
			return true, nil
		case res == false && e.all:
			return false, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.all, nil
}

// compareRow compares the left values with one subquery row: true, false
// or NULL (nil).
func (e *quantifiedExpr) compareRow(ec *evalContext, lefts []any, r []any) (any, error) {
	sawNull := false
	for i, c := range e.cmps {
		right, err := c.right.eval(ec, r)
		if err != nil {
			return nil, err
		}
		if lefts[i] == nil || right == nil {
			sawNull = true
			continue
		}
		l, rv := lefts[i], right
		if c.bpchar {
			l, rv = trimBpchar(l), trimBpchar(rv)
		}
		res := compareResult(c.op, compareTyped(l, rv, c.typ))
		if len(e.cmps) == 1 {
			return res, nil
		}
		// For a row, = fails on the first unequal column and <> holds on it.
		if c.op == "=" && !res {
			return false, nil
		}
		if c.op == "<>" && res {
			return true, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.cmps[0].op == "=", nil
}

func (e *quantifiedExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func trimBpchar(v any) any {
	if s, ok := v.(string); ok {
		return strings.TrimRight(s, " ")
	}
	return v
}
