package executor

import (
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"
	pg_query "github.com/pganalyze/pg_query_go/v5"

	"github.com/pgkeep/pgkeep/pgerror"
	"github.com/pgkeep/pgkeep/pgerror/pgcode"
	"github.com/pgkeep/pgkeep/protocol/pgtext"
)

// timeBuiltins are the date and time functions. Where PostgreSQL has a
// timestamptz and a timestamp overload, the timestamptz one is listed
// first: a date or unknown argument resolves to it, as in PostgreSQL,
// where timestamptz is the preferred type of its category.
var timeBuiltins = map[string][]builtin{
	"clock_timestamp": {{result: fixed(oidTimestamptz), volatile: true, fn: func(*evalContext, []any) (any, error) {
		return time.Now().UTC().Truncate(time.Microsecond), nil
	}}},
	"statement_timestamp": {{result: fixed(oidTimestamptz), fn: func(ec *evalContext, _ []any) (any, error) {
		if ec.statementTime.IsZero() {
			return ec.txnTime, nil
		}
		return ec.statementTime, nil
	}}},
	"overlaps": overlapsOverloads(),
	"timezone": timezoneOverloads(),
	"date_bin": {
		{argTypes: []uint32{oidInterval, oidTimestamptz, oidTimestamptz}, result: fixed(oidTimestamptz), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return dateBin(a[0].(pgtype.Interval), a[1].(time.Time), a[2].(time.Time))
		}},
		{argTypes: []uint32{oidInterval, oidTimestamp, oidTimestamp}, result: fixed(oidTimestamp), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return dateBin(a[0].(pgtype.Interval), a[1].(time.Time), a[2].(time.Time))
		}},
	},
	"date_trunc": {
		timeFunc(oidTimestamptz, oidTimestamptz, truncTimestamp),
		{argTypes: []uint32{oidText, oidTimestamptz, oidText}, result: fixed(oidTimestamptz), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			loc, err := lookupTimeZone(a[2].(string))
			if err != nil {
				return nil, err
			}
			return truncTimestampIn(oidTimestamptz, a[0].(string), a[1].(time.Time), loc)
		}},
		timeFunc(oidTimestamp, oidTimestamp, truncTimestamp),
		{argTypes: []uint32{oidText, oidInterval}, result: fixed(oidInterval), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return truncInterval(a[0].(string), a[1].(pgtype.Interval))
		}},
	},
	"extract": {
		timeFunc(oidTimestamptz, oidNumeric, extractNumeric),
		timeFunc(oidTimestamp, oidNumeric, extractNumeric),
		timeFunc(oidDate, oidNumeric, extractNumeric),
		{argTypes: []uint32{oidText, oidTime}, result: fixed(oidNumeric), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return extractTimeOfDay(a[0].(string), a[1].(pgtype.Time), true)
		}},
		{argTypes: []uint32{oidText, oidInterval}, result: fixed(oidNumeric), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return extractInterval(a[0].(string), a[1].(pgtype.Interval), true)
		}},
	},
	"date_part": {
		timeFunc(oidTimestamptz, oidFloat8, extractFloat),
		timeFunc(oidTimestamp, oidFloat8, extractFloat),
		// date_part of a date reads it as a timestamp, as PostgreSQL's SQL
		// definition of this overload does.
		{argTypes: []uint32{oidText, oidDate}, result: fixed(oidFloat8), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			return extractFloat(ec, oidTimestamp, a[0].(string), a[1].(time.Time))
		}},
		{argTypes: []uint32{oidText, oidTime}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return extractTimeOfDay(a[0].(string), a[1].(pgtype.Time), false)
		}},
		{argTypes: []uint32{oidText, oidInterval}, result: fixed(oidFloat8), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return extractInterval(a[0].(string), a[1].(pgtype.Interval), false)
		}},
	},
	"age": {
		{argTypes: []uint32{oidTimestamptz, oidTimestamptz}, result: fixed(oidInterval), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			loc := ec.sess.location()
			return age(a[0].(time.Time).In(loc), a[1].(time.Time).In(loc))
		}},
		{argTypes: []uint32{oidTimestamp, oidTimestamp}, result: fixed(oidInterval), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return age(a[0].(time.Time), a[1].(time.Time))
		}},
		// age(t) measures from midnight of the current date.
		{argTypes: []uint32{oidTimestamptz}, result: fixed(oidInterval), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			loc := ec.sess.location()
			y, m, d := ec.txnTime.In(loc).Date()
			return age(time.Date(y, m, d, 0, 0, 0, 0, loc), a[0].(time.Time).In(loc))
		}},
		{argTypes: []uint32{oidTimestamp}, result: fixed(oidInterval), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			today := castTime(ec.txnTime, oidTimestamptz, oidDate, ec.sess.location())
			return age(today, a[0].(time.Time))
		}},
	},
	"make_date": {{argTypes: []uint32{oidInt4, oidInt4, oidInt4}, result: fixed(oidDate), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return makeDate(a[0].(int64), a[1].(int64), a[2].(int64))
	}}},
	"make_time": {{argTypes: []uint32{oidInt4, oidInt4, oidFloat8}, result: fixed(oidTime), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return makeTimeOfDay(a[0].(int64), a[1].(int64), a[2].(float64))
	}}},
	"make_timestamp": {{
		argTypes: []uint32{oidInt4, oidInt4, oidInt4, oidInt4, oidInt4, oidFloat8}, result: fixed(oidTimestamp), strict: true,
		fn: func(_ *evalContext, a []any) (any, error) { return makeTimestamp(a, time.UTC) },
	}},
	"make_timestamptz": {
		{
			argTypes: []uint32{oidInt4, oidInt4, oidInt4, oidInt4, oidInt4, oidFloat8}, result: fixed(oidTimestamptz), strict: true,
			fn: func(ec *evalContext, a []any) (any, error) { return makeTimestamp(a, ec.sess.location()) },
		},
		{
			argTypes: []uint32{oidInt4, oidInt4, oidInt4, oidInt4, oidInt4, oidFloat8, oidText}, result: fixed(oidTimestamptz), strict: true,
			fn: func(_ *evalContext, a []any) (any, error) {
				loc, err := lookupTimeZone(a[6].(string))
				if err != nil {
					return nil, err
				}
				return makeTimestamp(a[:6], loc)
			},
		},
	},
	"make_interval": {{
		argTypes: []uint32{oidInt4, oidInt4, oidInt4, oidInt4, oidInt4, oidInt4, oidFloat8}, result: fixed(oidInterval), strict: true,
		fn: func(_ *evalContext, a []any) (any, error) { return makeIntervalFunc(a) },
	}},
	"justify_days":     {intervalFunc(justifyDays)},
	"justify_hours":    {intervalFunc(justifyHours)},
	"justify_interval": {intervalFunc(justifyInterval)},
	"isfinite": {
		// NOTE: pgkeep has no infinite intervals yet, so every interval is
		// finite.
		isFinite(oidTimestamptz), isFinite(oidTimestamp), isFinite(oidDate), isFinite(oidInterval),
	},
	"to_char": {
		// to_char of an infinite timestamp is NULL.
		{argTypes: []uint32{oidTimestamptz, oidText}, result: fixed(oidText), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			if pgtext.InfinitySign(a[0].(time.Time)) != 0 {
				return nil, nil
			}
			return formatDateTime(a[1].(string), timeFieldsOf(a[0].(time.Time).In(ec.sess.location()), true))
		}},
		{argTypes: []uint32{oidTimestamp, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			if pgtext.InfinitySign(a[0].(time.Time)) != 0 {
				return nil, nil
			}
			return formatDateTime(a[1].(string), timeFieldsOf(a[0].(time.Time), false))
		}},
		{argTypes: []uint32{oidInterval, oidText}, result: fixed(oidText), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return formatDateTime(a[1].(string), intervalFieldsOf(a[0].(pgtype.Interval)))
		}},
		numberToChar(oidInt4), numberToChar(oidInt8), numberToChar(oidNumeric), numberToChar(oidFloat8),
	},
	"to_timestamp": {
		{argTypes: []uint32{oidFloat8}, result: fixed(oidTimestamptz), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
			return timestampFromEpoch(a[0].(float64))
		}},
		{argTypes: []uint32{oidText, oidText}, result: fixed(oidTimestamptz), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
			return parseWithTemplate(a[0].(string), a[1].(string), ec.sess.location(), false)
		}},
	},
	"to_date": {{argTypes: []uint32{oidText, oidText}, result: fixed(oidDate), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return parseWithTemplate(a[0].(string), a[1].(string), time.UTC, true)
	}}},
}

