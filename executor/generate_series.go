package executor

import (
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// generate_series has integer, bigint, numeric, timestamp and timestamptz
// overloads, each with an optional step (required for the timestamp
// ones). resolveGenerateSeries picks one from the argument types the way
// PostgreSQL's function resolution does for these overloads.

// resolveGenerateSeries returns the overload of generate_series that
// takes args, with the arguments cast to its parameter types.
func (b *builder) resolveGenerateSeries(args []expr, location int32) (setFunction, []expr, error) {
	types := make([]uint32, len(args))
	for i, a := range args {
		types[i] = a.resultType().OID
	}

	elem, ok := generateSeriesType(types)
	if !ok {
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = typeName(t)
		}
		if elem == oidUnknown {
			return setFunction{}, nil, pgerror.Newf(pgcode.AmbiguousFunction, "function generate_series(%s) is not unique", strings.Join(names, ", ")).
				WithHint("Could not choose a best candidate function. You might need to add explicit type casts.").WithPosition(location + 1)
		}
		return setFunction{}, nil, pgerror.Newf(pgcode.UndefinedFunction, "function generate_series(%s) does not exist", strings.Join(names, ", ")).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").WithPosition(location + 1)
	}

	step := elem
	if elem == oidTimestamp || elem == oidTimestamptz {
		step = oidInterval
	}
	cast := make([]expr, len(args))
	for i, a := range args {
		want := elem
		if i == 2 {
			want = step
		}
		c, err := b.castTo(a, plainType(want), false)
		if err != nil {
			return setFunction{}, nil, err
		}
		cast[i] = c
	}

	fn := setFunction{
		argTypes: make([]uint32, len(args)),
		columns: func([]expr) []scopeColumn {
			return []scopeColumn{{name: "generate_series", typ: plainType(elem)}}
		},
	}
	for i := range fn.argTypes {
		fn.argTypes[i] = elem
	}
	switch elem {
	case oidInt4, oidInt8:
		fn.rows = generateSeriesInt
	case oidNumeric:
		fn.rows = generateSeriesNumeric
	default:
		fn.argTypes[2] = oidInterval
		withZone := elem == oidTimestamptz
		fn.rows = func(ec *evalContext, a []any) ([][]any, error) { return generateSeriesTime(ec, a, withZone) }
	}
	return fn, cast, nil
}

// generateSeriesType returns the element type of the generate_series
// overload for the argument types. When none fits it returns false, with
// oidUnknown if several would fit.
func generateSeriesType(types []uint32) (uint32, bool) {
	if len(types) != 2 && len(types) != 3 {
		return 0, false
	}

	bounds := types[:2]
	hasTime, hasNumber := false, false
	for _, t := range bounds {
		switch {
		case t == oidUnknown:
		case isTimeType(t):
			hasTime = true
		case isNumericType(t) && !isFloatType(t):
			hasNumber = true
		default:
			return 0, false
		}
	}
	if len(types) == 3 {
		switch step := types[2]; {
		case step == oidInterval:
			hasTime = true
		case step == oidUnknown:
		case isNumericType(step) && !isFloatType(step):
			hasNumber = true
		default:
			return 0, false
		}
	}

	switch {
	case hasTime && hasNumber, !hasTime && !hasNumber && len(types) == 2:
		return oidUnknown, false
	case hasTime:
		if len(types) != 3 || types[2] != oidInterval && types[2] != oidUnknown {
			return 0, false
		}
		elem := uint32(oidTimestamptz)
		if (bounds[0] == oidTimestamp || bounds[1] == oidTimestamp) && bounds[0] != oidTimestamptz && bounds[1] != oidTimestamptz {
			elem = oidTimestamp
		}
		return elem, true
	case !hasNumber:
		return oidUnknown, false
	}

	// The widest of integer, bigint and numeric among the arguments.
	// smallint arguments alone convert equally well to all three, so
	// PostgreSQL finds the call ambiguous.
	elem := uint32(oidInt2)
	for _, t := range types {
		if t == oidInt4 && elem == oidInt2 || t == oidInt8 && elem != oidNumeric || t == oidNumeric {
			elem = t
		}
	}
	if elem == oidInt2 {
		return oidUnknown, false
	}
	return elem, true
}

