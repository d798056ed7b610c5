package executor

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// arrayExpr is the ARRAY[...] constructor. When its elements are arrays
// themselves it builds an array of one more dimension.
type arrayExpr struct {
	elems []expr
	typ   catalog.ColumnType
	// nested is set when the elements are sub-arrays.
	nested bool
}

// buildArrayExpr types ARRAY[...] like PostgreSQL: the elements take their
// common type, unknown literals become text, and an explicit cast of the
// whole constructor (hint, zero when there is none) gives the element type
// directly, which ARRAY[] needs.
func (b *builder) buildArrayExpr(ae *pg_query.A_ArrayExpr, hint catalog.ColumnType) (expr, error) {
	elems := make([]expr, len(ae.Elements))
	anyNested := false
	for i, n := range ae.Elements {
		var err error
		if sub := n.GetAArrayExpr(); sub != nil {
			elems[i], err = b.buildArrayExpr(sub, hint)
			anyNested = true
		} else {
			elems[i], err = b.build(n)
		}
		if err != nil {
			return nil, err
		}
	}

	if hint.OID != 0 && isArrayType(hint.OID) {
		elem := elemType(hint)
		nested := anyNested || (len(elems) > 0 && isArrayType(elems[0].resultType().OID))
		for i, e := range elems {
			want := elem
			if nested {
				want = hint
			}
			c, err := b.castTo(e, want, false)
			if err != nil {
				return nil, err
			}
			elems[i] = c
		}
		return &arrayExpr{elems: elems, typ: hint, nested: nested}, nil
	}
	if len(elems) == 0 {
		return nil, pgerror.New(pgcode.IndeterminateDatatype, "cannot determine type of empty array").
			WithHint("Explicitly cast to the desired type, for example ARRAY[]::integer[].").WithPosition(ae.Location + 1)
	}

	common, err := b.unifyAll(elems, "ARRAY")
	if err != nil {
		return nil, err
	}
	typ := common
	nested := isArrayType(common.OID)
	if !nested {
		oid, err := checkArrayElemType(common.OID)
		if err != nil {
			return nil, err
		}
		typ = plainType(oid)
	}
	for i, e := range elems {
		if elems[i], err = b.castTo(e, common, false); err != nil {
			return nil, err
		}
	}
	return &arrayExpr{elems: elems, typ: typ, nested: nested}, nil
}

func (e *arrayExpr) resultType() catalog.ColumnType { return e.typ }

func (e *arrayExpr) eval(ec *evalContext, row []any) (any, error) {
	out := make([]any, len(e.elems))
	for i, el := range e.elems {
		v, err := el.eval(ec, row)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	if !e.nested {
		return out, nil
	}
	return stackArrays(out)
}

// stackArrays makes sub-arrays the rows of an array of one more
// dimension. NULL and empty sub-arrays count as empty, and the result is
// empty when all of them are. Otherwise all must have the same
// dimensions.
func stackArrays(subs []any) ([]any, error) {
	var dims []int
	empty := 0
	for _, v := range subs {
		sub, _ := v.([]any)
		if len(sub) == 0 {
			empty++
			continue
		}
		d := arrayDims(sub)
		if dims != nil && !equalInts(d, dims) {
			return nil, mismatchedSubArrays()
		}
		dims = d
	}
	if empty == len(subs) {
		return []any{}, nil
	}
	if empty > 0 {
		return nil, mismatchedSubArrays()
	}
	if len(dims)+1 > maxArrayDims {
		return nil, tooManyArrayDims(len(dims) + 1)
	}
	return subs, nil
}

func mismatchedSubArrays() error {
	return pgerror.New(pgcode.ArraySubscriptError, "multidimensional arrays must have array expressions with matching dimensions")
}

// anyArrayExpr is x op ANY (array) and x op ALL (array).
type anyArrayExpr struct {
	left, array expr
	// test applies the operator to a two-value row: the left value and
	// one element.
	test expr
	all  bool
}

func (b *builder) buildAnyArray(ae *pg_query.A_Expr, op string) (expr, error) {
	left, err := b.build(ae.Lexpr)
	if err != nil {
		return nil, err
	}
	array, err := b.build(ae.Rexpr)
	if err != nil {
		return nil, err
	}
	if array, err = b.castVectorToArray(array); err != nil {
		return nil, err
	}
	if array.resultType().OID == oidUnknown {
		lt := left.resultType().OID
		if lt == oidUnknown {
			lt = oidText
		}
		if array, err = b.castTo(array, plainType(arrayOf(lt)), false); err != nil {
			return nil, err
		}
	}
	elem := arrayElem(array.resultType().OID)
	if elem == 0 {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "op ANY/ALL (array) requires array on right side").WithPosition(ae.Location + 1)
	}
	if left.resultType().OID == oidUnknown {
		if left, err = b.castTo(left, plainType(elem), false); err != nil {
			return nil, err
		}
	}

	test, err := b.binary(op, &columnExpr{idx: 0, typ: left.resultType()}, &columnExpr{idx: 1, typ: plainType(elem)}, ae.Location)
	if err != nil {
		return nil, err
	}
	if test.resultType().OID != oidBool {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "op ANY/ALL (array) requires operator to yield boolean").WithPosition(ae.Location + 1)
	}
	return &anyArrayExpr{left: left, array: array, test: test, all: ae.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL}, nil
}