// timeRank orders date, timestamp and timestamptz by the implicit casts
// between them: date converts to both others, timestamp to timestamptz.
func timeRank(oid uint32) int {
	switch oid {
	case oidDate:
		return 1
	case oidTimestamp:
		return 2
	}
	return 3
}

// timeFunc is a function of a unit name and a date or timestamp of type
// arg.
func timeFunc(arg, result uint32, fn func(ec *evalContext, oid uint32, unit string, t time.Time) (any, error)) builtin {
	return builtin{argTypes: []uint32{oidText, arg}, result: fixed(result), strict: true, fn: func(ec *evalContext, a []any) (any, error) {
		return fn(ec, arg, a[0].(string), a[1].(time.Time))
	}}
}

func intervalFunc(fn func(pgtype.Interval) (pgtype.Interval, error)) builtin {
	return builtin{argTypes: []uint32{oidInterval}, result: fixed(oidInterval), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		return fn(a[0].(pgtype.Interval))
	}}
}

func isFinite(oid uint32) builtin {
	return builtin{argTypes: []uint32{oid}, result: fixed(oidBool), strict: true, fn: func(_ *evalContext, a []any) (any, error) {
		t, ok := a[0].(time.Time)
		return !ok || pgtext.InfinitySign(t) == 0, nil
	}}
}

