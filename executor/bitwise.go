package executor

import (
	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// The bitwise operators of smallint, integer and bigint: & (and), | (or),
// # (xor), << and >> (shifts by an integer count) and the prefix ~ (not).
// pgjdbc's getIndexInfo tests the descending flag of an index column with
// indoption[i] & 1::smallint.

// bitwiseExpr is a binary bitwise operator on integers of type typ.
type bitwiseExpr struct {
	op          string
	left, right expr
	typ         catalog.ColumnType
}

func (e *bitwiseExpr) resultType() catalog.ColumnType { return e.typ }

func (e *bitwiseExpr) eval(ec *evalContext, row []any) (any, error) {
	l, r, err := evalOperands(ec, row, e.left, e.right)
	if err != nil || l == nil {
		return nil, err
	}
	a, b := l.(int64), r.(int64)
	switch e.op {
	case "&":
		return a & b, nil
	case "|":
		return a | b, nil
	case "#":
		return a ^ b, nil
	}
	return shiftInt(e.op, a, b, e.typ.OID), nil
}

// shiftInt shifts a of type oid by count bits as PostgreSQL does on x86-64:
// smallint and integer shift in 32 bits and bigint in 64, the count is
// taken modulo that width, and the result wraps to the type's size.
func shiftInt(op string, a, count int64, oid uint32) int64 {
	if oid == oidInt8 {
		if op == "<<" {
			return a << (uint64(count) & 63)
		}
		return a >> (uint64(count) & 63)
	}
	n := int32(a)
	if op == "<<" {
		n <<= uint32(count) & 31
	} else {
		n >>= uint32(count) & 31
	}
	if oid == oidInt2 {
		return int64(int16(n))
	}
	return int64(n)
}

// buildBitwise builds l op r for the operators &, |, #, << and >>.
func (b *builder) buildBitwise(op string, l, r expr, location int32) (expr, error) {
	lt, rt := l.resultType().OID, r.resultType().OID
	if lt == oidUnknown && rt == oidUnknown {
		return nil, pgerror.Newf(pgcode.AmbiguousFunction, "operator is not unique: unknown %s unknown", op).
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.").WithPosition(location + 1)
	}
	if !(isBitwiseType(lt) || lt == oidUnknown) || !(isBitwiseType(rt) || rt == oidUnknown) {
		return nil, undefinedOperator(op, typeName(lt), rt, location)
	}
	var err error
	if op == "<<" || op == ">>" {
		// The shift count is an integer whatever the shifted type.
		if lt == oidUnknown {
			lt = oidInt4
			if l, err = b.castTo(l, plainType(oidInt4), false); err != nil {
				return nil, err
			}
		}
		if r, err = b.castTo(r, plainType(oidInt4), false); err != nil {
			return nil, err
		}
		return &bitwiseExpr{op: op, left: l, right: r, typ: plainType(lt)}, nil
	}
	l, r, common, err := b.unify(l, r, op, location)
	if err != nil {
		return nil, err
	}
	return &bitwiseExpr{op: op, left: l, right: r, typ: plainType(common)}, nil
}

func isBitwiseType(oid uint32) bool { return oid == oidInt2 || oid == oidInt4 || oid == oidInt8 }

// bitNotExpr is the prefix operator ~ on an integer.
type bitNotExpr struct {
	arg expr
	typ catalog.ColumnType
}

func (e *bitNotExpr) resultType() catalog.ColumnType { return e.typ }

func (e *bitNotExpr) eval(ec *evalContext, row []any) (any, error) {
	v, err := e.arg.eval(ec, row)
	if err != nil || v == nil {
		return nil, err
	}
	return ^v.(int64), nil
}

// buildBitNot builds ~arg.
func (b *builder) buildBitNot(arg expr, location int32) (expr, error) {
	t := arg.resultType().OID
	if t == oidUnknown {
		return nil, pgerror.New(pgcode.AmbiguousFunction, "operator is not unique: ~ unknown").
			WithHint("Could not choose a best candidate operator. You might need to add explicit type casts.").WithPosition(location + 1)
	}
	if !isBitwiseType(t) {
		return nil, undefinedOperator("~", "", t, location)
	}
	return &bitNotExpr{arg: arg, typ: plainType(t)}, nil
}