func (e *anyArrayExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

// eval follows SQL's rules: an empty array gives false for ANY and true
// for ALL, and a NULL comparison that decides nothing makes the result
// NULL.
func (e *anyArrayExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.array.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	items := arrayElements(v.([]any))
	if len(items) == 0 {
		return e.all, nil
	}
	left, err := e.left.eval(ec, row)
	if err != nil {
		return nil, err
	}
	sawNull := false
	pair := []any{left, nil}
	for _, item := range items {
		pair[1] = item
		res, err := e.test.eval(ec, pair)
		if err != nil {
			return nil, err
		}
		if res == nil {
			sawNull = true
			continue
		}
		if res.(bool) != e.all {
			return res, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return e.all, nil
}

// subscriptExpr is array[i][j]...: the element at those positions, or
// NULL when a position is out of range or the number of subscripts is
// not the number of dimensions. int2vector and oidvector values count
// from 0, as in PostgreSQL.
type subscriptExpr struct {
	arg     expr
	indexes []expr
	typ     uint32
}

// sliceExpr is array[lo:hi]...: the sub-array within those bounds, which
// PostgreSQL numbers from 1 again. A missing bound means the array's own,
// and a plain subscript i among slices means 1:i.
type sliceExpr struct {
	arg expr
	// lower and upper hold one bound per subscript, nil where omitted.
	lower, upper []expr
	typ          uint32
}

// buildIndirection builds subscripts such as a[1] and a[1:2] and field
// selections such as (r).x, applied left to right.
func (b *builder) buildIndirection(ind *pg_query.A_Indirection) (expr, error) {
	arg, err := b.build(ind.Arg)
	if err != nil {
		return nil, err
	}
	var run []*pg_query.A_Indices
	for _, n := range ind.Indirection {
		if idx := n.GetAIndices(); idx != nil {
			run = append(run, idx)
			continue
		}
		if len(run) > 0 {
			if arg, err = b.buildSubscripts(arg, run); err != nil {
				return nil, err
			}
			run = nil
		}
		field := n.GetString_()
		if field == nil {
			return nil, pgerror.NotSupported("expanding a composite value with .*").WithPosition(nodeLocation(ind.Arg) + 1)
		}
		if arg, err = b.buildFieldSelection(arg, field.Sval, nodeLocation(ind.Arg)); err != nil {
			return nil, err
		}
	}
	if len(run) == 0 {
		return arg, nil
	}
	return b.buildSubscripts(arg, run)
}

// nodeLocation returns the location in the statement of the expression
// kinds that record one, or -1.
func nodeLocation(n *pg_query.Node) int32 {
	switch {
	case n.GetFuncCall() != nil:
		return n.GetFuncCall().Location
	case n.GetColumnRef() != nil:
		return n.GetColumnRef().Location
	case n.GetAConst() != nil:
		return n.GetAConst().Location
	case n.GetTypeCast() != nil:
		return n.GetTypeCast().Location
	case n.GetAExpr() != nil:
		return n.GetAExpr().Location
	}
	return -1
}

// buildSubscripts applies a run of subscripts or slices to arg.
func (b *builder) buildSubscripts(arg expr, run []*pg_query.A_Indices) (expr, error) {
	var err error
	at := arg.resultType().OID
	if at == oidJSONB {
		return b.buildJSONBSubscripts(arg, run)
	}
	elem := arrayElem(at)
	if elem == 0 {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", typeName(at))
	}

	slice := false
	for _, idx := range run {
		slice = slice || idx.IsSlice
	}
	if !slice {
		e := &subscriptExpr{arg: arg, typ: elem}
		for _, idx := range run {
			i, err := b.buildSubscript(idx.Uidx)
			if err != nil {
				return nil, err
			}
			e.indexes = append(e.indexes, i)
		}
		return e, nil
	}

	if isVectorType(at) {
		if arg, err = b.castVectorToArray(arg); err != nil {
			return nil, err
		}
		at = arg.resultType().OID
	}
	e := &sliceExpr{arg: arg, typ: at}
	for _, idx := range run {
		var lo, hi expr
		if idx.IsSlice && idx.Lidx != nil {
			if lo, err = b.buildSubscript(idx.Lidx); err != nil {
				return nil, err
			}
		}
		if !idx.IsSlice {
			lo = &constExpr{val: int64(1), typ: plainType(oidInt4)}
		}
		if idx.Uidx != nil {
			if hi, err = b.buildSubscript(idx.Uidx); err != nil {
				return nil, err
			}
		}
		e.lower = append(e.lower, lo)
		e.upper = append(e.upper, hi)
	}
	return e, nil
}

// buildSubscript builds one subscript, which must convert implicitly to
// integer.
func (b *builder) buildSubscript(n *pg_query.Node) (expr, error) {
	e, err := b.build(n)
	if err != nil {
		return nil, err
	}
	t := e.resultType().OID
	if t != oidUnknown && !isNumericType(t) {
		return nil, pgerror.New(pgcode.DatatypeMismatch, "array subscript must have type integer")
	}
	return b.castTo(e, plainType(oidInt4), false)
}

func (e *subscriptExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *subscriptExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	positions := make([]int64, len(e.indexes))
	for k, ie := range e.indexes {
		i, err := ie.eval(ec, row)
		if err != nil || i == nil {
			return nil, err
		}
		positions[k] = i.(int64)
	}
	if s, ok := v.(string); ok {
		// int2vector and oidvector text such as "1 2", counted from 0.
		fields := strings.Fields(s)
		if len(positions) != 1 || positions[0] < 0 || positions[0] >= int64(len(fields)) {
			return nil, nil
		}
		return parseDatum(fields[positions[0]], plainType(e.typ), nil)
	}
	cur := v.([]any)
	for k, pos := range positions {
		if pos < 1 || pos > int64(len(cur)) {
			return nil, nil
		}
		item := cur[pos-1]
		sub, isSub := item.([]any)
		last := k == len(positions)-1
		switch {
		case last && isSub, !last && !isSub:
			// Fewer or more subscripts than dimensions.
			return nil, nil
		case last:
			return item, nil
		}
		cur = sub
	}
	return nil, nil
}

func (e *sliceExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *sliceExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	a := v.([]any)
	dims := arrayDims(a)
	if len(e.lower) > len(dims) {
		return []any{}, nil
	}
	lows := make([]int, len(dims))
	highs := make([]int, len(dims))
	for k := range dims {
		lows[k], highs[k] = 1, dims[k]
		if k >= len(e.lower) {
			continue
		}
		for _, bound := range []struct {
			e   expr
			out *int
		}{{e.lower[k], &lows[k]}, {e.upper[k], &highs[k]}} {
			if bound.e == nil {
				continue
			}
			b, err := bound.e.eval(ec, row)
			if err != nil || b == nil {
				return nil, err
			}
			*bound.out = int(max(min(b.(int64), 1<<31), -1<<31))
		}
		lows[k], highs[k] = max(lows[k], 1), min(highs[k], dims[k])
		if lows[k] > highs[k] {
			return []any{}, nil
		}
	}
	return sliceArray(a, lows, highs), nil
}

// sliceArray copies the part of a within lows and highs, 1-based and
// inclusive, one pair per dimension.
func sliceArray(a []any, lows, highs []int) []any {
	part := a[lows[0]-1 : highs[0]]
	out := make([]any, len(part))
	for i, v := range part {
		if sub, ok := v.([]any); ok && len(lows) > 1 {
			out[i] = sliceArray(sub, lows[1:], highs[1:])
			continue
		}
		out[i] = v
	}
	return out
}

// arrayConcatExpr is array || array, array || element and element ||
// array.
type arrayConcatExpr struct {
	left, right expr
	typ         uint32
	// leftElem and rightElem are set when that side is an element.
	leftElem, rightElem bool
}

// buildArrayConcat resolves || with an array operand as PostgreSQL's
// anycompatiblearray operators: the element types meet in their common
// type, and an unknown literal is taken as an array.
func (b *builder) buildArrayConcat(l, r expr, location int32) (expr, error) {
	var err error
	if l, err = b.castVectorToArray(l); err != nil {
		return nil, err
	}
	if r, err = b.castVectorToArray(r); err != nil {
		return nil, err
	}
	lt, rt := l.resultType().OID, r.resultType().OID
	fail := func() error { return undefinedOperator("||", typeName(lt), rt, location) }
	elemOf := func(t uint32) uint32 {
		if isArrayType(t) {
			return arrayElem(t)
		}
		return t
	}

	le, re := elemOf(lt), elemOf(rt)
	common, ok := commonType(le, re)
	if !ok {
		return nil, fail()
	}
	if common == oidUnknown {
		common = oidText
	}
	typ := arrayOf(common)
	if typ == 0 {
		return nil, fail()
	}

	e := &arrayConcatExpr{typ: typ}
	cast := func(side expr, t uint32) (expr, bool, error) {
		if isArrayType(t) || t == oidUnknown {
			c, err := b.castTo(side, plainType(typ), false)
			return c, false, err
		}
		c, err := b.castTo(side, plainType(common), false)
		return c, true, err
	}
	if e.left, e.leftElem, err = cast(l, lt); err != nil {
		return nil, err
	}
	if e.right, e.rightElem, err = cast(r, rt); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *arrayConcatExpr) resultType() catalog.ColumnType { return plainType(e.typ) }

func (e *arrayConcatExpr) eval(ec *evalContext, row []any) (any, error) {
	// A NULL operand does not make the result NULL, so both are evaluated.
	l, err := e.left.eval(ec, row)
	if err != nil {
		return nil, err
	}
	r, err := e.right.eval(ec, row)
	if err != nil {
		return nil, err
	}
	switch {
	case e.leftElem:
		return arrayPrepend(l, r)
	case e.rightElem:
		return arrayAppend(l, r)
	}
	return arrayCat(l, r)
}

// arrayAppend is array_append: a NULL array counts as empty, and the
// array must have at most one dimension.
func arrayAppend(a, v any) (any, error) {
	items, _ := a.([]any)
	if isMultiDim(items) {
		return nil, pgerror.New(pgcode.DataException, "argument must be empty or one-dimensional array")
	}
	out := make([]any, len(items), len(items)+1)
	copy(out, items)
	return append(out, v), nil
}

// arrayPrepend is array_prepend.
func arrayPrepend(v, a any) (any, error) {
	items, _ := a.([]any)
	if isMultiDim(items) {
		return nil, pgerror.New(pgcode.DataException, "argument must be empty or one-dimensional array")
	}
	return append([]any{v}, items...), nil
}

// arrayCat is array_cat: NULL or empty arrays add nothing, arrays of the
// same dimensions join along the first one, and an array with one
// dimension less becomes a new row.
func arrayCat(l, r any) (any, error) {
	if l == nil || len(l.([]any)) == 0 {
		if r == nil && l == nil {
			return nil, nil
		}
		if r == nil {
			return l, nil
		}
		return r, nil
	}
	if r == nil || len(r.([]any)) == 0 {
		return l, nil
	}
	a, b := l.([]any), r.([]any)
	da, db := arrayDims(a), arrayDims(b)
	incompatible := func(detail string) error {
		return pgerror.New(pgcode.ArraySubscriptError, "cannot concatenate incompatible arrays").WithDetail(detail)
	}
	switch {
	case len(da) == len(db):
		if !equalInts(da[1:], db[1:]) {
			return nil, incompatible("Arrays with differing element dimensions are not compatible for concatenation.")
		}
		return append(append(make([]any, 0, len(a)+len(b)), a...), b...), nil
	case len(da) == len(db)+1:
		if !equalInts(da[1:], db) {
			return nil, incompatible("Arrays with differing dimensions are not compatible for concatenation.")
		}
		return append(append(make([]any, 0, len(a)+1), a...), b), nil
	case len(db) == len(da)+1:
		if !equalInts(db[1:], da) {
			return nil, incompatible("Arrays with differing dimensions are not compatible for concatenation.")
		}
		return append([]any{a}, b...), nil
	}
	return nil, incompatible("Arrays of " + itoa(int64(len(da))) + " and " + itoa(int64(len(db))) + " dimensions are not compatible for concatenation.")
}

// arrayContainsExpr is array @> array, <@ and && (overlap). NULL elements
// match nothing, as in PostgreSQL.
type arrayContainsExpr struct {
	left, right expr
	// overlap selects &&, and false selects whether the left array
	// contains the right.
	overlap bool
}

// buildArrayOperator builds @>, <@ and && between arrays of the same type,
// an unknown literal taking the other side's type. ok is false when
// neither side is an array.
func (b *builder) buildArrayOperator(op string, l, r expr, location int32) (e expr, ok bool, err error) {
	if op != "@>" && op != "<@" && op != "&&" {
		return nil, false, nil
	}
	lt, rt := l.resultType().OID, r.resultType().OID
	if !isArrayType(lt) && !isArrayType(rt) {
		return nil, false, nil
	}
	switch {
	case lt == oidUnknown:
		l, err = b.castTo(l, plainType(rt), false)
	case rt == oidUnknown:
		r, err = b.castTo(r, plainType(lt), false)
	case lt != rt:
		return nil, true, undefinedOperator(op, typeName(lt), rt, location)
	}
	if err != nil {
		return nil, true, err
	}
	if op == "<@" {
		l, r = r, l
	}
	return &arrayContainsExpr{left: l, right: r, overlap: op == "&&"}, true, nil
}

func (e *arrayContainsExpr) resultType() catalog.ColumnType { return plainType(oidBool) }

func (e *arrayContainsExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil || r == nil {
		return nil, err
	}
	outer, inner := arrayElements(l.([]any)), arrayElements(r.([]any))
	elem := arrayElem(e.left.resultType().OID)
	for _, x := range inner {
		found := false
		for _, y := range outer {
			if x != nil && y != nil && compareTyped(x, y, elem) == 0 {
				found = true
				break
			}
		}
		if found && e.overlap {
			return true, nil
		}
		if !found && !e.overlap {
			return false, nil
		}
	}
	return !e.overlap, nil
}

// arraySetExpr is the new value of an array column after UPDATE ... SET
// col[i][j] = value: a copy of the array with that element replaced. A
// one-dimensional array grows with NULLs up to a position past its end.
type arraySetExpr struct {
	array   expr
	indexes []expr
	value   expr
	typ     catalog.ColumnType
}

// buildArrayAssignment builds SET col[i]... = value for the column at
// position idx of the updated rows.
// NOTE: slices (col[1:2] = ...) and positions that would move the lower
// bound below 1 fail with 0A000, because pgkeep's arrays start at 1.
func (b *builder) buildArrayAssignment(value expr, col *catalog.ColumnDescriptor, idx int, indirection []*pg_query.Node) (expr, error) {
	if col.Type.OID == oidJSONB {
		return b.buildJSONBAssignment(value, col, idx, indirection)
	}
	if !isArrayType(col.Type.OID) {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "cannot subscript type %s because it does not support subscripting", typeName(col.Type.OID))
	}
	e := &arraySetExpr{array: &columnExpr{idx: idx, typ: col.Type, name: col.Name}, typ: col.Type}
	for _, n := range indirection {
		ind := n.GetAIndices()
		if ind == nil {
			return nil, pgerror.NotSupported("assignment to a field of a composite column")
		}
		if ind.IsSlice {
			return nil, pgerror.NotSupported("assignment to an array slice")
		}
		i, err := b.buildSubscript(ind.Uidx)
		if err != nil {
			return nil, err
		}
		e.indexes = append(e.indexes, i)
	}
	elem := elemType(col.Type)
	from := value.resultType().OID
	if from != oidUnknown && from != elem.OID && !assignmentCastAllowed(from, elem.OID) {
		return nil, pgerror.Newf(pgcode.DatatypeMismatch, "subscripted assignment to %q requires type %s but expression is of type %s", col.Name, formatType(elem), typeName(from)).
			WithHint("You will need to rewrite or cast the expression.")
	}
	v, err := b.castTo(value, elem, true)
	if err != nil {
		return nil, err
	}
	e.value = v
	return e, nil
}

func (e *arraySetExpr) resultType() catalog.ColumnType { return e.typ }

func (e *arraySetExpr) eval(ec *evalContext, row []any) (any, error) {
	cur, err := e.array.eval(ec, row)
	if err != nil {
		return nil, err
	}
	positions := make([]int, len(e.indexes))
	for k, ie := range e.indexes {
		i, err := ie.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if i == nil {
			return nil, pgerror.New(pgcode.NullValueNotAllowed, "array subscript in assignment must not be null")
		}
		positions[k] = int(max(min(i.(int64), 1<<31), -1<<31))
	}
	v, err := e.value.eval(ec, row)
	if err != nil {
		return nil, err
	}
	a, _ := cur.([]any)
	if len(a) == 0 {
		// A NULL or empty array becomes one holding only the new element.
		out := v
		for k := len(positions) - 1; k >= 0; k-- {
			if positions[k] != 1 {
				return nil, pgerror.NotSupported("array lower bounds other than 1")
			}
			out = []any{out}
		}
		return out, nil
	}
	if len(positions) != len(arrayDims(a)) {
		return nil, pgerror.New(pgcode.ArraySubscriptError, "wrong number of array subscripts")
	}
	return setArrayElement(a, positions, v)
}

// setArrayElement returns a copy of a with the element at positions
// replaced by v.
func setArrayElement(a []any, positions []int, v any) ([]any, error) {
	pos := positions[0]
	if pos < 1 {
		return nil, pgerror.NotSupported("array lower bounds other than 1")
	}
	if len(positions) > 1 {
		if pos > len(a) {
			return nil, pgerror.New(pgcode.ArraySubscriptError, "array subscript out of range")
		}
		out := append([]any(nil), a...)
		sub, err := setArrayElement(a[pos-1].([]any), positions[1:], v)
		if err != nil {
			return nil, err
		}
		out[pos-1] = sub
		return out, nil
	}
	out := make([]any, max(len(a), pos))
	copy(out, a)
	out[pos-1] = v
	return out, nil
}