// builtinParamNames lists the parameter names and defaults of functions
// that take named arguments (make_interval(days => 3)).
var builtinParamNames = map[string][]string{
	"make_interval": {"years", "months", "weeks", "days", "hours", "mins", "secs"},
}

// positionalArgs returns the arguments of a call in parameter order. For
// the functions of builtinParamNames it places named arguments and fills
// the missing ones with the default 0.
func positionalArgs(name string, fc *pg_query.FuncCall) ([]*pg_query.Node, error) {
	names, ok := builtinParamNames[name]
	if !ok {
		for _, a := range fc.Args {
			if a.GetNamedArgExpr() != nil {
				return nil, pgerror.NotSupported("named arguments of " + name)
			}
		}
		return fc.Args, nil
	}
	if len(fc.Args) > len(names) {
		return fc.Args, nil
	}
	out := make([]*pg_query.Node, len(names))
	for i, a := range fc.Args {
		named := a.GetNamedArgExpr()
		if named == nil {
			out[i] = a
			continue
		}
		found := false
		for j, n := range names {
			if n == named.Name {
				out[j], found = named.Arg, true
			}
		}
		if !found {
			return nil, pgerror.Newf(pgcode.UndefinedFunction, "function %s does not exist", name).
				WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").
				WithPosition(fc.Location + 1)
		}
	}
	for i := range out {
		if out[i] == nil {
			out[i] = &pg_query.Node{Node: &pg_query.Node_AConst{AConst: &pg_query.A_Const{Val: &pg_query.A_Const_Ival{Ival: &pg_query.Integer{Ival: 0}}}}}
		}
	}
	return out, nil
}

func unitNotRecognized(unit string, oid uint32) *pgerror.Error {
	return pgerror.Newf(pgcode.InvalidParameterValue, "unit %q not recognized for type %s", unit, typeName(oid))
}

func unitNotSupported(unit string, oid uint32) *pgerror.Error {
	return pgerror.Newf(pgcode.FeatureNotSupported, "unit %q not supported for type %s", unit, typeName(oid))
}

// truncUnitError rejects a unit date_trunc cannot use. PostgreSQL reports
// the fields that are no units of time (epoch, dow, julian ...) as not
// recognized, and the time zone units as not supported.
func truncUnitError(unit intervalUnit, name string, oid uint32) *pgerror.Error {
	if unit >= unitEpoch && unit < unitTimezone {
		return unitNotRecognized(name, oid)
	}
	return unitNotSupported(name, oid)
}

// lookupUnit reads a unit argument, case-insensitively as PostgreSQL does.
func lookupUnit(s string, oid uint32) (intervalUnit, string, error) {
	name := strings.ToLower(s)
	unit, ok := unitNames[name]
	if !ok {
		return unitNone, name, unitNotRecognized(name, oid)
	}
	return unit, name, nil
}

