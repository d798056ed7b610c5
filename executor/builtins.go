package executor

import (
	"crypto/rand"
	"math"
	"strings"
	"time"
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
	"current_user":     {{result: fixed(oidName), fn: func(ec *evalContext, _ []any) (any, error) { return ec.actor().Name, nil }}},
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
	"current_setting": {
		{argTypes: []uint32{oidText}, result: fixed(oidText), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			v, _, err := ec.sess.settings.get(a[0].(string))
			return v, err
		}},
		{argTypes: []uint32{oidText, oidBool}, result: fixed(oidText), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			v, _, err := ec.sess.settings.get(a[0].(string))
			if err != nil && a[1] == true {
				return nil, nil
			}
			return v, err
		}},
	},
	"set_config": {{argTypes: []uint32{oidText, oidText, oidBool}, result: fixed(oidText), volatile: true, fn: setConfig}},
	"pg_sleep":   {{argTypes: []uint32{oidFloat8}, result: fixed(oidVoid), strict: true, volatile: true, fn: pgSleep}},
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
		absInt(oidInt2), absInt(oidInt4), absInt(oidInt8),
		{argTypes: []uint32{oidFloat8}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return math.Abs(a[0].(float64)), nil
		}},
		{argTypes: []uint32{oidNumeric}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return new(apd.Decimal).Abs(a[0].(*apd.Decimal)), nil
		}},
	},
}

// builtinTables are the function tables, one per family of functions.
var builtinTables = []map[string][]builtin{builtins, stringBuiltins, mathBuiltins, timeBuiltins, jsonBuiltins, formatBuiltins, miscBuiltins}

// lookupBuiltin returns the overloads of a function name.
func lookupBuiltin(name string) []builtin {
	var out []builtin
	for _, table := range builtinTables {
		out = append(out, table[name]...)
	}
	return out
}