func stepCannotBeZero() *pgerror.Error {
	return pgerror.New(pgcode.InvalidParameterValue, "step size cannot equal zero")
}

// appendSeriesRow adds one value to a series and checks for cancellation
// every 1024 rows, because a series can be long.
func appendSeriesRow(ec *evalContext, out [][]any, v any) ([][]any, error) {
	out = append(out, []any{v})
	if len(out)%1024 == 0 {
		if err := ec.checkCancel(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func generateSeriesInt(ec *evalContext, a []any) ([][]any, error) {
	step := int64(1)
	if len(a) == 3 {
		if a[2] == nil {
			return nil, nil
		}
		step = a[2].(int64)
	}
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	if step == 0 {
		return nil, stepCannotBeZero()
	}
	start, stop := a[0].(int64), a[1].(int64)
	var out [][]any
	var err error
	for i := start; step > 0 && i <= stop || step < 0 && i >= stop; i += step {
		if out, err = appendSeriesRow(ec, out, i); err != nil {
			return nil, err
		}
		// Stop before i + step overflows.
		if next := i + step; (next > i) != (step > 0) {
			break
		}
	}
	return out, nil
}

func generateSeriesNumeric(ec *evalContext, a []any) ([][]any, error) {
	step := apd.New(1, 0)
	if len(a) == 3 {
		if a[2] == nil {
			return nil, nil
		}
		step = a[2].(*apd.Decimal)
	}
	if a[0] == nil || a[1] == nil {
		return nil, nil
	}
	start, stop := a[0].(*apd.Decimal), a[1].(*apd.Decimal)
	for _, check := range []struct {
		d    *apd.Decimal
		name string
	}{{start, "start value"}, {stop, "stop value"}, {step, "step size"}} {
		switch check.d.Form {
		case apd.NaN, apd.NaNSignaling:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "%s cannot be NaN", check.name)
		case apd.Infinite:
			return nil, pgerror.Newf(pgcode.InvalidParameterValue, "%s cannot be infinity", check.name)
		}
	}
	if step.IsZero() {
		return nil, stepCannotBeZero()
	}
	var out [][]any
	var err error
	sign := step.Sign()
	for i := start; i.Cmp(stop)*sign <= 0; {
		if out, err = appendSeriesRow(ec, out, i); err != nil {
			return nil, err
		}
		next := new(apd.Decimal)
		if _, err := decimalCtx.Add(next, i, step); err != nil {
			return nil, pgerror.New(pgcode.NumericValueOutOfRange, "value overflows numeric format")
		}
		i = next
	}
	return out, nil
}

// generateSeriesTime steps from start to stop by an interval. For
// timestamptz, months and days advance the calendar in the session time
// zone, as timestamptz + interval does.
func generateSeriesTime(ec *evalContext, a []any, withZone bool) ([][]any, error) {
	if a[0] == nil || a[1] == nil || a[2] == nil {
		return nil, nil
	}
	start, stop, step := a[0].(time.Time), a[1].(time.Time), a[2].(pgtype.Interval)
	sign := compareIntervals(step, pgtype.Interval{Valid: true})
	if sign == 0 {
		return nil, stepCannotBeZero()
	}
	if pgtext.InfinitySign(start) != 0 && start.Compare(stop)*sign <= 0 {
		// PostgreSQL returns the infinite start forever.
		return nil, pgerror.NotSupported("generate_series from an infinite start")
	}
	var loc *time.Location
	if withZone {
		loc = ec.sess.location()
	}
	var out [][]any
	var err error
	for t := start; t.Compare(stop)*sign <= 0; {
		if out, err = appendSeriesRow(ec, out, t); err != nil {
			return nil, err
		}
		if t, err = addInterval(t, step, loc); err != nil {
			return nil, err
		}
	}
	return out, nil
}