// wallClock returns the fields of t as shown in the session time zone for
// timestamptz, or as stored for date and timestamp.
func wallClock(ec *evalContext, oid uint32, t time.Time) time.Time {
	if oid == oidTimestamptz {
		return t.In(ec.sess.location())
	}
	return t
}

// truncYear rounds a year down to the first year of its decade, century
// or millennium: centuries start at years ending in 01, and before 1 AD
// the periods count backwards, following PostgreSQL's timestamp_trunc.
func truncYear(year int, unit intervalUnit) int {
	switch unit {
	case unitMillennium:
		if year > 0 {
			return (year+999)/1000*1000 - 999
		}
		return -((999-(year-1))/1000)*1000 + 1
	case unitCentury:
		if year > 0 {
			return (year+99)/100*100 - 99
		}
		return -((99-(year-1))/100)*100 + 1
	case unitDecade:
		if year > 0 {
			return year / 10 * 10
		}
		return -((8 - (year - 1)) / 10) * 10
	}
	return year
}

// truncTimestamp is date_trunc. A timestamptz is truncated in the session
// time zone; for units of a day or more the result is that zone's
// midnight, for smaller ones the offset stays that of the input.
func truncTimestamp(ec *evalContext, oid uint32, unitText string, t time.Time) (any, error) {
	var loc *time.Location
	if oid == oidTimestamptz {
		loc = ec.sess.location()
	}
	return truncTimestampIn(oid, unitText, t, loc)
}

// truncTimestampIn is date_trunc of a timestamptz in the time zone loc, or
// of a date or timestamp when loc is nil.
func truncTimestampIn(oid uint32, unitText string, t time.Time, loc *time.Location) (any, error) {
	unit, name, err := lookupUnit(unitText, oid)
	if err != nil {
		return nil, err
	}
	if pgtext.InfinitySign(t) != 0 {
		return t, nil
	}
	local := t
	if loc != nil {
		local = t.In(loc)
	}
	year, month, day := local.Date()
	hour, minute, second := local.Clock()
	nanos := local.Nanosecond()
	switch unit {
	case unitMillennium, unitCentury, unitDecade, unitYear:
		year, month, day = truncYear(year, unit), time.January, 1
	case unitQuarter:
		month, day = (month-1)/3*3+1, 1
	case unitMonth:
		day = 1
	case unitWeek:
		// ISO weeks start on Monday.
		day -= (int(local.Weekday()) + 6) % 7
	case unitDay, unitHour, unitMinute, unitSecond, unitMillisecond, unitMicrosecond:
	default:
		return nil, truncUnitError(unit, name, oid)
	}
	switch {
	case unit >= unitDay:
		hour, minute, second, nanos = 0, 0, 0, 0
	case unit == unitHour:
		minute, second, nanos = 0, 0, 0
	case unit == unitMinute:
		second, nanos = 0, 0
	case unit == unitSecond:
		nanos = 0
	case unit == unitMillisecond:
		nanos = nanos / 1_000_000 * 1_000_000
	}
	wall := time.Date(year, month, day, hour, minute, second, nanos, time.UTC)
	switch {
	case loc == nil:
		return wall, nil
	case unit < unitDay:
		// Units below a day keep the input's offset.
		_, offset := local.Zone()
		return wall.Add(-time.Duration(offset) * time.Second), nil
	}
	return localToInstant(wall, loc), nil
}

// dateBin is date_bin(stride, source, origin): the start of the bin of
// width stride, counted from origin, that holds source.
func dateBin(stride pgtype.Interval, source, origin time.Time) (any, error) {
	if stride.Months != 0 {
		return nil, pgerror.New(pgcode.FeatureNotSupported, "timestamps cannot be binned into intervals containing months or years")
	}
	strideMicros := int64(stride.Days)*microsPerDay + stride.Microseconds
	if strideMicros <= 0 {
		return nil, pgerror.New(pgcode.DatetimeFieldOverflow, "stride must be greater than zero")
	}
	if pgtext.InfinitySign(source) != 0 {
		return source, nil
	}
	if pgtext.InfinitySign(origin) != 0 {
		return nil, pgerror.New(pgcode.DatetimeFieldOverflow, "origin out of range")
	}
	diff := source.UnixMicro() - origin.UnixMicro()
	delta := diff - diff%strideMicros
	if diff < 0 && diff%strideMicros != 0 {
		delta -= strideMicros
	}
	return checkTimestamp(addMicros(origin, delta))
}

