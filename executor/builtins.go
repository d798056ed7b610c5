package executor

import (
	"crypto/rand"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
)

// builtin is a scalar function. argTypes are the parameter types (arguments
// are cast to them); a zero entry accepts any type. variadic repeats the last
// type.
type builtin struct {
	argTypes []uint32
	variadic bool
	// result returns the result type for the argument types.
	result func(args []expr) catalog.ColumnType
	// strict functions return NULL when any argument is NULL.
	strict bool
	fn     func(ec *evalContext, args []any) (any, error)
	// volatile functions are evaluated per call; others on constant
	// arguments could be folded, which pgkeep does not do yet.
	volatile bool
}

func fixed(oid uint32) func([]expr) catalog.ColumnType {
	return func([]expr) catalog.ColumnType { return plainType(oid) }
}

func sameAsFirst(args []expr) catalog.ColumnType { return args[0].resultType() }

var builtins = map[string][]builtin{
	"version": {{result: fixed(oidText), fn: func(*evalContext, []any) (any, error) {
		return "PostgreSQL " + ServerVersion + " (pgkeep) on x86_64-pc-linux-gnu, compiled by Go, 64-bit", nil
	}}},
	"current_database": {{result: fixed(oidName), fn: func(ec *evalContext, _ []any) (any, error) { return ec.sess.database, nil }}},
	"current_schema":   {{result: fixed(oidName), fn: func(ec *evalContext, _ []any) (any, error) { return ec.sess.currentSchema(), nil }}},
	"current_user":     {{result: fixed(oidName), fn: func(ec *evalContext, _ []any) (any, error) { return ec.sess.user.Name, nil }}},
	"session_user":     {{result: fixed(oidName), fn: func(ec *evalContext, _ []any) (any, error) { return ec.sess.user.Name, nil }}},
	"pg_backend_pid":   {{result: fixed(oidInt4), fn: func(ec *evalContext, _ []any) (any, error) { return int64(ec.sess.pid), nil }}},
	"now":              {{result: fixed(oidTimestamptz), fn: func(ec *evalContext, _ []any) (any, error) { return ec.txnTime, nil }}},
	"transaction_timestamp": {{result: fixed(oidTimestamptz), fn: func(ec *evalContext, _ []any) (any, error) {
		return ec.txnTime, nil
	}}},
	"gen_random_uuid": {{result: fixed(oidUUID), volatile: true, fn: func(*evalContext, []any) (any, error) {
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return nil, pgerror.Internal("generating uuid: %v", err)
		}
		u[6] = (u[6] & 0x0f) | 0x40 // version 4
		u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
		return u, nil
	}}},
	"lower": {{argTypes: []uint32{oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return strings.ToLower(a[0].(string)), nil
	}}},
	"upper": {{argTypes: []uint32{oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return strings.ToUpper(a[0].(string)), nil
	}}},
	"length": {
		{argTypes: []uint32{oidText}, result: fixed(oidInt4), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return int64(utf8.RuneCountInString(a[0].(string))), nil
		}},
		{argTypes: []uint32{oidBytea}, result: fixed(oidInt4), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return int64(len(a[0].([]byte))), nil
		}},
	},
	"abs": {
		{argTypes: []uint32{oidInt8}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			v := a[0].(int64)
			if v == math.MinInt64 {
				return nil, outOfRange(oidInt8)
			}
			if v < 0 {
				v = -v
			}
			return v, nil
		}},
		{argTypes: []uint32{oidFloat8}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return math.Abs(a[0].(float64)), nil
		}},
		{argTypes: []uint32{oidNumeric}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return new(apd.Decimal).Abs(a[0].(*apd.Decimal)), nil
		}},
	},
}

// funcExpr calls a builtin.
type funcExpr struct {
	name string
	fn   *builtin
	args []expr
	typ  catalog.ColumnType
}

func (e *funcExpr) eval(ec *evalContext, row []any) (any, error) {
	vals := make([]any, len(e.args))
	for i, a := range e.args {
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		if v == nil && e.fn.strict {
			return nil, nil
		}
		vals[i] = v
	}
	return e.fn.fn(ec, vals)
}

func (e *funcExpr) resultType() catalog.ColumnType { return e.typ }

func (b *builder) buildFuncCall(fc *pg_query.FuncCall) (expr, error) {
	var parts []string
	for _, n := range fc.Funcname {
		parts = append(parts, n.GetString_().GetSval())
	}
	name := parts[len(parts)-1]
	if len(parts) > 1 && parts[0] != "pg_catalog" {
		return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s does not exist", strings.Join(parts, ".")).WithPosition(fc.Location + 1)
	}
	if aggregateNames[name] {
		return b.buildAggregate(name, fc)
	}
	if fc.AggStar || fc.AggDistinct || fc.Over != nil {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "%s is not an aggregate function", name).WithPosition(fc.Location + 1)
	}
	args := make([]expr, 0, len(fc.Args))
	for _, a := range fc.Args {
		e, err := b.build(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	candidates := builtins[name]
	for i := range candidates {
		fn := &candidates[i]
		cast, ok := b.matchArgs(fn, args)
		if !ok {
			continue
		}
		return &funcExpr{name: name, fn: fn, args: cast, typ: fn.result(cast)}, nil
	}
	types := make([]string, len(args))
	for i, a := range args {
		types[i] = typeName(a.resultType().OID)
	}
	return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s(%s) does not exist", name, strings.Join(types, ", ")).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
		WithPosition(fc.Location + 1)
}

// matchArgs casts args to fn's parameter types when every argument has an
// implicit conversion.
func (b *builder) matchArgs(fn *builtin, args []expr) ([]expr, bool) {
	if len(args) != len(fn.argTypes) && !(fn.variadic && len(args) >= len(fn.argTypes)) {
		return nil, false
	}
	out := make([]expr, len(args))
	for i, a := range args {
		want := fn.argTypes[min(i, len(fn.argTypes)-1)]
		have := a.resultType().OID
		switch {
		case want == 0 || have == want:
			out[i] = a
			continue
		case have == oidUnknown,
			isStringType(have) && isStringType(want),
			isNumericType(have) && isNumericType(want) && numericRank(have) <= numericRank(want):
		default:
			return nil, false
		}
		c, err := b.castTo(a, plainType(want), false)
		if err != nil {
			return nil, false
		}
		out[i] = c
	}
	return out, true
}