// absInt is abs for one integer type, failing like PostgreSQL when the
// result does not fit the type.
func absInt(oid uint32) builtin {
	return builtin{argTypes: []uint32{oid}, result: sameAsFirst, strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		v := a[0].(int64)
		if v < 0 {
			v = -v
		}
		if v < 0 {
			return nil, outOfRange(oid)
		}
		return v, checkIntRange(v, oid)
	}}
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
	null := false
	for i, a := range e.args {
		// Every argument is evaluated, as in PostgreSQL, so an error in
		// one after a NULL is raised.
		v, err := a.eval(ec, row)
		if err != nil {
			return nil, err
		}
		null = null || v == nil
		vals[i] = v
	}
	if null && e.fn.strict {
		return nil, nil
	}
	if e.fn.volatile {
		ec.volatileCalls++
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
	inInformationSchema := len(parts) == 2 && parts[0] == "information_schema"
	if len(parts) > 1 && parts[0] != "pg_catalog" && !(inInformationSchema && informationSchemaFunctions[name]) {
		return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s does not exist", strings.Join(parts, ".")).WithPosition(fc.Location + 1)
	}
	if fc.Over != nil {
		return b.buildWindowCall(name, fc)
	}
	if windowFunctionNames[name] {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "window function %s requires an OVER clause", name).WithPosition(fc.Location + 1)
	}
	if aggregateNames[name] {
		return b.buildAggregate(name, fc)
	}
	// The functions of information_schema are found only under that
	// qualifier, because the schema is not on the search path.
	if fn, ok := setFunctions[name]; ok && inInformationSchema == informationSchemaFunctions[name] {
		return b.buildSetFunctionCall(name, fn, fc)
	}
	if fc.AggStar || fc.AggDistinct || fc.Over != nil {
		return nil, pgerror.Newf(pgcode.WrongObjectType, "%s is not an aggregate function", name).WithPosition(fc.Location + 1)
	}
	argNodes, err := positionalArgs(name, fc)
	if err != nil {
		return nil, err
	}
	if _, ok := sequenceOverloads[name]; ok {
		return b.buildSequenceCall(name, fc, argNodes)
	}
	args := make([]expr, 0, len(argNodes))
	for _, a := range argNodes {
		e, err := b.build(a)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if e, ok, err := b.buildJSONFunc(name, args, fc.Location); ok {
		return e, err
	}
	if name == "timezone" && len(args) == 2 && args[1].resultType().OID == oidTime {
		return nil, pgerror.NotSupported("type time with time zone").
			WithDetail("AT TIME ZONE applied to a time returns time with time zone.").
			WithPosition(fc.Location + 1)
	}
	if name == "pg_typeof" {
		if e, ok := buildTypeofCall(args); ok {
			return e, nil
		}
	}
	if e, ok, err := b.buildArrayFunc(name, args, fc.Location); ok {
		return e, err
	}
	// An overload whose parameter types equal the argument types wins over
	// one that needs implicit casts; otherwise the first overload listed
	// that the arguments convert to is taken.
	// TODO: rank overloads by PostgreSQL's full rules (exact matches, then
	// preferred types of each category).
	candidates := lookupBuiltin(name)
	var literalErr error
	for _, exactOnly := range []bool{true, false} {
		for i := range candidates {
			fn := &candidates[i]
			cast, ok, err := b.matchArgs(fn, args, exactOnly)
			if !ok {
				if literalErr == nil {
					literalErr = err
				}
				continue
			}
			return &funcExpr{name: name, fn: fn, args: cast, typ: fn.result(cast)}, nil
		}
	}
	if literalErr != nil {
		// An overload matched but for a literal that is invalid input for
		// its parameter type, such as jsonb_set(d, '{a}', 'nope'), where
		// PostgreSQL reports the invalid input.
		return nil, literalErr
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
// implicit conversion. With exactOnly, only unknown literals may be
// converted. err is set when the types match but an unknown literal is
// not valid input for its parameter's type.
func (b *builder) matchArgs(fn *builtin, args []expr, exactOnly bool) ([]expr, bool, error) {
	if len(args) != len(fn.argTypes) && !(fn.variadic && len(args) >= len(fn.argTypes)) {
		return nil, false, nil
	}
	out := make([]expr, len(args))
	for i, a := range args {
		want := fn.argTypes[min(i, len(fn.argTypes)-1)]
		have := a.resultType().OID
		switch {
		case want == 0 || have == want:
			out[i] = a
			continue
		case have == oidUnknown:
		case exactOnly:
			return nil, false, nil
		case
			isStringType(have) && isStringType(want),
			isNumericType(have) && isNumericType(want) && numericRank(have) <= numericRank(want),
			isTimeType(have) && isTimeType(want) && timeRank(have) < timeRank(want),
			have == oidTime && want == oidInterval:
		default:
			return nil, false, nil
		}
		c, err := b.castTo(a, plainType(want), false)
		if err != nil {
			if have == oidUnknown {
				return nil, false, err
			}
			return nil, false, nil
		}
		out[i] = c
	}
	return out, true, nil
}

// setConfig is set_config(name, value, is_local): SET or SET LOCAL from
// SQL. It returns the new value.
func setConfig(ec *evalContext, a []any) (any, error) {
	if a[0] == nil {
		return nil, pgerror.New(pgcode.NullValueNotAllowed, "SET requires parameter name")
	}
	name, _ := a[0].(string)
	value, _ := a[1].(string)
	local := a[2] == true
	s := ec.sess
	d, err := lookupSetting(name)
	if err != nil {
		return nil, err
	}
	if local && (s.txn == nil || !s.txn.explicit) {
		// Outside a transaction block SET LOCAL has no lasting effect.
		return s.settings.values[d.name], nil
	}
	s.rememberSetting(d.name, local)
	if a[1] == nil {
		err = s.settings.reset(d.name)
	} else {
		err = s.settings.set(d.name, value)
	}
	if err != nil {
		return nil, err
	}
	if change := s.reportedChange(d.name); change != nil {
		s.notices = append(s.notices, *change)
	}
	return s.settings.values[d.name], nil
}

// pgSleep waits for the given number of seconds, or until the statement is
// cancelled or times out.
func pgSleep(ec *evalContext, a []any) (any, error) {
	seconds := a[0].(float64)
	if seconds <= 0 || math.IsNaN(seconds) {
		return "", nil
	}
	timer := time.NewTimer(time.Duration(seconds * float64(time.Second)))
	defer timer.Stop()
	select {
	case <-timer.C:
		return "", nil
	case <-ec.ctx.Done():
		return nil, ec.ctx.Err()
	}
}