// intervalFields are the fields of an interval as PostgreSQL splits it for
// date_trunc, extract and to_char: years and months from the months, the
// days, and the time in hours (unbounded), minutes, seconds and
// microseconds, all with the interval's signs.
type intervalFields struct {
	years, months, days, hours, minutes, seconds, micros int64
}

func splitInterval(iv pgtype.Interval) intervalFields {
	t := iv.Microseconds
	return intervalFields{
		years: int64(iv.Months / 12), months: int64(iv.Months % 12), days: int64(iv.Days),
		hours: t / microsPerHour, minutes: t / microsPerMinute % 60, seconds: t / microsPerSecond % 60, micros: t % microsPerSecond,
	}
}

func truncInterval(unitText string, iv pgtype.Interval) (any, error) {
	unit, name, err := lookupUnit(unitText, oidInterval)
	if err != nil {
		return nil, err
	}
	f := splitInterval(iv)
	switch unit {
	case unitMillennium:
		f.years = f.years / 1000 * 1000
	case unitCentury:
		f.years = f.years / 100 * 100
	case unitDecade:
		f.years = f.years / 10 * 10
	case unitQuarter:
		f.months = f.months / 3 * 3
	case unitWeek:
		return nil, unitNotSupported(name, oidInterval).WithDetail("Months usually have fractional weeks.")
	case unitYear, unitMonth, unitDay, unitHour, unitMinute, unitSecond, unitMillisecond, unitMicrosecond:
	default:
		return nil, truncUnitError(unit, name, oidInterval)
	}
	if unit >= unitYear {
		f.months = 0
	}
	if unit >= unitMonth {
		f.days = 0
	}
	if unit >= unitDay {
		f.hours = 0
	}
	if unit >= unitHour {
		f.minutes = 0
	}
	if unit >= unitMinute {
		f.seconds = 0
	}
	if unit >= unitSecond {
		f.micros = 0
	}
	if unit == unitMillisecond {
		f.micros = f.micros / 1000 * 1000
	}
	micros := ((f.hours*60+f.minutes)*60+f.seconds)*microsPerSecond + f.micros
	return makeInterval(f.years*12+f.months, f.days, micros)
}

// scaledValue is a field value with a number of decimals: extract returns
// it as a numeric of that scale, date_part as a double.
type scaledValue struct {
	coefficient int64
	scale       int32
}

func (v scaledValue) numeric() *apd.Decimal { return apd.New(v.coefficient, -v.scale) }

func (v scaledValue) float() float64 {
	return float64(v.coefficient) / math.Pow10(int(v.scale))
}

// extractNumeric is extract(field FROM t), which returns numeric since
// PostgreSQL 14.
func extractNumeric(ec *evalContext, oid uint32, unit string, t time.Time) (any, error) {
	if sign := pgtext.InfinitySign(t); sign != 0 {
		return extractInfinite(ec, oid, unit, sign, true)
	}
	v, julian, err := extractTime(ec, oid, unit, t)
	if err != nil || julian != nil {
		return julian, err
	}
	return v.numeric(), nil
}

// extractFloat is date_part(field, t), which returns double precision.
func extractFloat(ec *evalContext, oid uint32, unit string, t time.Time) (any, error) {
	if sign := pgtext.InfinitySign(t); sign != 0 {
		return extractInfinite(ec, oid, unit, sign, false)
	}
	v, julian, err := extractTime(ec, oid, unit, t)
	if err != nil {
		return nil, err
	}
	if julian != nil {
		f, _ := julian.Float64()
		return f, nil
	}
	return v.float(), nil
}

// extractInfinite returns a field of an infinite date or timestamp, as
// PostgreSQL 15 does: the same infinity for the fields that grow with
// time (epoch, year and the like) and NULL for the others.
func extractInfinite(ec *evalContext, oid uint32, unitText string, sign int, numeric bool) (any, error) {
	unit, name, err := lookupUnit(unitText, oid)
	if err != nil {
		return nil, err
	}
	if _, _, err := extractTime(ec, oid, name, time.Unix(0, 0).UTC()); err != nil {
		// The unit is not valid for the type.
		return nil, err
	}
	switch unit {
	case unitEpoch, unitJulian, unitYear, unitIsoYear, unitDecade, unitCentury, unitMillennium:
		if numeric {
			return &apd.Decimal{Form: apd.Infinite, Negative: sign < 0}, nil
		}
		return math.Inf(sign), nil
	}
	return nil, nil
}

// julianDayOffset is the Julian day number of 1970-01-01.
const julianDayOffset = 2440588

// extractTime returns a field of a date or timestamp. The Julian day of a
// timestamp has a fraction that no scale describes, so it comes back as a
// numeric.
func extractTime(ec *evalContext, oid uint32, unitText string, t time.Time) (scaledValue, *apd.Decimal, error) {
	unit, name, err := lookupUnit(unitText, oid)
	if err != nil {
		return scaledValue{}, nil, err
	}
	local := wallClock(ec, oid, t)
	year, month, day := local.Date()
	hour, minute, second := local.Clock()
	micros := int64(local.Nanosecond() / 1000)
	whole := func(v int) scaledValue { return scaledValue{coefficient: int64(v)} }
	if oid == oidDate {
		switch unit {
		case unitMicrosecond, unitMillisecond, unitSecond, unitMinute, unitHour, unitTimezone, unitTimezoneHour, unitTimezoneMinute:
			return scaledValue{}, nil, unitNotSupported(name, oid)
		}
	}
	switch unit {
	case unitMicrosecond:
		return scaledValue{coefficient: int64(second)*microsPerSecond + micros}, nil, nil
	case unitMillisecond:
		return scaledValue{coefficient: int64(second)*microsPerSecond + micros, scale: 3}, nil, nil
	case unitSecond:
		return scaledValue{coefficient: int64(second)*microsPerSecond + micros, scale: 6}, nil, nil
	case unitMinute:
		return whole(minute), nil, nil
	case unitHour:
		return whole(hour), nil, nil
	case unitDay:
		return whole(day), nil, nil
	case unitMonth:
		return whole(int(month)), nil, nil
	case unitQuarter:
		return whole((int(month)-1)/3 + 1), nil, nil
	case unitWeek:
		_, week := local.ISOWeek()
		return whole(week), nil, nil
	case unitYear:
		if year <= 0 {
			// There is no year 0: 1 BC is -1.
			year--
		}
		return whole(year), nil, nil
	case unitDecade:
		if year >= 0 {
			return whole(year / 10), nil, nil
		}
		return whole(-((8 - (year - 1)) / 10)), nil, nil
	case unitCentury:
		if year > 0 {
			return whole((year + 99) / 100), nil, nil
		}
		return whole(-((99 - (year - 1)) / 100)), nil, nil
	case unitMillennium:
		if year > 0 {
			return whole((year + 999) / 1000), nil, nil
		}
		return whole(-((999 - (year - 1)) / 1000)), nil, nil
	case unitDow:
		return whole(int(local.Weekday())), nil, nil
	case unitIsoDow:
		return whole((int(local.Weekday())+6)%7 + 1), nil, nil
	case unitDoy:
		return whole(local.YearDay()), nil, nil
	case unitIsoYear:
		isoYear, _ := local.ISOWeek()
		if isoYear <= 0 {
			isoYear--
		}
		return whole(isoYear), nil, nil
	case unitEpoch:
		if oid == oidDate {
			return scaledValue{coefficient: t.Unix()}, nil, nil
		}
		wall := t
		if oid == oidTimestamp {
			wall = local
		}
		return scaledValue{coefficient: wall.Unix()*microsPerSecond + micros, scale: 6}, nil, nil
	case unitJulian:
		days := unixDays(time.Date(year, month, day, 0, 0, 0, 0, time.UTC)) + julianDayOffset
		if oid == oidDate {
			return scaledValue{coefficient: days}, nil, nil
		}
		dayMicros := apd.New(int64((hour*60+minute)*60+second)*microsPerSecond+micros, 0)
		fraction, err := decimalArith("/", dayMicros, apd.New(microsPerDay, 0))
		if err != nil {
			return scaledValue{}, nil, err
		}
		sum, err := decimalArith("+", apd.New(days, 0), fraction.(*apd.Decimal))
		if err != nil {
			return scaledValue{}, nil, err
		}
		return scaledValue{}, sum.(*apd.Decimal), nil
	case unitTimezone, unitTimezoneHour, unitTimezoneMinute:
		if oid != oidTimestamptz {
			return scaledValue{}, nil, unitNotSupported(name, oid)
		}
		_, offset := local.Zone()
		switch unit {
		case unitTimezoneHour:
			return whole(offset / 3600), nil, nil
		case unitTimezoneMinute:
			return whole(offset / 60 % 60), nil, nil
		}
		return whole(offset), nil, nil
	}
	return scaledValue{}, nil, unitNotSupported(name, oid)
}

// extractInterval is extract and date_part of an interval.
func extractInterval(unitText string, iv pgtype.Interval, numeric bool) (any, error) {
	unit, name, err := lookupUnit(unitText, oidInterval)
	if err != nil {
		return nil, err
	}
	f := splitInterval(iv)
	var v scaledValue
	switch unit {
	case unitMicrosecond:
		v = scaledValue{coefficient: f.seconds*microsPerSecond + f.micros}
	case unitMillisecond:
		v = scaledValue{coefficient: f.seconds*microsPerSecond + f.micros, scale: 3}
	case unitSecond:
		v = scaledValue{coefficient: f.seconds*microsPerSecond + f.micros, scale: 6}
	case unitMinute:
		v.coefficient = f.minutes
	case unitHour:
		v.coefficient = f.hours
	case unitDay:
		v.coefficient = f.days
	case unitMonth:
		v.coefficient = f.months
	case unitQuarter:
		v.coefficient = f.months/3 + 1
	case unitYear:
		v.coefficient = f.years
	case unitDecade:
		v.coefficient = f.years / 10
	case unitCentury:
		v.coefficient = f.years / 100
	case unitMillennium:
		v.coefficient = f.years / 1000
	case unitEpoch:
		// A year counts 365.25 days and a month 30, as in PostgreSQL. Four
		// times the seconds is a whole number.
		quarterSeconds := (1461*int64(iv.Months/12) + 120*int64(iv.Months%12) + 4*int64(iv.Days)) * (secondsPerDay / 4)
		v = scaledValue{coefficient: quarterSeconds*microsPerSecond + iv.Microseconds, scale: 6}
	default:
		return nil, unitNotSupported(name, oidInterval)
	}
	if numeric {
		return v.numeric(), nil
	}
	return v.float(), nil
}

// extractTimeOfDay is extract and date_part of a time, which have only
// the units of a time of day, following PostgreSQL's time_part.
func extractTimeOfDay(unitText string, t pgtype.Time, numeric bool) (any, error) {
	unit, name, err := lookupUnit(unitText, oidTime)
	if err != nil {
		return nil, err
	}
	micros := t.Microseconds
	var v scaledValue
	switch unit {
	case unitMicrosecond:
		v = scaledValue{coefficient: micros % microsPerMinute}
	case unitMillisecond:
		v = scaledValue{coefficient: micros % microsPerMinute, scale: 3}
	case unitSecond:
		v = scaledValue{coefficient: micros % microsPerMinute, scale: 6}
	case unitMinute:
		v.coefficient = micros / microsPerMinute % 60
	case unitHour:
		v.coefficient = micros / microsPerHour
	case unitEpoch:
		v = scaledValue{coefficient: micros, scale: 6}
	default:
		return nil, unitNotSupported(name, oidTime)
	}
	if numeric {
		return v.numeric(), nil
	}
	return v.float(), nil
}

// age subtracts b from a field by field, borrowing from the next larger
// field, so the result counts calendar years, months and days, following
// PostgreSQL's timestamp_age. a and b are wall-clock times.
func age(a, b time.Time) (any, error) {
	later, earlier := a, b
	negative := a.Before(b)
	if negative {
		later, earlier = b, a
	}
	ly, lm, ld := later.Date()
	ey, em, ed := earlier.Date()
	lh, lmin, ls := later.Clock()
	eh, emin, es := earlier.Clock()
	micros := int64(later.Nanosecond()/1000 - earlier.Nanosecond()/1000)
	seconds := int64(ls - es)
	minutes := int64(lmin - emin)
	hours := int64(lh - eh)
	days := int64(ld - ed)
	months := int64(lm - em)
	years := int64(ly - ey)
	if micros < 0 {
		micros += microsPerSecond
		seconds--
	}
	if seconds < 0 {
		seconds += 60
		minutes--
	}
	if minutes < 0 {
		minutes += 60
		hours--
	}
	if hours < 0 {
		hours += 24
		days--
	}
	// A day borrowed from the months is as long as the month of the
	// earlier time.
	for days < 0 {
		days += int64(daysIn(ey, em))
		months--
	}
	if months < 0 {
		months += 12
		years--
	}
	iv, err := makeInterval(years*12+months, days, ((hours*60+minutes)*60+seconds)*microsPerSecond+micros)
	if err != nil || !negative {
		return iv, err
	}
	return negateInterval(iv)
}

func makeDate(year, month, day int64) (time.Time, error) {
	invalid := pgerror.Newf(pgcode.DatetimeFieldOverflow, "date field value out of range: %d-%02d-%02d", year, month, day)
	if year == 0 || month < 1 || month > 12 || day < 1 {
		return time.Time{}, invalid
	}
	if year < 0 {
		// Year -1 is 1 BC, astronomical year 0.
		year++
	}
	if day > int64(daysIn(int(year), time.Month(month))) {
		return time.Time{}, invalid
	}
	return checkDate(time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, time.UTC))
}

// makeTimestamp is make_timestamp and make_timestamptz: the date and time
// fields in a[0:6] read as wall-clock time in loc.
func makeTimestamp(a []any, loc *time.Location) (any, error) {
	date, err := makeDate(a[0].(int64), a[1].(int64), a[2].(int64))
	if err != nil {
		return nil, err
	}
	hour, minute, seconds := a[3].(int64), a[4].(int64), a[5].(float64)
	if hour < 0 || hour > 24 || minute < 0 || minute > 59 || seconds < 0 || seconds > 60 || math.IsNaN(seconds) ||
		hour == 24 && (minute > 0 || seconds > 0) {
		return nil, pgerror.Newf(pgcode.DatetimeFieldOverflow, "time field value out of range: %d:%02d:%s", hour, minute, formatSecondsField(seconds))
	}
	y, m, d := date.Date()
	t := localToInstant(time.Date(y, m, d, int(hour), int(minute), 0, 0, time.UTC), loc)
	return checkTimestamp(addMicros(t, int64(math.RoundToEven(seconds*microsPerSecond))).UTC())
}

func makeIntervalFunc(a []any) (any, error) {
	years, months, weeks, days, hours, minutes := a[0].(int64), a[1].(int64), a[2].(int64), a[3].(int64), a[4].(int64), a[5].(int64)
	seconds := a[6].(float64)
	micros := math.RoundToEven(seconds*microsPerSecond) + float64(hours*microsPerHour+minutes*microsPerMinute)
	if math.IsNaN(micros) || math.IsInf(micros, 0) || micros < math.MinInt64 || micros >= math.MaxInt64 {
		return nil, intervalOutOfRange()
	}
	return makeInterval(years*12+months, weeks*7+days, int64(micros))
}

// timestampFromEpoch is to_timestamp(double precision): seconds since
// 1970-01-01 UTC, rounded to microseconds.
func timestampFromEpoch(seconds float64) (any, error) {
	if math.IsNaN(seconds) {
		return nil, pgerror.New(pgcode.DatetimeFieldOverflow, "timestamp cannot be NaN")
	}
	if math.IsInf(seconds, 0) {
		return nil, pgerror.NotSupported("infinite timestamps")
	}
	micros := math.RoundToEven(seconds * microsPerSecond)
	if micros < -210866803200*microsPerSecond || micros >= 9224318016000*microsPerSecond {
		return nil, pgerror.Newf(pgcode.DatetimeFieldOverflow, "timestamp out of range: %q", formatFloat(seconds, oidFloat8))
	}
	return addMicros(time.Unix(0, 0).UTC(), int64(micros)).UTC(), nil
}
